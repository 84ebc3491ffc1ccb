"""An independent SIP2 client, PyPI ``Sip2``, drives libgate's gateway as a kiosk would:
login, status, patron information, checkout, checkin, renew, end session."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from Sip2.sip2 import Sip2

from libgate.testing.sip2_lms import EmulatedItem, EmulatedPatron, LmsEmulator
from tests.support import pins
from tests.support.gateway import add_vendor, gateway_running, gateway_settings

pytestmark = pytest.mark.interop

CARD, BOOK, PIN = "29990000000011", "31000000000011", pins.new_pin()


@pytest.fixture
async def lms() -> AsyncIterator[LmsEmulator]:
    patron = EmulatedPatron(CARD, PIN, "Grace Hopper", email="grace@example.org")
    # Sip2 speaks UTF-8 (its default), so the LMS link does too.
    async with LmsEmulator(
        patrons=[patron], items=[EmulatedItem(BOOK, "Notes on Programming")], encoding="utf-8"
    ) as emulator:
        yield emulator


def kiosk_session(port: int, password: str, log_dir: Path) -> dict[str, Any]:
    """One kiosk session with the third-party client (blocking: run in a thread)."""
    client = Sip2()
    client.hostName, client.hostPort = "127.0.0.1", port
    client.tlsEnable = False
    client.socketTimeout = 5
    client.logfile_path = str(log_dir)  # it would write sip2.log (with passwords) into the cwd
    client.loglevel = "WARNING"
    client.institutionId, client.scLocation, client.terminalPassword = "LIB", "MAIN", ""
    client.connect()
    try:
        results: dict[str, Any] = {}
        ask = client.get_response
        results["login"] = client.sip_login_response(
            ask(client.sip_login_request("kiosk-1", password))
        )
        results["status"] = client.sip_sc_status_response(ask(client.sip_sc_status_request()))
        client.patron, client.patronpwd = CARD, PIN
        results["patron"] = client.sip_patron_information_response(
            ask(client.sip_patron_information_request("charged"))
        )
        due = int(time.time()) + 14 * 86400
        results["checkout"] = client.sip_checkout_response(
            ask(client.sip_checkout_request(BOOK, nbDueDate=due))
        )
        results["renew"] = client.sip_renew_response(
            ask(client.sip_renew_request(BOOK, nbDuDate=due))
        )
        results["checkin"] = client.sip_checkin_response(ask(client.sip_checkin_request(BOOK)))
        results["end"] = client.sip_end_patron_session_response(
            ask(client.sip_end_patron_session_request())
        )
        return results
    finally:
        client.disconnect()
        for handler in list(logging.getLogger("Sip2").handlers):
            logging.getLogger("Sip2").removeHandler(handler)
            handler.close()


async def test_a_third_party_sip2_client_completes_a_kiosk_session(
    lms: LmsEmulator, database_url: str, tmp_path: Path
) -> None:
    settings = gateway_settings(
        database_url,
        lms,
        policies={
            "kiosk": {
                "messages": ["99", "63", "11", "09", "29", "35"],
                "fields": ["AO", "AA", "AB", "AE", "AJ", "AH", "BL", "CQ", "AU", "AF"],
                "real_card": True,
                "encoding": "utf-8",
            }
        },
    )
    settings.lms.encoding = "utf-8"
    password = await add_vendor(settings, "kiosk-1", "kiosk")
    async with gateway_running(settings) as gateway:
        results = await asyncio.to_thread(kiosk_session, gateway.port, password, tmp_path)
    fixed = {name: answer["fixed"] for name, answer in results.items()}
    fields = {name: answer["variable"] for name, answer in results.items()}
    assert fixed["login"]["Ok"] == "1"
    assert fixed["status"]["OnlineStatus"] == "Y"
    assert fields["patron"]["BL"] == ["Y"] and fields["patron"]["CQ"] == ["Y"]
    assert fields["patron"]["AE"] == ["Grace Hopper"]
    assert "BE" not in fields["patron"]  # e-mail is not in this kiosk's policy
    assert fixed["checkout"]["Ok"] == "1" and fields["checkout"]["AB"] == [BOOK]
    assert fixed["renew"]["Ok"] == "1"
    assert fixed["checkin"]["Ok"] == "1"
    assert fixed["end"]["EndSession"] == "Y"
    assert [m.code for m in lms.received if m.code != "93"] == ["99", "63", "11", "29", "09", "35"]
    assert lms.items[BOOK].on_loan_to is None
