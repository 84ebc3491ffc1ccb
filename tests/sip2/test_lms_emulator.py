"""The LMS emulator that stands in for a commercial LMS, driven over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sys
from collections.abc import AsyncIterator

import pytest
from tests.support import pins
from tests.support.sip2 import CHECKOUT, LMS_PASSWORD, LOGIN, Client, connected

from libgate.sip2 import ChecksumMismatch, Message, decode, encode
from libgate.testing.sip2_lms import EmulatedItem, EmulatedPatron, LmsEmulator

CARD, BOOK, PIN = "29990000000001", "31000000000001", pins.new_pin()


async def item_status(client: Client) -> str:
    return (await client.circulate("17", {}, CARD, BOOK)).fixed_value("circulation_status")


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
        expires=dt.date(2030, 1, 31),
        branch="Central",
        category="ADULT",
        fines="1.50",
    )
    async with LmsEmulator(patrons=[ada], items=[EmulatedItem(BOOK, "The Hobbit")]) as emulator:
        yield emulator


@pytest.fixture
async def client(lms: LmsEmulator) -> AsyncIterator[Client]:
    async with connected(lms.host, lms.port) as client:
        assert (await client.login()).fixed_value("ok") == "1"
        yield client


async def test_only_the_configured_sip2_account_may_log_in(lms: LmsEmulator) -> None:
    async with connected(lms.host, lms.port) as client:
        assert (await client.login("wrong")).fixed_value("ok") == "0"
        assert (await client.login()).fixed_value("ok") == "1"
    assert lms.logins == 1
    assert [m.get("CO") for m in lms.received] == ["wrong", LMS_PASSWORD]


async def test_before_login_only_a_status_request_is_answered(lms: LmsEmulator) -> None:
    async with connected(lms.host, lms.port) as client:
        sc_status = {"status_code": "0", "max_print_width": "040", "protocol_version": "2.00"}
        status = await client.ask("99", sc_status)
        assert (status.code, status.fixed_value("online_status")) == ("98", "Y")
        assert await client.raw(encode(Message.build("17", {}, [("AB", BOOK)]))) == b""


@pytest.mark.parametrize(
    ("pin", "valid"),
    [(PIN, "Y"), ("0000", "N"), (None, None)],
    ids=["right-pin", "wrong-pin", "no-pin"],  # the PIN is random: ids must not show it
)
async def test_a_known_card_gets_every_personal_field_whatever_the_pin(
    client: Client, pin: str | None, valid: str | None
) -> None:
    answer = await client.patron(CARD, pin)
    assert (answer.get("BL"), answer.get("CQ")) == ("Y", valid)
    assert answer.get("AE") == "Ada Lovelace"
    assert (answer.get("PA") or "").startswith("20300131")
    assert all(answer.get(code) for code in ("BD", "BE", "BF", "PB", "PC", "AQ", "BV", "BH"))


async def test_an_unknown_card_is_not_a_valid_patron(client: Client) -> None:
    answer = await client.patron("29999999999999", PIN)
    assert (answer.get("BL"), answer.get("CQ"), answer.get("AE")) == ("N", "N", "")


@pytest.mark.parametrize(("faulty", "valid"), [(False, "N"), (True, "Y")])
async def test_a_blank_pin_is_valid_only_on_a_faulty_lms(
    lms: LmsEmulator, client: Client, faulty: bool, valid: str
) -> None:
    lms.blank_pin_is_valid = faulty
    assert (await client.patron(CARD, "")).get("CQ") == valid


async def test_checkout_renew_and_checkin_change_the_item(lms: LmsEmulator, client: Client) -> None:
    book = lms.items[BOOK]
    loan = await client.circulate("11", CHECKOUT, CARD, BOOK, ("AD", PIN))
    assert (loan.fixed_value("ok"), book.on_loan_to) == ("1", CARD)
    assert loan.get("AH") and await item_status(client) == "04"
    charged = await client.patron(CARD, PIN, "  Y")
    assert charged.get_all("AU") == [BOOK]
    assert charged.fixed_value("charged_items_count") == "0001"
    first_due = book.due
    renewal = await client.circulate(
        "29", {"third_party_allowed": "N", "no_block": "N"}, CARD, BOOK
    )
    assert renewal.fixed_value("ok") == "1"
    assert book.due and first_due and book.due > first_due
    returned = await client.circulate("09", {"no_block": "N"}, CARD, BOOK, ("AP", "MAIN"))
    assert returned.fixed_value("ok") == "1" and book.on_loan_to is None
    assert await item_status(client) == "03"


async def test_checkout_is_refused_for_a_wrong_pin_or_a_book_on_loan_elsewhere(
    lms: LmsEmulator, client: Client
) -> None:
    refused = await client.circulate("11", CHECKOUT, CARD, BOOK, ("AD", "0000"))
    assert (refused.fixed_value("ok"), refused.get("AF")) == ("0", "Invalid PIN.")
    lms.items[BOOK].on_loan_to = "29990000000002"
    assert (await client.circulate("11", CHECKOUT, CARD, BOOK)).get("AF") == "Item is on loan."
    assert lms.items[BOOK].on_loan_to == "29990000000002"


async def test_a_damaged_answer_is_sent_again_intact_on_a_97(lms: LmsEmulator) -> None:
    lms.corrupt_next_responses = 1
    async with connected(lms.host, lms.port) as client:
        login = Message.build("93", LOGIN, [("CN", "libgate"), ("CO", LMS_PASSWORD)], sequence=4)
        with pytest.raises(ChecksumMismatch):
            decode(await client.raw(encode(login)))
        answer = decode(await client.raw(encode(Message("97", checksummed=True))))
        assert (answer.code, answer.fixed_value("ok"), answer.sequence) == ("94", "1", 4)


async def test_malformed_bytes_get_a_96_and_the_connection_carries_on(client: Client) -> None:
    for garbage in (b"63 too short\r", b"xx\x00\xff\r", b"9300CNa|COb|AY1AZ0000\r"):
        assert decode(await client.raw(garbage)).code == "96"
    assert (await client.patron(CARD, PIN)).get("CQ") == "Y"


async def test_stop_drops_live_connections_and_refuses_new_ones(
    lms: LmsEmulator, client: Client
) -> None:
    await lms.stop()
    with contextlib.suppress(ConnectionResetError):
        async with asyncio.timeout(2):
            assert await client.frames.read() is None
    with pytest.raises(OSError):
        await asyncio.open_connection(lms.host, lms.port)


async def test_the_command_line_serves_the_demo_patrons_until_terminated() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "libgate.testing.sip2_lms", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(10):
            banner = (await process.stdout.readline()).decode()
        host, port = banner.removeprefix("LMS emulator listening on ").strip().rsplit(":", 1)
        async with connected(host, int(port)) as client:
            await client.login()
            answer = await client.patron("21000000000001", "6305")
            assert (answer.get("AE"), answer.get("CQ")) == ("Amara Okafor", "Y")
    finally:
        process.terminate()
        assert await process.wait() == 0
