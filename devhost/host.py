"""One running host: the app, its store and clock, the engine and the HTTP server.

The CLI and the test harness both build a `Host` from a `HostConfig`; this is the only
place the parts are wired together. Hosts in one process keep apart: each takes back, when
it stops, the app settings it put into the environment (environment.py) and the app
modules it imported (app_modules.py), and the SDK's client session outlives every host
but the last.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

from aiohttp import web

from .app_modules import AppModules
from .bindings.accounts import StorageAccounts, host_id
from .bindings.handlers import Bindings
from .clock import Clock, SystemClock, VirtualClock
from .config import HostConfig, public_origin, url_host
from .engine.dispatcher import Engine
from .engine.management import Management
from .environment import PROCESS as ENVIRONMENT
from .environment import AppliedSettings
from .errors import StartupError
from .extras import require_azure_storage
from .function_keys import HostKeys, load_keys, secrets_folder
from .http.app import create_app
from .http.server import HostRunner
from .http.urls import Urls
from .invoker import Invoker
from .loader import FunctionIndex, load_app
from .stores.base import Store
from .stores.memory import MemoryStore
from .triggers.listeners import TriggerServices
from .triggers.runner import Triggers, hosted_trigger_types


def create_store(config: HostConfig, clock: Clock, owner: str) -> Store:
    """`owner` identifies this host to its peers on the hub (partition leases)."""
    if config.storage == "memory":
        return MemoryStore(clock)
    if config.storage == "azurite":
        require_azure_storage("The Azure Storage store (--storage azurite)")
        from .stores.azure import AzureStore  # imported only when used: the Azure SDKs are heavy

        if not config.connection:
            raise StartupError(
                "No storage connection: pass --connection or set AzureWebJobsStorage "
                "(local.settings.json sets it to UseDevelopmentStorage=true), or its "
                "identity-based form (AzureWebJobsStorage__accountName)."
            )
        config.connection.require_sdks("The Azure Storage store (--storage azurite)")
        return AzureStore(
            connection=config.connection,
            hub=config.hub,
            clock=clock,
            partitions=config.partition_count,
            control_queue_buffer=config.control_queue_buffer,
            visibility_s=(config.control_visibility_s, config.work_item_visibility_s),
            owner=owner,
        )
    raise StartupError(f"Unknown storage '{config.storage}': use memory or azurite.")


class Host:
    def __init__(self, config: HostConfig) -> None:
        self.config = config
        self.clock: Clock = VirtualClock() if config.virtual_clock else SystemClock()
        self.index: FunctionIndex | None = None
        self.engine: Engine | None = None
        self.management: Management | None = None
        self.urls: Urls | None = None
        self.triggers: Triggers | None = None
        # With `enforce_keys`: the keys requests must bring (and the banner prints).
        self.keys: HostKeys | None = None
        self._accounts: StorageAccounts | None = None
        self.startup_ms = 0
        # What a stop left running in user code (a thread cannot be stopped).
        self.abandoned: list[str] = []
        self._invoker: Invoker | None = None
        self._runner: HostRunner | None = None
        self._port = config.port
        self._settings: AppliedSettings | None = None
        self._modules = AppModules(config.app_dir)
        self._sdk_session = False

    @property
    def invoker(self) -> Invoker | None:
        return self._invoker

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        began = time.perf_counter()
        config = self.config
        _SDK_SESSION.acquire()
        self._sdk_session = True
        self._settings = ENVIRONMENT.apply(config.app_settings)
        listener: socket.socket | None = None
        try:
            self.index = load_app(config.app_dir, self._modules)
            listener = _listen(config.host, config.port)
            self._port = listener.getsockname()[1]
            origin = public_origin(config.host, self._port)
            rpc_host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "localhost", "") else config.host
            # App settings: the environment, which local.settings.json's Values went into.
            settings = os.environ
            if config.enforce_keys:
                self.keys = load_keys(
                    secrets_folder(settings, config.app_dir),
                    [info.name for info in self.index.http],
                    host_name=origin.removeprefix("http://"),
                )
            self.urls = Urls(
                origin,
                config.hub,
                f"http://{url_host(rpc_host)}:{self._port}",
                system_key=self.keys.durable_key if self.keys is not None else None,
            )
            engine_settings = config.engine
            self._accounts = StorageAccounts(settings, config.extensions)
            self._invoker = Invoker(
                str(config.app_dir),
                max_threads=max(engine_settings.max_concurrent_activities, 4) + 4,
                client_binding=self.urls.client_binding,
                bindings=Bindings(self._accounts),
                settings=settings,
                clock=self.clock,
            )
            self._invoker.prepare(self.index, Bindings.types() | hosted_trigger_types())
            self.triggers = Triggers(
                self.index,
                self._invoker,
                TriggerServices(
                    accounts=self._accounts,
                    clock=self.clock,
                    invoke=self._invoker.invoke,
                    settings=settings,
                    extensions=config.extensions,
                    host_id=host_id(settings, str(config.app_dir), virtual_clock=config.virtual_clock, hub=config.hub),
                    singleton=config.singleton,
                ),
            )
            self.engine = Engine(
                store=create_store(config, self.clock, _owner(config, self._port)),
                clock=self.clock,
                index=self.index,
                invoker=self._invoker,
                settings=engine_settings,
            )
            self.management = Management(self.engine)
            await self.engine.start()
            app = create_app(
                engine=self.engine,
                management=self.management,
                invoker=self._invoker,
                triggers=self.triggers,
                index=self.index,
                urls=self.urls,
                route_path=config.route_path,
                storage=config.storage,
                max_request_bytes=config.max_request_bytes,
                guard=config.guard,
                keys=self.keys,
            )
            self._runner = HostRunner(app, request_headers_timeout=config.request_headers_timeout)
            await self._runner.setup()
            await web.SockSite(self._runner, listener).start()
            # Last: a timer that runs on startup calls the durable client over HTTP.
            self.engine.schedules.append(self.triggers)
            await self.triggers.start(self.engine.loops)
        except BaseException:
            if listener is not None:
                listener.close()
            await self.stop()
            raise
        self.startup_ms = round((time.perf_counter() - began) * 1000)

    async def stop(self) -> None:
        if self.triggers is not None:
            await self.triggers.stop()
            self.triggers = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.engine is not None:
            self.abandoned = await self.engine.stop()
            self.engine = None
        if self._invoker is not None:
            self._invoker.close()
            self._invoker = None
        if self._accounts is not None:
            await self._accounts.close()
            self._accounts = None
        if self._sdk_session:
            self._sdk_session = False
            await _SDK_SESSION.release()
        self._modules.release()
        if self._settings is not None:
            self._settings.release()
            self._settings = None

    async def __aenter__(self) -> Host:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


def _owner(config: HostConfig, port: int) -> str:
    """Stable across restarts of the same host, so it takes its own partitions back."""
    identity = f"{socket.gethostname()}|{config.app_dir}|{port}|{config.hub}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, identity))


def _listen(host: str, port: int) -> socket.socket:
    """Binds first, so a taken port is a clear startup error and port 0 gets a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    # SO_REUSEADDR lets a restart bind past TIME_WAIT on POSIX, but on Windows it lets a
    # second host bind a port in use; there the listener takes the port for itself
    # instead (asyncio's create_server likewise reuses addresses on POSIX only).
    exclusive = getattr(socket, "SO_EXCLUSIVEADDRUSE", None)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR if exclusive is None else exclusive, 1)
    if family == socket.AF_INET6 and host == "::":  # both stacks, as the RPC URL uses 127.0.0.1
        listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise StartupError(f"Cannot listen on {host}:{port}: {error.strerror or error}.") from error
    listener.listen(512)
    listener.setblocking(False)
    return listener


class _SdkSession:
    """The SDK client keeps one aiohttp session per process, bound to the loop that made
    it (azure/durable_functions/models/utils/http_utils.py `_client_session`). It is
    closed when the last running host stops: not under another host whose app's client
    calls may be under way, and not left for a later host on another loop. Hosts running
    at once therefore share one event loop, as the tests of one pytest test do."""

    def __init__(self) -> None:
        self._hosts = 0

    def acquire(self) -> None:
        self._hosts += 1

    async def release(self) -> None:
        self._hosts -= 1
        if self._hosts:
            return
        from azure.durable_functions.models.utils import http_utils

        close = getattr(http_utils, "_close_session", None)
        if close is not None:
            await close()


_SDK_SESSION = _SdkSession()
