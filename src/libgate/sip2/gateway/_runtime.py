"""``libgate sip2 serve``: the gateway process, with its background work."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable

from libgate.background import every
from libgate.config import ConfigError, GatewaySettings, Settings, load_settings
from libgate.privacy import BufferedAudit
from libgate.services import build_services
from libgate.sip2.gateway._journal import Journal
from libgate.sip2.gateway._server import Gateway
from libgate.sip2.gateway._vendors import VendorRegistry

log = logging.getLogger("libgate.sip2.gateway")

_RELOAD_SECONDS = 2.0
_REPLAY_SECONDS = 5.0
_SEAL_SECONDS = 1.0
_HOUSEKEEPING_SECONDS = 600.0


def server_tls_context(settings: GatewaySettings) -> ssl.SSLContext | None:
    """TLS for kiosks and vendors; with a client CA, only clients holding a certificate
    it signed may connect (mutual TLS)."""
    if not settings.tls_cert_file:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file or None)
    if settings.tls_client_ca_file:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(settings.tls_client_ca_file)
    return context


class ReloadingSettings:
    """The current settings, re-read every few seconds so that edited policies apply to
    the next message without a restart. A file that does not validate is reported and
    ignored: the last good settings stay in force."""

    def __init__(self, settings: Settings, load: Callable[[], Settings] = load_settings) -> None:
        self.current = settings
        self._load = load

    def gateway(self) -> GatewaySettings:
        return self.current.gateway

    async def reload(self) -> None:
        try:
            fresh = self._load()
        except ConfigError as exc:
            log.error("libgate.toml not reloaded: %s", exc)
            return
        if fresh.gateway != self.current.gateway:
            log.info("gateway policies reloaded")
        self.current = fresh


async def run_gateway(
    settings: Settings,
    *,
    host: str,
    port: int,
    ready: Callable[[int], Awaitable[None] | None] | None = None,
    stop: asyncio.Event | None = None,
    load: Callable[[], Settings] = load_settings,
) -> None:
    """Serve until ``stop`` is set (or forever). Policies are re-read with ``load``."""
    services = await build_services(settings, lms=True)
    assert services.lms is not None
    reloading = ReloadingSettings(settings, load)
    audit = BufferedAudit(services.audit)
    journal = Journal(services.database, terminal_password=settings.lms.terminal_password)
    gateway = Gateway(
        settings=reloading.gateway,
        lms=services.lms,
        vendors=VendorRegistry(services.database),
        pseudonyms=services.pseudonyms,
        audit=audit,
        journal=journal,
        institution=settings.lms.institution,
    )
    lms = services.lms
    background = [
        asyncio.create_task(every(_RELOAD_SECONDS, reloading.reload, "settings reload")),
        asyncio.create_task(every(_REPLAY_SECONDS, lambda: journal.replay(lms), "journal replay")),
        asyncio.create_task(every(_SEAL_SECONDS, services.audit.seal, "audit sealing")),
        asyncio.create_task(every(_HOUSEKEEPING_SECONDS, journal.purge_applied, "journal purge")),
    ]
    await gateway.start(host, port, server_tls_context(settings.gateway))
    try:
        if ready is not None:
            result = ready(gateway.port)
            if result is not None:
                await result
        await (stop or asyncio.Event()).wait()
    finally:
        await gateway.stop()
        for task in background:
            task.cancel()
        # Let a cancelled job finish rolling back before the last audit batch is written:
        # on SQLite it may still hold the write lock.
        await asyncio.gather(*background, return_exceptions=True)
        await audit.close()
        await services.close()
