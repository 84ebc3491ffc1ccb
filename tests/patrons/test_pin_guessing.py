"""PIN guessing defence: at most 10 wrong PINs per card in 5 minutes, then a temporary,
growing lockout that staff can lift; every failure and lockout is audited; the answers
never reveal whether a card exists."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from sqlalchemy import select, update

from libgate.db.tables import lockouts, pin_failures
from libgate.patrons import AuthFailure, card_key
from libgate.services import Services
from tests.conftest import RegisteredClient, Resident
from tests.support import pins
from tests.support.flow import attempt_pin

GENERIC = "The card number or PIN is not right"
LOCKED = "too many tries"


async def _events(services: Services) -> list[str]:
    return [entry.event async for entry in services.audit.entries()]


async def test_the_eleventh_wrong_pin_is_refused_even_when_right_then_works_after_the_wait(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    for _ in range(10):
        response = await attempt_pin(http, portal, patron.card, pins.new_pin())
        assert response.status_code == 401
    refused = await attempt_pin(http, portal, patron.card, patron.pin)
    assert refused.status_code == 401 and LOCKED in refused.text

    events = await _events(services)
    assert events.count("signin.failure") == 10
    assert events.count("signin.lockout") == 1
    assert events[-1] == "signin.refused_locked_out"

    await asyncio.sleep(2.2)  # the test settings use a 2-second first lockout
    accepted = await attempt_pin(http, portal, patron.card, patron.pin)
    assert accepted.status_code == 303


async def test_guesses_sent_all_at_once_get_no_more_pin_checks_than_the_limit(
    services: Services, patron: Resident
) -> None:
    guesses = [pins.new_pin() for _ in range(30)] + [patron.pin]
    outcomes = await asyncio.gather(
        *(
            services.provider.sign_in_to_account(patron.card, guess, f"10.0.0.{n}")
            for n, guess in enumerate(guesses)
        )
    )
    events = await _events(services)
    assert events.count("signin.failure") == 10  # ten PINs checked, no more
    assert events.count("signin.lockout") == 1
    assert events.count("signin.refused_locked_out") == 21
    assert outcomes[-1][0].failure is AuthFailure.LOCKED_OUT  # the right PIN, too late


async def test_addresses_of_one_ipv6_network_share_the_address_limit(services: Services) -> None:
    limit = services.settings.throttle.max_failures_per_ip
    for n in range(limit):  # a different address, and card, each time
        outcome, _ = await services.provider.sign_in_to_account(
            f"2999000000{n:04d}", pins.new_pin(), f"2001:db8:1:2::{n + 1:x}"
        )
        assert outcome.failure is AuthFailure.UNKNOWN_CARD
    same_network, _ = await services.provider.sign_in_to_account(
        "29990000009999", pins.new_pin(), "2001:db8:1:2:ffff::1"
    )
    assert same_network.failure is AuthFailure.LOCKED_OUT
    elsewhere, _ = await services.provider.sign_in_to_account(
        "29990000009999", pins.new_pin(), "2001:db8:1:3::1"
    )
    assert elsewhere.failure is AuthFailure.UNKNOWN_CARD


async def test_an_unknown_card_gets_the_same_answer_as_a_wrong_pin(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    wrong_pin = await attempt_pin(http, portal, patron.card, pins.new_pin())
    unknown = await attempt_pin(http, portal, "29990000009999", pins.new_pin())
    assert wrong_pin.status_code == unknown.status_code == 401
    assert GENERIC in wrong_pin.text and GENERIC in unknown.text


@pytest.mark.parametrize(
    "card",
    ["2999" * 32 + "07", "29990000\x0000007", "2999\n0000000007"],
    ids=["longer than any library uses", "with a NUL", "with a line break"],
)
async def test_a_card_no_library_could_issue_is_an_unknown_card_counted_for_the_address(
    http: httpx.AsyncClient, portal: RegisteredClient, services: Services, card: str
) -> None:
    # Not a server error: PostgreSQL can neither store nor compare a NUL.
    response = await attempt_pin(http, portal, card, pins.new_pin())
    assert response.status_code == 401 and GENERIC in response.text
    (failure,) = [e async for e in services.audit.entries() if e.event == "signin.failure"]
    assert failure.detail["reason"] == AuthFailure.UNKNOWN_CARD.value
    async with services.database.read() as connection:
        counted = (await connection.execute(select(pin_failures.c.key))).scalars().all()
    assert counted == ["ip:198.51.100.7"]


async def test_unknown_cards_are_locked_out_like_real_ones(services: Services) -> None:
    for _ in range(10):
        await services.provider.sign_in_to_account("29990000009999", pins.new_pin(), "10.0.0.9")
    outcome, _ = await services.provider.sign_in_to_account(
        "29990000009999", pins.new_pin(), "10.0.0.9"
    )
    assert outcome.failure is AuthFailure.LOCKED_OUT


async def test_an_empty_pin_never_signs_in(patron: Resident, services: Services) -> None:
    outcome, cookie = await services.provider.sign_in_to_account(patron.card, "", "10.0.0.1")
    assert outcome.failure is AuthFailure.BAD_PIN and cookie is None


async def test_lockouts_grow_for_repeat_offenders_and_are_never_permanent(
    patron: Resident, services: Services
) -> None:
    durations = []
    for _ in range(4):
        for _ in range(10):
            await services.provider.sign_in_to_account(patron.card, pins.new_pin(), "10.0.0.2")
        (lockout,) = await services.guard.list_active()
        durations.append(round(lockout.duration))
        await _let_lockouts_run_out(services)
    # 2 s doubling, capped at the configured 8 s maximum.
    assert durations == [2, 4, 8, 8]


async def _let_lockouts_run_out(services: Services) -> None:
    async with services.database.transaction() as connection:
        await connection.execute(update(lockouts).values(until=time.time() - 1))


async def test_staff_can_list_and_lift_a_lockout(patron: Resident, services: Services) -> None:
    for _ in range(10):
        await services.provider.sign_in_to_account(patron.card, pins.new_pin(), "10.0.0.3")
    active = await services.guard.list_active()
    assert [(lockout.kind, lockout.subject) for lockout in active] == [("card", patron.card)]
    assert await services.guard.clear(card_key(patron.card))
    outcome, cookie = await services.provider.sign_in_to_account(
        patron.card, patron.pin, "10.0.0.3"
    )
    assert outcome.patron is not None and cookie is not None


async def test_one_address_trying_many_cards_is_locked_out(
    services: Services, patron: Resident
) -> None:
    limit = services.settings.throttle.max_failures_per_ip
    for index in range(limit):
        card = f"2999{index:010d}"
        await services.provider.sign_in_to_account(card, pins.new_pin(), "10.9.9.9")
    outcome, _ = await services.provider.sign_in_to_account(patron.card, patron.pin, "10.9.9.9")
    assert outcome.failure is AuthFailure.LOCKED_OUT
    # The resident is not locked out from anywhere else.
    outcome, _ = await services.provider.sign_in_to_account(patron.card, patron.pin, "10.1.1.1")
    assert outcome.patron is not None
