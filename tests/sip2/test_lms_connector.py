"""The LMS connector under the faults real links have: damaged answers, a slow LMS, a dead
one, idle connections; and the account summary it reads for residents' pages."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from tests.support import pins
from tests.support.sip2 import LMS_PASSWORD

from libgate.patrons import AuthFailure, Patron, Sip2Directory
from libgate.sip2 import CircuitBreaker, LmsLink, LmsNotReached, LmsPool, LmsUnavailable
from libgate.testing.sip2_lms import EmulatedItem, EmulatedPatron, LmsEmulator

CARD, PIN = "29990000000071", pins.new_pin()
LOANS = ["31000000000071", "31000000000072"]


@pytest.fixture
async def lms() -> AsyncIterator[LmsEmulator]:
    ada = EmulatedPatron(CARD, PIN, "Ada Lovelace", expires=dt.date(2031, 3, 1), fines="2.40")
    due = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    items = [EmulatedItem(b, "A book", on_loan_to=CARD, due=due) for b in LOANS]
    async with LmsEmulator(patrons=[ada], items=items) as emulator:
        yield emulator


def pool_for(lms: LmsEmulator, **options: float) -> LmsPool:
    link = LmsLink(lms.host, lms.port, "libgate", LMS_PASSWORD, timeout=options.pop("timeout", 2))
    return LmsPool(link, **options)  # type: ignore[arg-type]


async def test_a_damaged_answer_is_asked_for_again(lms: LmsEmulator) -> None:
    pool = pool_for(lms)
    try:
        directory = Sip2Directory(pool, institution="LIB")
        assert isinstance(await directory.authenticate(CARD, PIN), Patron)  # logged in
        lms.corrupt_next_responses = 1
        assert isinstance(await directory.authenticate(CARD, PIN), Patron)
    finally:
        await pool.close()
    assert [m.code for m in lms.received][-2:] == ["63", "97"]


async def test_a_slow_lms_times_out_and_the_next_request_works(lms: LmsEmulator) -> None:
    pool = pool_for(lms, timeout=0.3)
    directory = Sip2Directory(pool, institution="LIB")
    try:
        lms.response_delay = 1.0
        started = asyncio.get_running_loop().time()
        assert await directory.authenticate(CARD, PIN) is AuthFailure.UNAVAILABLE
        assert asyncio.get_running_loop().time() - started < 0.9
        lms.response_delay = 0
        assert isinstance(await directory.authenticate(CARD, PIN), Patron)
    finally:
        await pool.close()


async def test_a_dead_lms_opens_the_circuit_until_it_answers_again(lms: LmsEmulator) -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=3, reset_after=2, clock=lambda: now[0])
    pool = pool_for(lms, breaker=breaker)  # type: ignore[arg-type]
    directory = Sip2Directory(pool, institution="LIB")
    try:
        await lms.stop()
        for _ in range(3):
            assert await directory.authenticate(CARD, PIN) is AuthFailure.UNAVAILABLE
        assert breaker.is_open
        with pytest.raises(LmsNotReached, match="retries in 2 s"):
            await pool.exchange(directory.patron_information(CARD, PIN))
        await lms.start()
        now[0] += 2.5  # the wait is over: one request may try the LMS again
        assert isinstance(await directory.authenticate(CARD, PIN), Patron)
        assert not breaker.is_open
    finally:
        await pool.close()


async def test_a_retry_that_could_not_be_sent_leaves_the_next_request_to_try(
    lms: LmsEmulator,
) -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=1, reset_after=2, clock=lambda: now[0])
    pool = pool_for(lms, breaker=breaker)  # type: ignore[arg-type]
    directory = Sip2Directory(pool, institution="LIB")
    try:
        await lms.stop()
        assert await directory.authenticate(CARD, PIN) is AuthFailure.UNAVAILABLE
        await lms.start()
        now[0] += 2.5
        # The retry is a PIN SIP2 cannot carry: nothing is sent, so nothing is learnt.
        assert await directory.authenticate(CARD, "12|34") is AuthFailure.BAD_PIN
        assert isinstance(await directory.authenticate(CARD, PIN), Patron)
        assert not breaker.is_open
    finally:
        await pool.close()


async def test_a_failed_retry_doubles_the_wait(lms: LmsEmulator) -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=1, reset_after=2, clock=lambda: now[0])
    pool = pool_for(lms, breaker=breaker)  # type: ignore[arg-type]
    request = Sip2Directory(pool, institution="LIB").patron_information(CARD, PIN)
    try:
        await lms.stop()
        with pytest.raises(LmsUnavailable):
            await pool.exchange(request)
        now[0] += 2.5
        with pytest.raises(LmsNotReached, match="cannot connect"):
            await pool.exchange(request)  # the one retry, which fails
        now[0] += 2.5
        with pytest.raises(LmsNotReached, match="retries in 2 s"):
            await pool.exchange(request)  # 4 s now, not 2
    finally:
        await pool.close()


async def test_idle_connections_are_kept_alive_with_status_messages(lms: LmsEmulator) -> None:
    pool = pool_for(lms, keepalive_seconds=0.2)
    try:
        await Sip2Directory(pool, institution="LIB").lookup(CARD)
        await asyncio.sleep(0.7)
    finally:
        await pool.close()
    assert [m.code for m in lms.received].count("99") >= 1
    assert lms.logins == 1  # the same connection all along


async def test_the_account_summary_has_loans_fines_and_expiry(lms: LmsEmulator) -> None:
    pool = pool_for(lms)
    try:
        summary = await Sip2Directory(pool, institution="LIB").account(CARD)
        unknown = await Sip2Directory(pool, institution="LIB").account("29999999999999")
    finally:
        await pool.close()
    assert summary is not None and unknown is None
    assert summary.charged == 2 and sorted(summary.loans) == LOANS
    assert summary.fees == "2.40" and summary.patron.expires == dt.date(2031, 3, 1)


@pytest.mark.parametrize("typed", ["12|34", "12\u20ac4", "12\r34"], ids=["pipe", "euro", "cr"])
async def test_a_pin_sip2_cannot_carry_is_a_wrong_pin_and_nothing_is_sent(
    lms: LmsEmulator, typed: str, caplog: pytest.LogCaptureFixture
) -> None:
    pool = pool_for(lms)
    directory = Sip2Directory(pool, institution="LIB")
    try:
        assert isinstance(await directory.authenticate(CARD, PIN), Patron)
        sent = len(lms.received)
        assert await directory.authenticate(CARD, typed) is AuthFailure.BAD_PIN
        assert await directory.authenticate(typed, PIN) is AuthFailure.UNKNOWN_CARD
        assert await directory.lookup(typed) is None
        assert len(lms.received) == sent  # a message SIP2 cannot carry never leaves
        assert pool.breaker.refusal() is None  # and it is no fault of the LMS's
        assert isinstance(await directory.authenticate(CARD, PIN), Patron)
    finally:
        await pool.close()
    assert typed not in caplog.text
