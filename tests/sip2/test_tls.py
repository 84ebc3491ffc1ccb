"""TLS on both SIP2 links: libgate verifies the LMS's certificate (and shows its own when
the LMS asks), and the gateway can demand client certificates from kiosks and vendors."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.support import pins
from tests.support.gateway import add_vendor, gateway_running, gateway_settings
from tests.support.sip2 import LMS_PASSWORD, connected
from tests.support.tls import Pki, make_pki

from libgate.patrons import AuthFailure, DirectoryUnavailable, Patron, Sip2Directory
from libgate.sip2 import LmsLink, LmsPool, client_tls_context
from libgate.sip2.gateway import _server as gateway_server
from libgate.testing.sip2_lms import EmulatedPatron, LmsEmulator

CARD, PIN = "29990000000061", pins.new_pin()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


def server_context(pki: Pki, *, require_client: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    return context


@pytest.fixture
async def tls_lms(pki: Pki) -> AsyncIterator[LmsEmulator]:
    patron = EmulatedPatron(CARD, PIN, "Ada Lovelace")
    async with LmsEmulator(
        patrons=[patron], ssl=server_context(pki, require_client=True)
    ) as emulator:
        yield emulator


async def authenticate(lms: LmsEmulator, tls: ssl.SSLContext) -> Patron | AuthFailure:
    link = LmsLink(lms.host, lms.port, "libgate", LMS_PASSWORD, ssl=tls, timeout=3)
    pool = LmsPool(link)
    try:
        return await Sip2Directory(pool, institution="LIB").authenticate(CARD, PIN)
    finally:
        await pool.close()


async def test_the_connector_uses_tls_with_a_verified_lms_and_its_own_certificate(
    tls_lms: LmsEmulator, pki: Pki
) -> None:
    tls = client_tls_context(str(pki.ca), str(pki.client_cert), str(pki.client_key))
    assert isinstance(await authenticate(tls_lms, tls), Patron)


async def test_the_connector_refuses_an_lms_certificate_it_cannot_verify(
    tls_lms: LmsEmulator, pki: Pki, tmp_path: Path
) -> None:
    stranger = make_pki(tmp_path, "Another CA")
    tls = client_tls_context(str(stranger.ca), str(pki.client_cert), str(pki.client_key))
    assert await authenticate(tls_lms, tls) is AuthFailure.UNAVAILABLE
    pool = LmsPool(LmsLink(tls_lms.host, tls_lms.port, "libgate", LMS_PASSWORD, ssl=tls))
    try:
        with pytest.raises(DirectoryUnavailable, match="TLS"):
            await Sip2Directory(pool, institution="LIB").lookup(CARD)
    finally:
        await pool.close()
    assert tls_lms.logins == 0


async def test_without_a_client_certificate_an_lms_requiring_one_is_not_reached(
    tls_lms: LmsEmulator, pki: Pki
) -> None:
    assert await authenticate(tls_lms, client_tls_context(str(pki.ca))) is (AuthFailure.UNAVAILABLE)
    assert tls_lms.logins == 0


async def test_the_gateway_admits_only_clients_with_a_certificate_from_its_ca(
    pki: Pki, database_url: str
) -> None:
    async with LmsEmulator(patrons=[EmulatedPatron(CARD, PIN, "Ada")]) as lms:
        settings = gateway_settings(
            database_url,
            lms,
            tls_cert_file=str(pki.server_cert),
            tls_key_file=str(pki.server_key),
            tls_client_ca_file=str(pki.ca),
        )
        password = await add_vendor(settings, "ebooks", "validation")
        async with gateway_running(settings) as gateway:
            with_certificate = ssl.create_default_context(cafile=str(pki.ca))
            with_certificate.load_cert_chain(pki.client_cert, pki.client_key)
            async with connected("127.0.0.1", gateway.port, with_certificate) as vendor:
                assert (await vendor.login(password, user="ebooks")).fixed_value("ok") == "1"
                assert (await vendor.patron(CARD, PIN)).get("CQ") == "Y"
            without = ssl.create_default_context(cafile=str(pki.ca))
            with pytest.raises((ssl.SSLError, ConnectionError, AssertionError)):
                async with connected("127.0.0.1", gateway.port, without) as stranger:
                    assert (await stranger.login(password, user="ebooks")).fixed_value("ok")


async def test_a_connection_that_never_begins_tls_is_closed_at_the_login_deadline(
    pki: Pki, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_server, "LOGIN_SECONDS", 0.5)
    async with LmsEmulator() as lms:
        settings = gateway_settings(
            database_url,
            lms,
            tls_cert_file=str(pki.server_cert),
            tls_key_file=str(pki.server_key),
        )
        async with gateway_running(settings) as gateway:
            reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
            try:  # silent: no ClientHello, so the handshake never ends by itself
                assert await asyncio.wait_for(reader.read(), timeout=5) == b""
            finally:
                writer.close()
