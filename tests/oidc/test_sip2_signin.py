"""Card sign-in through the OpenID provider with the LMS checking cards over SIP2."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import httpx
import pytest

from libgate.config import Settings
from libgate.testing.sip2_lms import EmulatedPatron, LmsEmulator
from tests.conftest import ISSUER, RegisteredClient, Resident
from tests.support import pins
from tests.support.flow import attempt_pin, refresh, sign_in, tokens_from, userinfo
from tests.support.gateway import lms_settings

RESIDENT = Resident("29990000000041", pins.new_pin(), "Ada Lovelace", "ada@example.org")
GENERIC_REFUSAL = "The card number or PIN is not right"


@pytest.fixture
async def lms() -> AsyncIterator[LmsEmulator]:
    patron = EmulatedPatron(RESIDENT.card, RESIDENT.pin, RESIDENT.name, email=RESIDENT.email)
    async with LmsEmulator(patrons=[patron]) as emulator:
        yield emulator


@pytest.fixture
def settings(database_url: str, lms: LmsEmulator) -> Settings:
    return Settings(
        issuer=ISSUER,
        database_url=database_url,
        directory={"connector": "sip2"},  # type: ignore[arg-type]
        lms=lms_settings(lms),  # type: ignore[arg-type]
    )


async def test_a_resident_signs_in_with_the_card_the_lms_knows(
    http: httpx.AsyncClient, portal: RegisteredClient, lms: LmsEmulator
) -> None:
    flow = await sign_in(http, portal, RESIDENT, scope="openid profile email")
    tokens = await tokens_from(http, portal, flow)
    details = (await userinfo(http, tokens["access_token"])).json()
    assert (details["name"], details["email"]) == (RESIDENT.name, RESIDENT.email)
    checks = [m for m in lms.received if m.code == "63" and m.get("AD") is not None]
    assert [m.get("AA") for m in checks] == [RESIDENT.card]


async def test_a_blank_pin_never_signs_in_even_when_the_lms_says_yes(
    http: httpx.AsyncClient, portal: RegisteredClient, lms: LmsEmulator
) -> None:
    lms.blank_pin_is_valid = True  # a faulty LMS: CQ=Y for an empty password
    for blank in ["", " "]:
        response = await attempt_pin(http, portal, RESIDENT.card, blank)
        assert response.status_code == 401
        assert GENERIC_REFUSAL in html.unescape(response.text)
    assert not [m for m in lms.received if m.code == "63"]


async def test_a_wrong_pin_and_an_unknown_card_read_the_same(
    http: httpx.AsyncClient, portal: RegisteredClient
) -> None:
    wrong = await attempt_pin(http, portal, RESIDENT.card, RESIDENT.pin + "9")
    unknown = await attempt_pin(http, portal, "29990000009999", RESIDENT.pin)
    for response in (wrong, unknown):
        assert GENERIC_REFUSAL in html.unescape(response.text)


async def test_residents_are_told_plainly_when_the_lms_is_down(
    http: httpx.AsyncClient, portal: RegisteredClient, lms: LmsEmulator
) -> None:
    await lms.stop()
    response = await attempt_pin(http, portal, RESIDENT.card, RESIDENT.pin)
    assert "cannot check library cards just now" in html.unescape(response.text)


async def test_a_sign_in_keeps_refreshing_while_the_lms_is_down(
    http: httpx.AsyncClient, portal: RegisteredClient, lms: LmsEmulator
) -> None:
    tokens = await tokens_from(http, portal, await sign_in(http, portal, RESIDENT))
    await lms.stop()
    # The card cannot be re-checked, and an LMS outage must not sign every resident out.
    refreshed = await refresh(http, portal, tokens["refresh_token"])
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"]


async def test_a_card_the_lms_has_since_blocked_can_no_longer_refresh(
    http: httpx.AsyncClient, portal: RegisteredClient, lms: LmsEmulator
) -> None:
    tokens = await tokens_from(http, portal, await sign_in(http, portal, RESIDENT))
    lms.patrons[RESIDENT.card].blocked = True
    refreshed = await refresh(http, portal, tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
