"""Offline lending: with the LMS down, kiosks keep lending; the journal survives a libgate
restart and is applied exactly once, in order, when the LMS is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests.support import pins
from tests.support.gateway import add_vendor, gateway_running, gateway_settings
from tests.support.sip2 import CHECKOUT, LMS_PASSWORD, connected

from libgate.config import Settings
from libgate.db import Database
from libgate.sip2 import LmsLink, LmsPool, Message
from libgate.sip2.gateway import Journal, JournalEntry, OfflineRefusal
from libgate.testing.sip2_lms import EmulatedItem, EmulatedPatron, LmsEmulator

CARD, PIN = "29990000000021", pins.new_pin()
# The kiosk's terminal password, and libgate's own ([lms] terminal_password).
KIOSK_TERMINAL, LIBGATE_TERMINAL = "kiosk-terminal-secret", "libgate-terminal-secret"
FIRST, SECOND, THIRD = "31000000000021", "31000000000022", "31000000000023"


@pytest.fixture
async def lms() -> AsyncIterator[LmsEmulator]:
    items = [EmulatedItem(barcode, "A book") for barcode in (FIRST, SECOND, THIRD)]
    emulator = LmsEmulator(patrons=[EmulatedPatron(CARD, PIN, "Mary Somerville")], items=items)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


async def kiosk_account(database_url: str, lms: LmsEmulator) -> tuple[Settings, str]:
    """A gateway's settings in front of ``lms`` (two offline loans per card), and the
    password of its kiosk account "kiosk-1"."""
    settings = gateway_settings(database_url, lms, offline_loans_per_patron=2)
    return settings, await add_vendor(settings, "kiosk-1", "kiosk")


async def journal_entries(database_url: str) -> list[JournalEntry]:
    database = Database(database_url)
    try:
        return await Journal(database).entries()
    finally:
        await database.dispose()


async def journal_states(database_url: str) -> list[tuple[str, str, str]]:
    return [(e.code, e.item, e.state) for e in await journal_entries(database_url)]


async def test_kiosks_keep_lending_through_an_lms_outage_and_a_restart(
    database_url: str, lms: LmsEmulator
) -> None:
    settings, password = await kiosk_account(database_url, lms)
    settings.lms.terminal_password = LIBGATE_TERMINAL
    try:
        async with (
            gateway_running(settings) as gateway,
            connected("127.0.0.1", gateway.port) as kiosk,
        ):
            await kiosk.login(password, user="kiosk-1")
            online = await kiosk.circulate("11", CHECKOUT, CARD, FIRST, ("AD", PIN))
            assert online.fixed_value("ok") == "1" and "Offline" not in (online.get("AF") or "")

            await lms.stop()  # the LMS goes down mid-run
            secrets = (("AC", KIOSK_TERMINAL), ("AD", PIN))
            answers = [
                await kiosk.circulate("11", CHECKOUT, CARD, SECOND, *secrets),
                await kiosk.circulate("11", CHECKOUT, CARD, THIRD, *secrets),
                await kiosk.circulate(
                    "09", {"no_block": "N", "return_date": online.fixed[-1]}, CARD, FIRST
                ),
            ]
            over_limit = await kiosk.circulate("11", CHECKOUT, CARD, "31000000000099")
        assert [a.fixed_value("ok") for a in answers] == ["1", "1", "1"]
        assert all("Offline" in (a.get("AF") or "") for a in answers)
        assert over_limit.fixed_value("ok") == "0"  # two offline loans per card at most

        # libgate restarts while the LMS is still down: the journal is in the database.
        expected = [("11", SECOND, "pending"), ("11", THIRD, "pending"), ("09", FIRST, "pending")]
        assert await journal_states(database_url) == expected
        # Neither the PIN nor the kiosk's terminal password is kept in the database.
        kept = [entry.message for entry in await journal_entries(database_url)]
        assert not any(PIN in message or KIOSK_TERMINAL in message for message in kept)
        before = len(lms.received)
        async with gateway_running(settings):
            await lms.start()  # the LMS comes back
            for _ in range(300):
                states = [state for _, _, state in await journal_states(database_url)]
                if states == ["applied"] * 3:
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail(f"journal not applied: {await journal_states(database_url)}")
            await asyncio.sleep(6)  # another replay round passes: nothing is sent twice
    finally:
        await lms.stop()

    replayed = [
        (m.code, m.get("AB"), m.fixed_value("no_block"))
        for m in lms.received[before:]
        if m.code in ("11", "09")
    ]
    assert replayed == [("11", SECOND, "Y"), ("11", THIRD, "Y"), ("09", FIRST, "Y")]
    replayed_loans = [m for m in lms.received[before:] if m.code == "11"]
    assert all(m.get("AD") is None for m in replayed_loans)
    assert all(m.get("AC") == LIBGATE_TERMINAL for m in replayed_loans)
    assert lms.items[SECOND].on_loan_to == CARD and lms.items[THIRD].on_loan_to == CARD
    assert lms.items[FIRST].on_loan_to is None


async def test_a_loan_the_lms_received_but_did_not_answer_is_refused_not_journaled(
    database_url: str, lms: LmsEmulator
) -> None:
    settings, password = await kiosk_account(database_url, lms)
    try:
        async with (
            gateway_running(settings) as gateway,
            connected("127.0.0.1", gateway.port) as kiosk,
        ):
            await kiosk.login(password, user="kiosk-1")
            assert (await kiosk.circulate("11", CHECKOUT, CARD, FIRST)).fixed_value("ok") == "1"
            lms.response_delay = 3.0  # longer than libgate waits ([lms] timeout_seconds = 2)
            unanswered = await kiosk.circulate("11", CHECKOUT, CARD, SECOND)
            lms.response_delay = 0
        assert unanswered.fixed_value("ok") == "0"
        assert "did not answer" in (unanswered.get("AF") or "")
        assert await journal_states(database_url) == []  # so it cannot be applied twice
    finally:
        await lms.stop()
    assert [m.get("AB") for m in lms.received if m.code == "11"] == [FIRST, SECOND]


async def test_kiosks_at_once_cannot_all_take_a_cards_last_offline_loan(database_url: str) -> None:
    databases = [Database(database_url), Database(database_url)]  # two gateway processes
    journals = [Journal(database) for database in databases]

    async def checkout(number: int) -> Message | OfflineRefusal:
        loan = Message.build(
            "11",
            {"sc_renewal_policy": "N", "no_block": "N", "nb_due_date": " " * 18},
            [("AO", "LIB"), ("AA", CARD), ("AB", f"3100000000{number:04d}")],
        )
        try:
            return await journals[number % 2].accept(f"kiosk-{number}", loan, loans_per_patron=1)
        except OfflineRefusal as refused:
            return refused

    try:
        answers = await asyncio.gather(*(checkout(number) for number in range(10)))
    finally:
        for database in databases:
            await database.dispose()
    assert sum(isinstance(answer, Message) for answer in answers) == 1
    assert len(await journal_states(database_url)) == 1


async def test_two_gateways_on_one_database_never_replay_at_once(
    database_url: str, lms: LmsEmulator
) -> None:
    databases = [Database(database_url), Database(database_url)]  # two gateway processes
    journals = [Journal(database) for database in databases]
    loan = Message.build("11", CHECKOUT, [("AO", "LIB"), ("AA", CARD), ("AB", FIRST)])
    await journals[0].accept("kiosk-1", loan, loans_per_patron=1)
    lms.response_delay = 0.5
    pool = LmsPool(LmsLink(lms.host, lms.port, "libgate", LMS_PASSWORD))
    try:
        first = asyncio.create_task(journals[0].replay(pool))
        for _ in range(100):
            if await journal_states(database_url) == [("11", FIRST, "sending")]:
                break
            await asyncio.sleep(0.01)
        # The other finds the replayer's lock taken: it neither sends nor takes the loan
        # on its way to the LMS for one interrupted.
        assert await journals[1].replay(pool) == 0
        assert await journal_states(database_url) == [("11", FIRST, "sending")]
        assert await first == 1
    finally:
        await pool.close()
        for database in databases:
            await database.dispose()
    assert await journal_states(database_url) == [("11", FIRST, "applied")]


async def test_a_return_made_once_the_lms_is_back_reaches_it_after_the_offline_loan(
    database_url: str, lms: LmsEmulator
) -> None:
    settings, password = await kiosk_account(database_url, lms)
    try:
        async with gateway_running(settings) as gateway:
            async with connected("127.0.0.1", gateway.port) as kiosk:
                await kiosk.login(password, user="kiosk-1")
                await lms.stop()
                loan = await kiosk.circulate("11", CHECKOUT, CARD, FIRST)
                assert "Offline" in (loan.get("AF") or "")
                await lms.start()  # back, but the loan is still in the journal
                returned = await kiosk.circulate(
                    "09", {"no_block": "N", "return_date": loan.fixed[-1]}, CARD, FIRST
                )
                assert returned.fixed_value("ok") == "1"
            for _ in range(300):
                if [s for _, _, s in await journal_states(database_url)] == ["applied"] * 2:
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail(f"journal not applied: {await journal_states(database_url)}")
    finally:
        await lms.stop()
    assert [m.code for m in lms.received if m.code in ("11", "09")] == ["11", "09"]
    assert lms.items[FIRST].on_loan_to is None  # returned, as the resident did
