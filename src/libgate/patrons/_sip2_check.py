"""``libgate sip2 check``: an LMS's SIP2 service tried step by step, with plain advice for
library systems staff on whatever fails."""

from __future__ import annotations

import time
from dataclasses import dataclass

from libgate.patrons._directory import AuthFailure, Patron
from libgate.patrons._sip2 import Sip2Directory
from libgate.sip2 import (
    LmsConnection,
    LmsError,
    LmsLink,
    LmsLoginRefused,
    LmsPool,
    status_request,
)


@dataclass(frozen=True)
class CheckStep:
    name: str
    passed: bool
    seconds: float
    detail: str
    advice: str = ""


_CONNECT_ADVICE = (
    "Check the host name and port with the LMS supplier, that the SIP2 service is running, "
    "and that a firewall lets this server reach it. If the service uses TLS, turn TLS on "
    "(--tls, or [lms] tls) with the CA that signed its certificate if it is your own "
    "(--ca-file, or [lms] tls_ca_file)."
)
_SILENT_ADVICE = (
    "The LMS accepted the connection but did not answer properly. Check that TLS is on or off "
    "as the LMS expects (--tls, or [lms] tls), the character set (--encoding, or [lms] "
    "encoding), and ask whether the SIP2 account requires error detection (checksums)."
)
_LOGIN_ADVICE = (
    "The LMS refused the login. Check the SIP2 user name and password (the LMS's SIP2 account "
    "for libgate, not a staff login) and the location code."
)
_PIN_ADVICE = {
    AuthFailure.UNKNOWN_CARD: "The LMS does not know this card (BL=N). Check the card number "
    "and the institution id (--institution, or [lms] institution).",
    AuthFailure.BAD_PIN: "The LMS did not confirm the PIN (CQ is not Y). Check the PIN; if it "
    "is right, ask the supplier to enable patron password checks for this SIP2 account.",
    AuthFailure.BLOCKED: "The PIN is right but the card is blocked or reported lost.",
    AuthFailure.EXPIRED: "The PIN is right but the membership has expired.",
    AuthFailure.UNAVAILABLE: "The LMS stopped answering during the PIN check.",
}


def _failure_advice(error: LmsError) -> str:
    return _LOGIN_ADVICE if isinstance(error, LmsLoginRefused) else _SILENT_ADVICE


async def check_lms(
    link: LmsLink,
    *,
    institution: str,
    terminal_password: str = "",
    patron: tuple[str, str] | None = None,
) -> list[CheckStep]:
    """Connect, log in, ask for status and (with ``patron`` = card, PIN) check a PIN the
    way sign-in does. Stops at the first step that fails."""
    steps: list[CheckStep] = []
    started = time.perf_counter()
    try:
        connection = await LmsConnection.connect(link)
    except LmsError as exc:
        steps.append(
            CheckStep("connect", False, time.perf_counter() - started, str(exc), _CONNECT_ADVICE)
        )
        return steps
    transport = "TLS" if link.ssl else "plain TCP (no TLS)"
    steps.append(
        CheckStep(
            "connect",
            True,
            time.perf_counter() - started,
            f"{transport} to {link.host}:{link.port}",
        )
    )
    try:
        started = time.perf_counter()
        try:
            await connection.login()
        except LmsError as exc:
            steps.append(
                CheckStep(
                    "login", False, time.perf_counter() - started, str(exc), _failure_advice(exc)
                )
            )
            return steps
        steps.append(
            CheckStep(
                "login", True, time.perf_counter() - started, f"logged in as {link.login_user}"
            )
        )
        started = time.perf_counter()
        try:
            status = await connection.exchange(status_request())
        except LmsError as exc:
            steps.append(
                CheckStep(
                    "status", False, time.perf_counter() - started, str(exc), _failure_advice(exc)
                )
            )
            return steps
        online = status.fixed_value("online_status") == "Y"
        detail = ", ".join(
            [
                f"online {status.fixed_value('online_status')}",
                f"protocol {status.fixed_value('protocol_version')}",
                f"checkout {status.fixed_value('checkout_ok')}",
                f"checkin {status.fixed_value('checkin_ok')}",
                f"library {status.get('AM') or status.get('AO') or '?'}",
            ]
        )
        steps.append(
            CheckStep(
                "status",
                online,
                time.perf_counter() - started,
                detail,
                "" if online else "The LMS says its SIP2 service is offline: ask the supplier.",
            )
        )
        if not online:
            return steps
    finally:
        await connection.close()
    if patron is not None:
        steps.append(await _check_pin(link, institution, terminal_password, *patron))
    return steps


async def _check_pin(
    link: LmsLink, institution: str, terminal_password: str, card: str, pin: str
) -> CheckStep:
    pool = LmsPool(link, size=1, keepalive_seconds=0)
    directory = Sip2Directory(pool, institution=institution, terminal_password=terminal_password)
    started = time.perf_counter()
    try:
        verdict = await directory.authenticate(card, pin)
    finally:
        await pool.close()
    seconds = time.perf_counter() - started
    if isinstance(verdict, Patron):
        return CheckStep("patron PIN", True, seconds, "BL=Y and CQ=Y: the PIN was accepted")
    return CheckStep(
        "patron PIN", False, seconds, f"refused: {verdict.value}", _PIN_ADVICE.get(verdict, "")
    )
