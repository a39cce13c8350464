"""`devhost start ...` (or `python -m devhost start ...`): options in, a running host
out; one-line errors. `devhost keys` prints the keys `start --enforce-keys` made.

Exit codes: 0 after a clean stop (Ctrl+C or SIGTERM; Ctrl+Break too on Windows), 1 when
the host cannot start or a background loop of it ended for good (the message says why;
an app that fails to import also gets its traceback), 2 for bad command-line usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import traceback
from collections import ChainMap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import console
from .config import load_config, local_settings
from .errors import StartupError
from .function_keys import read_keys, secrets_folder
from .host import Host
from .signals import on_stop_signals

__all__ = ["main"]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog=_program(),
        description="Run a Python v2-model Durable Functions app locally, like `func start`.",
    )
    commands = root.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="serve the app over HTTP")
    start.add_argument("--app-dir", default=".", help="folder with function_app.py (default .)")
    start.add_argument("--host", default="127.0.0.1", help="address to listen on")
    start.add_argument("--port", type=int, default=7071, help="port (default 7071)")
    start.add_argument(
        "--storage",
        choices=("memory", "azurite"),
        default="azurite",
        help="where state lives: Azure Storage/Azurite (default) or memory (lost on exit)",
    )
    start.add_argument(
        "--connection",
        help="storage connection string (default: the AzureWebJobsStorage setting, or its identity-based form)",
    )
    start.add_argument("--hub", help="task hub name (default: host.json hubName)")
    start.add_argument(
        "--virtual-clock",
        action="store_true",
        help="time moves only by POST /devhost/clock/advance",
    )
    start.add_argument(
        "--allowed-hosts",
        default="",
        help="comma-separated names the Host header may carry besides this machine's and IP addresses",
    )
    start.add_argument(
        "--enforce-keys",
        action="store_true",
        help="require function, master and durabletask_extension keys as Azure does (func start checks none)",
    )
    start.add_argument("--quiet", action="store_true", help="print only warnings and errors")
    keys = commands.add_parser("keys", help="print the app's keys as JSON (made by its first start --enforce-keys)")
    keys.add_argument("--app-dir", default=".", help="folder with function_app.py (default .)")
    return root


def _program() -> str:
    """The name usage lines show: the console command as typed, or `python -m devhost`."""
    name = Path(sys.argv[0]).name
    return "python -m devhost" if name in ("", "__main__.py", "-c") else Path(name).stem


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    try:
        if options.command == "keys":
            return _print_keys(Path(options.app_dir))
        console.install(30 if options.quiet else 20)
        return asyncio.run(_serve(options))
    except StartupError as error:
        print(f"error: {error.message}", file=sys.stderr)
        if error.cause is not None and not isinstance(error.cause, (OSError, StartupError)):
            traceback.print_exception(error.cause, file=sys.stderr)
        return 1


def _print_keys(app_dir: Path) -> int:
    """The keys where `start --enforce-keys` keeps them for this app, as the settings it
    would run with place them (local.settings.json `Values` under the environment)."""
    if not app_dir.is_dir():
        raise StartupError(f"App directory '{app_dir}' does not exist.")
    app_dir = app_dir.resolve()
    folder = secrets_folder(ChainMap(dict(os.environ), local_settings(app_dir)), app_dir)
    keys = read_keys(folder)
    if keys is None:
        raise StartupError(f"No keys in '{folder}' yet: `start --enforce-keys` makes them.")
    shown = {
        "folder": str(keys.folder),
        "masterKey": keys.master,
        "functionKeys": dict(keys.function_keys),
        "systemKeys": dict(keys.system_keys),
        "functions": {name: dict(own) for name, own in keys.functions.items()},
    }
    print(json.dumps(shown, indent=2))
    return 0


async def _serve(options: argparse.Namespace) -> int:
    config = load_config(
        Path(options.app_dir),
        host=options.host,
        port=options.port,
        storage=options.storage,
        connection=options.connection,
        hub=options.hub,
        virtual_clock=options.virtual_clock,
        allowed_hosts=tuple(h.strip() for h in options.allowed_hosts.split(",") if h.strip()),
        enforce_keys=options.enforce_keys,
    )
    host = Host(config)
    await host.start()
    stop = asyncio.Event()
    restore_signals = on_stop_signals(asyncio.get_running_loop(), stop.set)
    console.print_banner(host)
    assert host.engine is not None
    ended = host.engine.ended
    stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([stopping, ended], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        print("Stopping the host...", flush=True)
        await host.stop()
        restore_signals()
    code = 0
    if ended.done():
        print(f"error: devhost stopped: {ended.result()}.", file=sys.stderr, flush=True)
        code = 1
    if host.abandoned:
        # Threads still in user code would keep the interpreter from exiting; their work
        # was handed back to the store and runs again on the next start.
        print(f"Abandoned, still running user code: {'; '.join(host.abandoned)}.", flush=True)
        os._exit(code)
    return code
