"""The demo's SIP2 side: the LMS emulator with the sample patrons, and a gateway in front
of it with a kiosk account, so the demo shows kiosks and vendors too."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from libgate.config import LmsSettings, Settings
from libgate.services import Services
from libgate.sip2.gateway import VendorRegistry, run_gateway

DEMO_KIOSK = "demo-kiosk"


@dataclass(frozen=True)
class DemoGateway:
    address: str
    lms_address: str
    login: str
    password: str


@contextlib.asynccontextmanager
async def demo_gateway(
    settings: Settings, services: Services, *, host: str, lms_port: int, gateway_port: int
) -> AsyncIterator[DemoGateway]:
    # The emulator is test equipment (libgate.testing): only the demo imports it.
    from libgate.testing.sip2_lms import LmsEmulator, demo_items, demo_patrons

    lms = LmsEmulator(
        patrons=demo_patrons(), items=demo_items(), host=host, port=lms_port, record=False
    )
    await lms.start()
    linked = settings.model_copy(
        update={
            "lms": LmsSettings(  # type: ignore[call-arg]
                host=host,
                port=lms.port,
                tls=False,
                login_user="libgate",
                login_password="lms-secret",
                institution="LIB",
            )
        }
    )
    vendors = VendorRegistry(services.database)
    await vendors.remove(DEMO_KIOSK)
    _, password = await vendors.add(DEMO_KIOSK, "kiosk", set(linked.gateway.policies))
    stop = asyncio.Event()
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    gateway = asyncio.create_task(
        run_gateway(
            linked,
            host=host,
            port=gateway_port,
            ready=bound.set_result,
            stop=stop,
            load=lambda: linked,
        )
    )
    try:
        port = await bound
        yield DemoGateway(f"{host}:{port}", f"{host}:{lms.port}", DEMO_KIOSK, password)
    finally:
        stop.set()
        await gateway
        await lms.stop()
