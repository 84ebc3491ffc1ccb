"""The patron directory over SIP2: card + PIN checked by the LMS itself (message 63)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from libgate.patrons._directory import AuthFailure, DirectoryUnavailable, Patron
from libgate.sip2 import LmsError, LmsPool, Message, Sip2Error, encode, parse_sip2_datetime

# Patron status flags (SIP2 2.00, 14 positions) that stop a card signing in.
_CHARGE_PRIVILEGES_DENIED = 0
_CARD_REPORTED_LOST = 4
# Summary positions of message 63: which item list the LMS should send.
_SUMMARY_CHARGED = 2


@dataclass(frozen=True)
class AccountSummary:
    """What a resident's account page shows: counts, loans, fines, expiry."""

    patron: Patron
    holds: int
    overdue: int
    charged: int
    fine_items: int
    loans: tuple[str, ...]
    fees: str | None
    currency: str | None


def _count(message: Message, name: str) -> int:
    value = message.fixed_value(name).strip()
    return int(value) if value.isdigit() else 0


class Sip2Directory:
    """Card holders as the LMS knows them. A PIN is accepted only when the LMS says both
    BL=Y (a valid patron) and CQ=Y (a valid password); an empty PIN is refused before the
    LMS is asked, because some LMSs answer CQ=Y to an empty password."""

    def __init__(self, pool: LmsPool, *, institution: str, terminal_password: str = "") -> None:
        self._pool = pool
        self._institution = institution
        self._terminal_password = terminal_password

    def patron_information(
        self, card: str, pin: str | None = None, summary: int | None = None
    ) -> Message:
        """The 63 this directory sends: with ``pin`` to check it, with ``summary`` (a
        position of the summary field) to ask for one item list."""
        fields = [("AO", self._institution), ("AA", card)]
        if self._terminal_password:
            fields.append(("AC", self._terminal_password))
        if pin is not None:
            fields.append(("AD", pin))
        flags = [" "] * 10
        if summary is not None:
            flags[summary] = "Y"
        return Message.build("63", {"language": "000", "summary": "".join(flags)}, fields)

    async def _ask(self, card: str, pin: str | None, summary: int | None = None) -> Message:
        """The LMS's answer. Raises Sip2Error, before anything is sent, for a card number or
        PIN that SIP2 cannot carry ('|', or a character the link's character set lacks):
        no LMS can hold one."""
        try:
            return await self._pool.exchange(self.patron_information(card, pin, summary))
        except LmsError as exc:
            raise DirectoryUnavailable(str(exc)) from exc

    def _carries(self, card: str) -> bool:
        try:
            encode(self.patron_information(card), encoding=self._pool.link.encoding)
        except Sip2Error:
            return False
        return True

    async def authenticate(self, card: str, pin: str) -> Patron | AuthFailure:
        if not pin.strip() or not card:
            return AuthFailure.BAD_PIN
        try:
            answer = await self._ask(card, pin)
        except DirectoryUnavailable:
            return AuthFailure.UNAVAILABLE
        except Sip2Error:
            return AuthFailure.BAD_PIN if self._carries(card) else AuthFailure.UNKNOWN_CARD
        if answer.get("BL") != "Y":
            return AuthFailure.UNKNOWN_CARD
        if answer.get("CQ") != "Y":
            return AuthFailure.BAD_PIN
        return _patron(card, answer).may_sign_in()

    async def lookup(self, card: str) -> Patron | None:
        try:
            answer = await self._ask(card, None)
        except Sip2Error:
            return None
        return _patron(card, answer) if answer.get("BL") == "Y" else None

    async def account(self, card: str) -> AccountSummary | None:
        try:
            answer = await self._ask(card, None, _SUMMARY_CHARGED)
        except Sip2Error:
            return None
        if answer.get("BL") != "Y":
            return None
        return AccountSummary(
            patron=_patron(card, answer),
            holds=_count(answer, "hold_items_count"),
            overdue=_count(answer, "overdue_items_count"),
            charged=_count(answer, "charged_items_count"),
            fine_items=_count(answer, "fine_items_count"),
            loans=tuple(answer.get_all("AU")),
            fees=answer.get("BV"),
            currency=answer.get("BH"),
        )


def _patron(card: str, answer: Message) -> Patron:
    status = answer.fixed_value("patron_status")
    expiry = parse_sip2_datetime(answer.get("PA") or "")
    return Patron(
        card=card,
        name=answer.get("AE") or "",
        email=answer.get("BE") or "",
        expires=expiry.date() if isinstance(expiry, dt.datetime) else None,
        branch=answer.get("AQ") or "",
        category=answer.get("PC") or "",
        blocked=status[_CHARGE_PRIVILEGES_DENIED] == "Y" or status[_CARD_REPORTED_LOST] == "Y",
    )
