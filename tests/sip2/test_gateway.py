"""The SIP2 gateway: vendors log in with their own accounts, send only what their policy
allows, receive only the fields it releases, and every exchange is audited."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import get_args

import pytest
from sqlalchemy import select
from tests.support import pins
from tests.support.gateway import add_vendor, gateway_running, gateway_settings, vendor_session
from tests.support.sip2 import CHECKOUT, connected

from libgate.config import PatronDetail
from libgate.db import Database
from libgate.db.tables import audit_log
from libgate.sip2.gateway import VendorRegistry
from libgate.sip2.gateway import _server as gateway_server
from libgate.testing.sip2_lms import EmulatedItem, EmulatedPatron, LmsEmulator

CARD, BOOK, PIN = "29990000000007", "31000000000007", pins.new_pin()
PERSONAL = {"AE", "BD", "BE", "BF", "PB", "PC", "AS", "AT", "AU", "AV", "BV", "AF"}
# The fixed fields of a patron information answer (64) that describe the patron.
PATRON_DETAILS = list(get_args(PatronDetail))
BLANK_DETAILS = [" " * 14, "000"] + ["    "] * 6


@pytest.fixture
async def lms() -> AsyncIterator[LmsEmulator]:
    ada = EmulatedPatron(
        CARD,
        PIN,
        "Ada Lovelace",
        email="ada@example.org",
        address="1 High Street, Leeds",
        phone="0113 496 0000",
        birth_date="19851210",
        category="ADULT",
        hold_items=["31000000000099"],
    )
    async with LmsEmulator(patrons=[ada], items=[EmulatedItem(BOOK, "The Hobbit")]) as emulator:
        yield emulator


async def audit_details(database_url: str, event: str) -> list[dict[str, object]]:
    database = Database(database_url)
    try:
        async with database.read() as connection:
            rows = (
                await connection.execute(
                    select(audit_log).where(audit_log.c.event == event).order_by(audit_log.c.id)
                )
            ).all()
    finally:
        await database.dispose()
    return [{"client_id": r.client_id, **json.loads(r.detail)} for r in rows]


async def test_a_validation_only_vendor_learns_membership_and_nothing_personal(
    lms: LmsEmulator, database_url: str
) -> None:
    settings = gateway_settings(database_url, lms)
    password = await add_vendor(settings, "ebooks", "validation")
    async with gateway_running(settings) as gateway, connected("127.0.0.1", gateway.port) as vendor:
        assert (await vendor.login(password, user="ebooks")).fixed_value("ok") == "1"
        answer = await vendor.patron(CARD, PIN, "  Y")
        wrong = await vendor.patron(CARD, PIN + "1")
    # The LMS sent everything it knows ...
    from_lms = [m for m in lms.received if m.code == "63"]
    assert len(from_lms) == 2 and from_lms[0].get("AD") == PIN
    # ... the vendor got membership, a pseudonym, and none of the personal fields.
    assert (answer.get("BL"), answer.get("CQ"), wrong.get("CQ")) == ("Y", "Y", "N")
    assert PERSONAL.isdisjoint(answer.field_codes())
    # Nor the patron's flags (card lost, fines ...), language or counts: sent blank.
    assert [answer.fixed_value(name) for name in PATRON_DETAILS] == BLANK_DETAILS
    pseudonym = answer.get("AA")
    assert pseudonym and pseudonym != CARD and wrong.get("AA") == pseudonym
    exchanges = await audit_details(database_url, "sip2.exchange")
    assert [e["fields_released"] for e in exchanges] == [answer.field_codes(), wrong.field_codes()]
    assert all(e["client_id"] == "ebooks" and e["message"] == "63" for e in exchanges)
    assert PIN not in json.dumps(exchanges)


async def test_a_vendor_may_not_send_what_its_policy_leaves_out(
    lms: LmsEmulator, database_url: str
) -> None:
    async with vendor_session(database_url, lms, "ebooks", "validation") as vendor:
        refused = await vendor.circulate("11", CHECKOUT, CARD, BOOK)
    assert refused.code == "12" and refused.fixed_value("ok") == "0"
    assert "may not send message 11" in (refused.get("AF") or "")
    assert not [m for m in lms.received if m.code == "11"]
    (exchange,) = await audit_details(database_url, "sip2.exchange")
    assert exchange["refused"] == "not permitted" and exchange["fields_released"] == []


async def test_a_kiosk_lends_through_the_gateway_with_real_card_numbers(
    lms: LmsEmulator, database_url: str
) -> None:
    async with vendor_session(database_url, lms, "kiosk-central-1", "kiosk") as kiosk:
        loan = await kiosk.circulate("11", CHECKOUT, CARD, BOOK, ("AD", PIN))
        back = await kiosk.circulate(
            "09", {"no_block": "N", "return_date": loan.fixed[-1]}, CARD, BOOK, ("AP", "MAIN")
        )
    assert loan.fixed_value("ok") == "1" and loan.get("AA") == CARD and loan.get("AH")
    assert back.fixed_value("ok") == "1"
    assert lms.items[BOOK].on_loan_to is None


async def test_a_kiosk_receives_the_patrons_flags_and_counts_and_they_are_audited(
    lms: LmsEmulator, database_url: str
) -> None:
    async with vendor_session(database_url, lms, "kiosk-central-1", "kiosk") as kiosk:
        answer = await kiosk.patron(CARD, PIN)
    assert answer.fixed_value("hold_items_count") == "0001"  # Ada has one book on hold
    assert answer.fixed_value("language") != "000"
    (exchange,) = await audit_details(database_url, "sip2.exchange")
    assert exchange["fields_released"] == answer.field_codes() + PATRON_DETAILS


async def test_wrong_vendor_passwords_are_refused_and_then_hung_up_on(
    lms: LmsEmulator, database_url: str
) -> None:
    settings = gateway_settings(database_url, lms)
    await add_vendor(settings, "ebooks", "validation")
    async with gateway_running(settings) as gateway, connected("127.0.0.1", gateway.port) as vendor:
        for _ in range(2):
            assert (await vendor.login("guess", user="ebooks")).fixed_value("ok") == "0"
        assert await vendor.raw(b"9300CNebooks|COguess|\r") == b""
    failures = await audit_details(database_url, "sip2.login_failed")
    assert len(failures) == 3 and "guess" not in json.dumps(failures)


@pytest.mark.parametrize(
    ("tried", "recorded"),
    [("x" * 1000, "x" * 128), ("eb\x00oks", "eb\ufffdoks"), ("e\x7fbooks", "e\x7fbooks")],
)
async def test_a_login_no_account_could_have_is_refused_and_the_trail_keeps_going(
    lms: LmsEmulator, database_url: str, tried: str, recorded: str
) -> None:
    # Too long for the audit trail's column, or holding a NUL, which PostgreSQL cannot
    # store or even compare: refused like any wrong login, recorded as well as it can be.
    settings = gateway_settings(database_url, lms)
    password = await add_vendor(settings, "ebooks", "validation")
    async with gateway_running(settings) as gateway, connected("127.0.0.1", gateway.port) as vendor:
        assert (await vendor.login("guess", user=tried)).fixed_value("ok") == "0"
        assert (await vendor.login(password, user="ebooks")).fixed_value("ok") == "1"
    [failed] = await audit_details(database_url, "sip2.login_failed")
    assert failed["client_id"] == recorded
    [logged_in] = await audit_details(database_url, "sip2.login")
    assert logged_in["client_id"] == "ebooks"


async def test_an_account_at_its_policys_connection_limit_is_refused_another_login(
    lms: LmsEmulator, database_url: str
) -> None:
    settings = gateway_settings(database_url, lms, policies={"validation": {"max_connections": 1}})
    password = await add_vendor(settings, "ebooks", "validation")
    async with gateway_running(settings) as gateway:
        async with connected("127.0.0.1", gateway.port) as first:
            assert (await first.login(password, user="ebooks")).fixed_value("ok") == "1"
            async with connected("127.0.0.1", gateway.port) as second:
                assert (await second.login(password, user="ebooks")).fixed_value("ok") == "0"
                assert (await first.patron(CARD, PIN)).get("BL") == "Y"
        for _ in range(50):  # the first connection's place frees up once it has ended
            async with connected("127.0.0.1", gateway.port) as later:
                if (await later.login(password, user="ebooks")).fixed_value("ok") == "1":
                    break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the account could not log in again after its connection ended")
    [refused] = await audit_details(database_url, "sip2.login_failed")
    assert refused["client_id"] == "ebooks"
    assert refused["reason"] == "already 1 connections, its policy's limit"


async def test_a_remade_account_is_not_held_to_the_limit_by_its_old_connections(
    lms: LmsEmulator, database_url: str
) -> None:
    # A leaked password: the account is removed and made again with a new one, while the
    # old connections sit idle until their next message ends them.
    settings = gateway_settings(database_url, lms, policies={"validation": {"max_connections": 1}})
    old_password = await add_vendor(settings, "ebooks", "validation")
    async with gateway_running(settings) as gateway, connected("127.0.0.1", gateway.port) as old:
        assert (await old.login(old_password, user="ebooks")).fixed_value("ok") == "1"
        database = Database(database_url)
        try:
            await VendorRegistry(database).remove("ebooks")
        finally:
            await database.dispose()
        new_password = await add_vendor(settings, "ebooks", "validation")
        async with connected("127.0.0.1", gateway.port) as new:
            assert (await new.login(new_password, user="ebooks")).fixed_value("ok") == "1"
            assert (await new.patron(CARD, PIN)).get("BL") == "Y"


async def test_a_vendor_that_logs_in_again_on_its_connection_is_hung_up_on(
    lms: LmsEmulator, database_url: str
) -> None:
    settings = gateway_settings(database_url, lms)
    password = await add_vendor(settings, "ebooks", "validation")
    other = await add_vendor(settings, "newspapers", "kiosk")
    async with gateway_running(settings) as gateway, connected("127.0.0.1", gateway.port) as vendor:
        assert (await vendor.login(password, user="ebooks")).fixed_value("ok") == "1"
        assert (await vendor.patron(CARD, PIN)).get("BL") == "Y"
        assert await vendor.raw(f"9300CNnewspapers|CO{other}|\r".encode()) == b""


async def test_a_removed_vendor_is_cut_off_on_its_open_connections_too(
    lms: LmsEmulator, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_server, "RECHECK_SECONDS", 0.1)
    settings = gateway_settings(database_url, lms)
    password = await add_vendor(settings, "ebooks", "validation")
    async with gateway_running(settings) as gateway, connected("127.0.0.1", gateway.port) as vendor:
        assert (await vendor.login(password, user="ebooks")).fixed_value("ok") == "1"
        assert (await vendor.patron(CARD, PIN)).get("BL") == "Y"
        database = Database(database_url)
        try:
            assert await VendorRegistry(database).remove("ebooks")
        finally:
            await database.dispose()
        await asyncio.sleep(0.2)
        assert await vendor.raw(b"6300120261129    120000          AOLIB|AA1|\r") == b""


async def test_policies_change_without_a_restart(lms: LmsEmulator, database_url: str) -> None:
    settings = gateway_settings(database_url, lms)
    password = await add_vendor(settings, "ebooks", "validation")
    async with gateway_running(settings) as gateway, connected("127.0.0.1", gateway.port) as vendor:
        await vendor.login(password, user="ebooks")
        assert (await vendor.patron(CARD, PIN)).get("AE") is None
        widened = settings.model_copy(deep=True)
        widened.gateway.policies["validation"].fields.append("AE")
        gateway.reloaded.append(widened)
        for _ in range(100):  # the reloader looks every 2 seconds
            if (await vendor.patron(CARD, PIN)).get("AE") == "Ada Lovelace":
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the widened policy never applied")


async def test_the_message_size_limit_changes_without_a_restart(
    lms: LmsEmulator, database_url: str
) -> None:
    settings = gateway_settings(database_url, lms)
    long_login = b"9300CN" + b"x" * 1000 + b"|COwrong|\r"  # over 512 bytes, under 8,192
    async with gateway_running(settings) as gateway:
        async with connected("127.0.0.1", gateway.port) as kiosk:
            assert (await kiosk.raw(long_login)).startswith(b"940")
        smaller = settings.model_copy(deep=True)
        smaller.gateway.max_message_size = 512
        gateway.reloaded.append(smaller)
        for _ in range(100):  # the reloader looks every 2 seconds; then new connections
            async with connected("127.0.0.1", gateway.port) as kiosk:
                if await kiosk.raw(long_login) == b"":  # cut off: too long now
                    break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the smaller message size never applied")


async def test_when_the_lms_is_down_vendors_hear_so_at_once(
    lms: LmsEmulator, database_url: str
) -> None:
    async with vendor_session(database_url, lms, "ebooks", "validation") as vendor:
        await lms.stop()
        answer = await vendor.patron(CARD, PIN)
    assert answer.code == "64" and answer.get("BL") != "Y"
    assert "not available" in (answer.get("AF") or "")


async def test_a_vendor_sending_too_fast_is_slowed_down(
    lms: LmsEmulator, database_url: str
) -> None:
    settings = gateway_settings(database_url, lms, policies={"slow": {"rate_per_second": 1}})
    password = await add_vendor(settings, "ebooks", "slow")
    async with gateway_running(settings) as gateway, connected("127.0.0.1", gateway.port) as vendor:
        await vendor.login(password, user="ebooks")
        answers = [await vendor.patron(CARD, PIN) for _ in range(4)]
    assert answers[0].get("BL") == "Y"
    assert "slow down" in (answers[-1].get("AF") or "")
    assert len([m for m in lms.received if m.code == "63"]) < 4
    refusals = [e for e in await audit_details(database_url, "sip2.exchange") if e.get("refused")]
    assert refusals and all(e["refused"] == "rate limit" for e in refusals)
