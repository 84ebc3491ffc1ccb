"""The resident's address, as the per-address PIN lockout and the audit trail see it, behind
a trusted reverse proxy."""

from __future__ import annotations

import httpx
import pytest

from libgate.config import Settings
from libgate.services import Services
from tests.conftest import RegisteredClient, Resident
from tests.support import pins
from tests.support.flow import authorize_url, csrf_of

PROXY = "198.51.100.7"  # the test client's own address (see the http fixture)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"trusted_proxies": [PROXY]})


async def _address_audited_for_a_wrong_pin(
    http: httpx.AsyncClient,
    portal: RegisteredClient,
    patron: Resident,
    services: Services,
    forwarded: list[tuple[str, str]],
) -> str | None:
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid")
    signin = (await http.get(url)).headers["location"]
    page = await http.get(signin)
    response = await http.post(
        signin,
        data={"csrf": csrf_of(page), "card": patron.card, "pin": pins.new_pin()},
        headers=forwarded,
    )
    assert response.status_code == 401
    (failure,) = [e async for e in services.audit.entries() if e.event == "signin.failure"]
    return failure.ip


async def test_the_address_the_proxy_appended_counts_not_a_line_the_client_sent_first(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    # The client forges a header line of its own; the proxy adds another after it (as
    # HAProxy's "option forwardfor" does) naming the address it really came from.
    forwarded = [("X-Forwarded-For", "192.0.2.66"), ("X-Forwarded-For", "203.0.113.9")]
    ip = await _address_audited_for_a_wrong_pin(http, portal, patron, services, forwarded)
    assert ip == "203.0.113.9"


async def test_the_last_entry_of_one_header_line_names_the_resident(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    forwarded = [("X-Forwarded-For", "192.0.2.66, 203.0.113.9")]
    ip = await _address_audited_for_a_wrong_pin(http, portal, patron, services, forwarded)
    assert ip == "203.0.113.9"
