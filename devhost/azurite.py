"""Start Azurite (the Azure Storage emulator, from `node_modules`) and run a command beside it.

`python -m devhost.azurite [--location DIR] [-- COMMAND...]` is what `make start` and
`make azurite` run; `AzuriteProcess` is what the test session uses on free ports. If
Azurite already listens on the requested ports it is reused, not started twice.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .signals import STOP_SIGNALS

__all__ = ["AzuriteError", "AzuriteProcess", "connection_string", "main"]

# Azurite's documented development account; public, the same on every machine.
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEFAULT_PORTS = (10000, 10001, 10002)
_READY_TIMEOUT_S = 60.0


class AzuriteError(RuntimeError):
    """Raised when Azurite cannot be found or does not come up."""


def connection_string(host: str, ports: tuple[int, int, int]) -> str:
    """A connection string for Azurite's blob, queue and table endpoints."""
    blob, queue, table = ports
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://{host}:{blob}/{ACCOUNT_NAME};"
        f"QueueEndpoint=http://{host}:{queue}/{ACCOUNT_NAME};"
        f"TableEndpoint=http://{host}:{table}/{ACCOUNT_NAME};"
    )


def find_azurite(start: Path | None = None) -> Path:
    """`node_modules/.bin/azurite` in this or a parent directory, else on PATH. `which`
    finds what the platform runs: the script on POSIX, npm's `azurite.cmd` on Windows
    (its extensionless shell script there is not a program)."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = shutil.which("azurite", path=str(directory / "node_modules" / ".bin"))
        if candidate:
            return Path(candidate)
    found = shutil.which("azurite")
    if found:
        return Path(found)
    raise AzuriteError(
        "Azurite is not installed: `npm install azurite` in the project (in devhost's own repository, `make setup`)."
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


@dataclass
class AzuriteProcess:
    """One Azurite process with its data in `location`; a context manager."""

    location: Path
    ports: tuple[int, int, int] = DEFAULT_PORTS
    host: str = "127.0.0.1"
    # More of Azurite's options, e.g. `--oauth basic --cert ... --key ...` for token sign-ins.
    options: tuple[str, ...] = ()
    _process: subprocess.Popen[bytes] | None = None
    reused: bool = False

    @classmethod
    def on_free_ports(cls, location: Path, options: tuple[str, ...] = ()) -> AzuriteProcess:
        return cls(location=location, ports=(free_port(), free_port(), free_port()), options=options)

    @property
    def connection_string(self) -> str:
        return connection_string(self.host, self.ports)

    @property
    def pid(self) -> int | None:
        """The process this object started (None when it found Azurite already running)."""
        return self._process.pid if self._process is not None else None

    def start(self) -> AzuriteProcess:
        if all(is_listening(self.host, port) for port in self.ports):
            self.reused = True
            return self
        self.location.mkdir(parents=True, exist_ok=True)
        blob, queue, table = self.ports
        command = [
            str(find_azurite()),
            "--silent",
            "--location", str(self.location),
            "--blobHost", self.host, "--blobPort", str(blob),
            "--queueHost", self.host, "--queuePort", str(queue),
            "--tableHost", self.host, "--tablePort", str(table),
            "--skipApiVersionCheck",
            "--loose",
            # Azurite reports usage to Microsoft unless told not to (AzuriteTelemetryClient,
            # on by default in the 3.37 we pin), costing it CPU on every request and leaving an
            # instance id in `location`; a host started for local work should not.
            "--disableTelemetry",
            *self.options,
        ]  # fmt: skip
        # Out of the terminal's reach: Ctrl+C stops the host first, which still needs
        # storage to hand back its work; Azurite is stopped after it. (The child keeps
        # its own copy of the log's descriptor.)
        with open(self.location / "azurite.log", "ab") as log:
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                **own_process_group(),
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AzuriteError(
                    f"Azurite exited with code {self._process.returncode}; see {self.location / 'azurite.log'}"
                )
            if all(is_listening(self.host, port) for port in self.ports):
                return
            time.sleep(0.05)
        self.stop()
        raise AzuriteError(f"Azurite did not listen on {self.ports} within {_READY_TIMEOUT_S}s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            # Azurite waits for idle keep-alive connections before it exits; its data is
            # written as it goes, so past a short grace period it is simply killed.
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> AzuriteProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def own_process_group() -> dict[str, Any]:
    """Popen options that keep a terminal's Ctrl+C from a child: a session of its own
    (POSIX `setsid`), else, on Windows, a process group of its own, in which Ctrl+C is
    off (`CREATE_NEW_PROCESS_GROUP`); `stop` ends it either way."""
    if hasattr(os, "setsid"):
        return {"start_new_session": True}
    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}


def _run_beside(azurite: AzuriteProcess, command: Sequence[str]) -> int:
    """Runs `command` until it exits or we are interrupted; Ctrl+C reaches both."""
    child = subprocess.Popen(list(command))
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda received, _frame: forward(child, received))
    return child.wait()


def forward(child: subprocess.Popen[bytes], signum: int) -> None:
    """Passes a stop signal on to the command. Windows sends a child only SIGTERM (which
    kills it), CTRL_C_EVENT and CTRL_BREAK_EVENT, and `send_signal` refuses the rest with
    ValueError: there the console's Ctrl+C or Ctrl+Break reached the command already."""
    if child.poll() is not None:
        return
    try:
        child.send_signal(signum)
    except ValueError:
        return


def wait_for_stop() -> None:
    """Returns at a stop signal. POSIX waits in `signal.pause`; Windows has none, and
    waits in sleeps, which Ctrl+C cuts short (a lock's wait there it would not)."""
    for signum in STOP_SIGNALS:
        if signum != signal.SIGINT:  # Python's own SIGINT handler raises it already
            signal.signal(signum, _interrupt)
    pause = getattr(signal, "pause", None)
    try:
        while True:
            if pause is not None:
                pause()
            else:
                time.sleep(3600)
    except KeyboardInterrupt:
        return


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in args:
        split = args.index("--")
        args, command = args[:split], args[split + 1 :]
    parser = argparse.ArgumentParser(prog="python -m devhost.azurite", description=__doc__)
    parser.add_argument("--location", default=".azurite", help="data directory (kept)")
    options = parser.parse_args(args)
    azurite = AzuriteProcess(location=Path(options.location))
    try:
        azurite.start()
    except AzuriteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    where = ", ".join(f"{azurite.host}:{port}" for port in azurite.ports)
    print(
        f"Azurite {'already running' if azurite.reused else 'started'} on {where} (data in {azurite.location})",
        flush=True,
    )
    try:
        if command:
            return _run_beside(azurite, command)
        print("Press Ctrl+C to stop Azurite.", flush=True)
        wait_for_stop()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        azurite.stop()


if __name__ == "__main__":
    raise SystemExit(main())
