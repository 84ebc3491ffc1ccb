"""Two libgate processes on one PostgreSQL database behave as one service: a code issued by
one is redeemed at the other, and wrong PINs at both count towards one lockout."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from libgate.services import Services
from tests.conftest import RegisteredClient, Resident, register, truncate_postgres
from tests.support import pins
from tests.support.flow import attempt_pin, sign_in, tokens_from, userinfo
from tests.support.servers import LiveServer, live_server


@pytest.fixture
def database_url(postgres_ready: str) -> str:
    """Only PostgreSQL here: SQLite is the single-process embedded default."""
    asyncio.run(truncate_postgres(postgres_ready))
    return postgres_ready


async def _wrong_pin(base_url: str, client: RegisteredClient, card: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as browser:
        return (await attempt_pin(browser, client, card, pins.new_pin())).text


SHARED = {"LIBGATE_ISSUER": "http://libgate.test", "LIBGATE_THROTTLE__LOCKOUT_SECONDS": "60"}


@contextmanager
def _two_instances(database_url: str, log_dir: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two ``libgate serve`` processes on one database, with the same issuer and lockouts."""
    with (
        live_server(database_url, log_dir, **SHARED) as first,
        live_server(database_url, log_dir, **SHARED) as second,
    ):
        yield first, second


async def test_a_code_from_one_instance_is_redeemed_at_the_other(
    database_url: str, services: Services, patron: Resident, log_dir: Path
) -> None:
    portal = await register(services)
    with _two_instances(database_url, log_dir) as (first, second):
        async with httpx.AsyncClient(base_url=first.base_url, timeout=10) as browser:
            flow = await sign_in(browser, portal, patron)
        async with httpx.AsyncClient(base_url=second.base_url, timeout=10) as backend:
            tokens = await tokens_from(backend, portal, flow)
            # ...and the first instance honours what the second issued.
        async with httpx.AsyncClient(base_url=first.base_url, timeout=10) as other:
            details = await userinfo(other, tokens["access_token"])
            assert details.status_code == 200 and details.json()["name"] == patron.name


async def test_wrong_pins_at_both_instances_count_towards_one_lockout(
    database_url: str, services: Services, patron: Resident, log_dir: Path
) -> None:
    portal = await register(services)
    with _two_instances(database_url, log_dir) as (first, second):
        for attempt in range(10):
            base_url = (first, second)[attempt % 2].base_url
            text = await _wrong_pin(base_url, portal, patron.card)
            assert "not right" in text
        async with httpx.AsyncClient(base_url=first.base_url, timeout=10) as browser:
            refused = await attempt_pin(browser, portal, patron.card, patron.pin)
        assert refused.status_code == 401 and "too many tries" in refused.text
    (lockout,) = await services.guard.list_active()
    assert lockout.subject == patron.card
