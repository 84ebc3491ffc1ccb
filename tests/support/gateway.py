"""The SIP2 gateway as tests run it: ``libgate sip2 serve``'s own runtime, in-process, in
front of an LMS emulator, over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from libgate.config import Settings
from libgate.db import Database
from libgate.sip2.gateway import VendorRegistry, run_gateway
from libgate.testing.sip2_lms import LmsEmulator
from tests.support.sip2 import LMS_PASSWORD, Client, connected


def lms_settings(lms: LmsEmulator) -> dict[str, Any]:
    """``[lms]`` for libgate to reach the emulator."""
    return {
        "host": lms.host,
        "port": lms.port,
        "tls": False,
        "login_user": "libgate",
        "login_password": LMS_PASSWORD,
        "institution": "LIB",
        "timeout_seconds": 2,
        "keepalive_seconds": 0,
    }


def gateway_settings(database_url: str, lms: LmsEmulator, **gateway: Any) -> Settings:
    return Settings(
        database_url=database_url,
        lms=lms_settings(lms),  # type: ignore[arg-type]
        gateway=gateway,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def vendor_session(
    database_url: str, lms: LmsEmulator, login: str, policy: str
) -> AsyncIterator[Client]:
    """A gateway in front of ``lms`` and a vendor logged in to it with a new account."""
    settings = gateway_settings(database_url, lms)
    password = await add_vendor(settings, login, policy)
    async with gateway_running(settings) as gateway, connected("127.0.0.1", gateway.port) as vendor:
        assert (await vendor.login(password, user=login)).fixed_value("ok") == "1"
        yield vendor


async def add_vendor(settings: Settings, login: str, policy: str) -> str:
    """A vendor account on the gateway's database; returns its password."""
    database = Database(settings.database_url)
    try:
        _, password = await VendorRegistry(database).add(
            login, policy, set(settings.gateway.policies)
        )
    finally:
        await database.dispose()
    return password


@dataclass
class RunningGateway:
    port: int
    settings: Settings
    # What the reloader reads: tests change it to change policies without a restart.
    reloaded: list[Settings] = field(default_factory=list)


@contextlib.asynccontextmanager
async def gateway_running(
    settings: Settings, load: Callable[[], Settings] | None = None
) -> AsyncIterator[RunningGateway]:
    """Serve until the block ends; the audit entries it made are written by then."""
    stop = asyncio.Event()
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    running = RunningGateway(0, settings, [settings])
    task = asyncio.create_task(
        run_gateway(
            settings,
            host="127.0.0.1",
            port=0,
            ready=bound.set_result,
            stop=stop,
            load=load or (lambda: running.reloaded[-1]),
        )
    )
    done, _ = await asyncio.wait({task, bound}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # it failed to start: raise why
    running.port = bound.result()
    try:
        yield running
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
