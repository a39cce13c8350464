"""What `python -m devhost start` prints, in the shape of `func start`: the function list
with URLs, then one line per execution, errors with the user's traceback."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import TextIO

from .catalog import listed_functions
from .config import VIRTUAL_CLOCK_HUB_SUFFIX
from .host import Host

_NOISY = ("azure", "aiohttp.access", "asyncio", "urllib3")


class ConsoleHandler(logging.Handler):
    """`[2024-05-01T10:00:00.123Z] message`, plus the traceback of a failed execution."""

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        super().__init__()
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            moment = datetime.fromtimestamp(record.created, UTC)
            stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
            text = f"[{stamp}] {record.getMessage()}"
            user_traceback = getattr(record, "user_traceback", None)
            if user_traceback:
                text += "\n" + user_traceback.rstrip()
            elif record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            self._stream.write(text + "\n")
            self._stream.flush()
        except Exception:
            self.handleError(record)


def install(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    root.handlers[:] = [ConsoleHandler()]
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)


def print_banner(host: Host, stream: TextIO = sys.stdout) -> None:
    config = host.config
    index = host.index
    assert index is not None and host.urls is not None
    now = host.clock.now()
    clock = f"virtual, at {_moment(now)} (POST /devhost/clock/advance)" if config.virtual_clock else "system"
    ahead = now - datetime.now(UTC)
    origin = host.urls.origin
    lines = [
        f"devhost: local Durable Functions host for {config.app_dir}",
        f"Task hub: {config.hub}  Storage: {config.storage}  Clock: {clock}",
        *(
            ["(the virtual clock keeps its own task hub, apart from the real clock's data; --hub names another)"]
            if config.virtual_clock and config.hub.endswith(VIRTUAL_CLOCK_HUB_SUFFIX)
            else []
        ),
        *(
            [
                f"(the virtual clock runs {_span(ahead)} ahead of the real one: task hub "
                f"{config.hub} keeps its virtual time across restarts, and records times from it)"
            ]
            if config.virtual_clock and ahead > timedelta(seconds=1)
            else []
        ),
        f"[{_moment(datetime.now(UTC))}] Host started ({host.startup_ms}ms)",
        "",
        "Functions:",
        "",
    ]
    for listed in listed_functions(index, origin, config.route_path, host.keys):
        if listed.url is not None:
            lines.append(f"\t{listed.name}: [{','.join(listed.methods)}] {listed.url}")
        else:
            lines.append(f"\t{listed.name}: {listed.trigger_type}")
        lines.append("")
    triggers = host.triggers
    assert triggers is not None and host.invoker is not None
    for info in triggers.unhosted:
        lines.append(
            f"warning: {info.name}: devhost does not run {info.trigger_type} triggers; "
            f"call it by hand with POST {origin}/admin/functions/{info.name}"
        )
    for info in index.functions:
        for parameter in host.invoker.plan(info).unbound:
            lines.append(
                f"warning: {info.name}: its '{parameter.type}' binding '{parameter.name}' "
                "is not bound by devhost; calls fail until it is."
            )
    lines.extend(_key_lines(host))
    code = f"?{host.urls.universal_query}" if host.urls.system_key else ""
    lines.append(f"Durable HTTP API: {host.urls.webhook_base}{code}")
    lines.append("Press Ctrl+C to stop.")
    stream.write("\n".join(lines) + "\n")
    stream.flush()


def _key_lines(host: Host) -> list[str]:
    """With `--enforce-keys`: where the keys are kept, and the host's own."""
    keys = host.keys
    if keys is None:
        return []
    return [
        f"Keys are enforced (--enforce-keys); they are kept in {keys.folder}:",
        f"\tmaster key: {keys.master}",
        *(f"\thost function key {name}: {value}" for name, value in keys.function_keys.items()),
        *(f"\tsystem key {name}: {value}" for name, value in keys.system_keys.items()),
    ]


def _moment(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _span(span: timedelta) -> str:
    """`3d 4h 5m`: how far a virtual clock runs ahead, to the nearest minute."""
    minutes = round(span.total_seconds() / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return " ".join(f"{value}{unit}" for value, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if value) or "<1m"
