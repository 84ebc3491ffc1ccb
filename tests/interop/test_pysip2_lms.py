"""libgate's LMS connector against an independent SIP2 server built on PyPI ``pysip2``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pysip2 import (
    LOGIN,
    PATRON_INFORMATION,
    LoginResponse,
    PatronInformationResponse,
    SIP2Server,
)

from libgate.patrons import AuthFailure, DirectoryUnavailable, Patron, Sip2Directory
from libgate.sip2 import LmsLink, LmsLoginRefused, LmsPool
from tests.support.pins import new_pin

pytestmark = pytest.mark.interop

CARD = "21234000000042"
LMS_LOGIN = ("libgate", "lms-secret")
PIN = new_pin()


class PysipLms:
    """A tiny LMS: one patron, login libgate/lms-secret, counting the 63s it answers."""

    def __init__(self) -> None:
        self.app = SIP2Server(institution_id="LIB", library_name="Peer Library", encoding="utf-8")
        self.patron_requests: list[Any] = []
        self.app.route(LOGIN)(self._login)
        self.app.route(PATRON_INFORMATION)(self._patron_information)

    async def _login(self, request: Any, _context: Any) -> LoginResponse:
        good = (request.login_user_id, request.login_password) == LMS_LOGIN
        return LoginResponse(ok="1" if good else "0")

    async def _patron_information(self, request: Any, context: Any) -> PatronInformationResponse:
        self.patron_requests.append(request)
        known = request.patron_identifier == CARD
        password_ok = None
        if request.patron_password is not None:
            password_ok = "Y" if known and request.patron_password == PIN else "N"
        return PatronInformationResponse(
            patron_status=" " * 14,
            language=request.language,
            transaction_date=context.now_18(),
            hold_items_count="0000",
            overdue_items_count="0000",
            charged_items_count="0000",
            fine_items_count="0000",
            recall_items_count="0000",
            unavailable_holds_count="0000",
            institution_id=request.institution_id,
            patron_identifier=request.patron_identifier,
            personal_name="Zoë Ångström" if known else "",
            valid_patron="Y" if known else "N",
            valid_patron_password=password_ok,
            email_address="zoe@example.org" if known else None,
        )


@pytest.fixture
async def lms() -> AsyncIterator[tuple[PysipLms, int]]:
    peer = PysipLms()
    async with peer.app.start("127.0.0.1", port=0) as port:
        yield peer, port


def link(port: int, login: tuple[str, str] = LMS_LOGIN) -> LmsLink:
    return LmsLink(
        host="127.0.0.1",
        port=port,
        login_user=login[0],
        login_password=login[1],
        encoding="utf-8",
        timeout=3,
    )


async def test_card_and_pin_are_checked_by_the_lms(lms: tuple[PysipLms, int]) -> None:
    peer, port = lms
    pool = LmsPool(link(port), size=2)
    directory = Sip2Directory(pool, institution="LIB")
    try:
        patron = await directory.authenticate(CARD, PIN)
        assert isinstance(patron, Patron)
        assert (patron.name, patron.email) == ("Zoë Ångström", "zoe@example.org")
        assert await directory.authenticate(CARD, PIN + "0") is AuthFailure.BAD_PIN
        assert await directory.authenticate("29999000000000", PIN) is AuthFailure.UNKNOWN_CARD
        looked_up = await directory.lookup(CARD)
        assert looked_up is not None and looked_up.name == "Zoë Ångström"
        assert await directory.lookup("29999000000000") is None
    finally:
        await pool.close()
    assert [r.patron_password for r in peer.patron_requests] == [PIN, PIN + "0", PIN, None, None]


async def test_a_blank_pin_is_refused_without_asking_the_lms(lms: tuple[PysipLms, int]) -> None:
    peer, port = lms
    pool = LmsPool(link(port))
    try:
        for blank in ["", "   "]:
            assert await Sip2Directory(pool, institution="LIB").authenticate(CARD, blank) is (
                AuthFailure.BAD_PIN
            )
    finally:
        await pool.close()
    assert peer.patron_requests == []


async def test_a_refused_sip2_login_is_reported_as_such(lms: tuple[PysipLms, int]) -> None:
    _, port = lms
    pool = LmsPool(link(port, ("libgate", "wrong")))
    directory = Sip2Directory(pool, institution="LIB")
    try:
        assert await directory.authenticate(CARD, PIN) is AuthFailure.UNAVAILABLE
        with pytest.raises(DirectoryUnavailable, match="refused the SIP2 login") as refused:
            await directory.lookup(CARD)
        assert isinstance(refused.value.__cause__, LmsLoginRefused)
    finally:
        await pool.close()
