from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Protocol


class AuthFailure(enum.Enum):
    """Why a card + PIN did not sign in. Only :class:`CardSignIn` turns these into words a
    resident sees, and it never tells an unknown card from a wrong PIN."""

    UNKNOWN_CARD = "unknown_card"
    BAD_PIN = "bad_pin"
    BLOCKED = "blocked"
    EXPIRED = "expired"
    UNAVAILABLE = "unavailable"
    LOCKED_OUT = "locked_out"

    @property
    def counts_as_guess(self) -> bool:
        return self in (AuthFailure.UNKNOWN_CARD, AuthFailure.BAD_PIN)


class DirectoryUnavailable(Exception):
    """The system behind the directory (the LMS) cannot be reached or answered badly."""


@dataclass(frozen=True)
class Patron:
    card: str
    name: str
    email: str
    expires: dt.date | None
    branch: str
    category: str
    blocked: bool = False

    def status(self, today: dt.date | None = None) -> str:
        if self.blocked:
            return "blocked"
        if self.expires is not None and self.expires < (today or dt.date.today()):
            return "expired"
        return "active"

    def may_sign_in(self) -> Patron | AuthFailure:
        """This patron, once the PIN is right, or why the card cannot be used."""
        status = self.status()
        if status == "blocked":
            return AuthFailure.BLOCKED
        if status == "expired":
            return AuthFailure.EXPIRED
        return self


class PatronDirectory(Protocol):
    """One seam per LMS: who holds this card, and is this their PIN?"""

    async def authenticate(self, card: str, pin: str) -> Patron | AuthFailure:
        """The patron when the PIN is right and the card in good standing, else why not.
        Raises nothing for a wrong PIN; returns ``AuthFailure.UNAVAILABLE`` when the LMS is
        down."""
        ...

    async def lookup(self, card: str) -> Patron | None:
        """The patron's current details, or None for an unknown card.
        Raises :class:`DirectoryUnavailable` when the LMS cannot answer."""
        ...
