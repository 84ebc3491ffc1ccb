from __future__ import annotations

import logging
from dataclasses import dataclass

from libgate.db import Database
from libgate.patrons._directory import AuthFailure, Patron, PatronDirectory
from libgate.patrons._throttle import PinGuard, card_key, ip_key
from libgate.privacy import AuditTrail, Pseudonyms

log = logging.getLogger("libgate.signin")

# Longer than any library's card numbers (and than the patron records keep). A longer one is
# an unknown card that is not counted against itself: its key would not fit the failure
# counters' column.
MAX_CARD_LENGTH = 64


@dataclass(frozen=True)
class SignInOutcome:
    patron: Patron | None
    failure: AuthFailure | None
    retry_after: float | None = None


def normalise_card(card: str) -> str:
    """Cards are typed with spaces and dashes as printed; the LMS knows them without."""
    return "".join(ch for ch in card.strip() if ch not in " -").upper()


class CardSignIn:
    """Card number + PIN sign-in: lockout check, the directory's verdict, failure counting and
    an audit entry for every attempt. Callers show residents one generic message for an
    unknown card, a wrong PIN and a lockout alike."""

    def __init__(
        self,
        database: Database,
        directory: PatronDirectory,
        guard: PinGuard,
        audit: AuditTrail,
        pseudonyms: Pseudonyms,
    ) -> None:
        self._database = database
        self._directory = directory
        self._guard = guard
        self._audit = audit
        self._pseudonyms = pseudonyms

    async def sign_in(
        self, card: str, pin: str, *, ip: str, client_id: str | None
    ) -> SignInOutcome:
        card = normalise_card(card)
        ref = self._pseudonyms.patron_ref(card)
        # Longer than any library uses, or holding a control character (a NUL, a line
        # break): no card, so nothing to look up or count against it.
        plausible = len(card) <= MAX_CARD_LENGTH and card.isprintable()
        keys = [card_key(card), ip_key(ip)] if plausible else [ip_key(ip)]
        admission = await self._guard.admit(keys)
        lockout = admission.refused
        if lockout is not None:
            async with self._database.unit() as unit:
                await self._audit.record(
                    unit,
                    "signin.refused_locked_out",
                    patron_ref=ref,
                    client_id=client_id,
                    ip=ip,
                    lockout=lockout.kind,
                )
            return SignInOutcome(None, AuthFailure.LOCKED_OUT, lockout.until)

        verdict = (
            await self._directory.authenticate(card, pin)
            if card and plausible
            else AuthFailure.UNKNOWN_CARD
        )
        async with self._database.unit() as unit:
            if isinstance(verdict, Patron):
                await self._guard.right_pin(unit, admission)
                await self._audit.record(
                    unit, "signin.success", patron_ref=ref, client_id=client_id, ip=ip
                )
                return SignInOutcome(verdict, None)
            await self._audit.record(
                unit,
                "signin.failure",
                patron_ref=ref,
                client_id=client_id,
                ip=ip,
                reason=verdict.value,
            )
            started = await self._guard.settle(unit, admission, guess=verdict.counts_as_guess)
            if not verdict.counts_as_guess:
                return SignInOutcome(None, verdict)
            for new_lockout in started:
                await self._audit.record(
                    unit,
                    "signin.lockout",
                    patron_ref=ref,
                    client_id=client_id,
                    ip=ip,
                    lockout=new_lockout.kind,
                    seconds=round(new_lockout.duration),
                    level=new_lockout.level,
                )
        if started:
            log.warning("sign-in lockout", extra={"patron_ref": ref, "ip": ip})
        return SignInOutcome(None, verdict)
