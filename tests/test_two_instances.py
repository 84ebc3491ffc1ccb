"""Two libgate processes on one PostgreSQL database behave as one service: a code issued by
one is redeemed at the other, and wrong PINs at both count towards one lockout."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from libgate.services import Services
from tests.conftest import Resident, register, truncate_postgres
from tests.support import pins
from tests.support.flow import authorize_url, csrf_of, sign_in
from tests.support.servers import live_server


@pytest.fixture
def database_url(postgres_ready: str) -> str:
    """Only PostgreSQL here: SQLite is the single-process embedded default."""
    asyncio.run(truncate_postgres(postgres_ready))
    return postgres_ready


async def _wrong_pin(base_url: str, client_id: str, redirect_uri: str, card: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as browser:
        url, *_ = authorize_url(client_id, redirect_uri, "openid")
        signin = (await browser.get(url)).headers["location"]
        page = await browser.get(signin)
        response = await browser.post(
            signin, data={"csrf": csrf_of(page), "card": card, "pin": pins.new_pin()}
        )
        return response.text


SHARED = {"LIBGATE_ISSUER": "http://libgate.test", "LIBGATE_THROTTLE__LOCKOUT_SECONDS": "60"}


async def test_a_code_from_one_instance_is_redeemed_at_the_other(
    database_url: str, services: Services, patron: Resident, log_dir: Path
) -> None:
    portal = await register(services)
    with (
        live_server(database_url, log_dir, **SHARED) as first,
        live_server(database_url, log_dir, **SHARED) as second,
    ):
        async with httpx.AsyncClient(base_url=first.base_url, timeout=10) as browser:
            flow = await sign_in(
                browser,
                client_id=portal.client_id,
                redirect_uri=portal.redirect_uri,
                card=patron.card,
                pin=patron.pin,
            )
        async with httpx.AsyncClient(base_url=second.base_url, timeout=10) as backend:
            response = await backend.post(
                "/token",
                auth=portal.auth,
                data={
                    "grant_type": "authorization_code",
                    "code": flow.code,
                    "redirect_uri": portal.redirect_uri,
                    "code_verifier": flow.verifier,
                },
            )
            assert response.status_code == 200, response.text
            tokens = response.json()
            # ...and the first instance honours what the second issued.
        async with httpx.AsyncClient(base_url=first.base_url, timeout=10) as other:
            userinfo = await other.get(
                "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
            )
            assert userinfo.status_code == 200 and userinfo.json()["name"] == patron.name


async def test_wrong_pins_at_both_instances_count_towards_one_lockout(
    database_url: str, services: Services, patron: Resident, log_dir: Path
) -> None:
    portal = await register(services)
    with (
        live_server(database_url, log_dir, **SHARED) as first,
        live_server(database_url, log_dir, **SHARED) as second,
    ):
        for attempt in range(10):
            base_url = (first, second)[attempt % 2].base_url
            text = await _wrong_pin(base_url, portal.client_id, portal.redirect_uri, patron.card)
            assert "not right" in text
        async with httpx.AsyncClient(base_url=first.base_url, timeout=10) as browser:
            url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid")
            signin = (await browser.get(url)).headers["location"]
            page = await browser.get(signin)
            refused = await browser.post(
                signin, data={"csrf": csrf_of(page), "card": patron.card, "pin": patron.pin}
            )
        assert refused.status_code == 401 and "too many tries" in refused.text
    (lockout,) = await services.guard.list_active()
    assert lockout.subject == patron.card
