"""The SIP2 2.00 messages: each one's fixed fields (in order, with their lengths and what
they may hold) and the variable fields it must carry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_DATE = re.compile(r"\d{8}[ 0-9A-Z]{4}\d{6}|\s{18}")
_COUNT = re.compile(r"[ \d]+")


@dataclass(frozen=True)
class FixedField:
    name: str
    length: int
    allowed: str | None = None  # the characters it may hold, for one-character flags
    kind: str = "text"  # text, flags, date, count

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not valid here (strict parsing), or None."""
        if self.allowed is not None and any(ch not in self.allowed for ch in value):
            return f"{self.name} must be one of {self.allowed!r}"
        if self.kind == "date" and not _DATE.fullmatch(value):
            return f"{self.name} is not a SIP2 date (YYYYMMDDZZZZHHMMSS)"
        if self.kind == "count" and not _COUNT.fullmatch(value):
            return f"{self.name} is not a number"
        return None


@dataclass(frozen=True)
class MessageSpec:
    code: str
    name: str
    fixed: tuple[FixedField, ...]
    required: tuple[str, ...] = ()
    response: str | None = None  # the code that answers this request
    # Derived once: the codec consults them for every message.
    fixed_lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)
    fixed_length: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fixed_lengths", tuple(f.length for f in self.fixed))
        object.__setattr__(self, "fixed_length", sum(self.fixed_lengths))

    def index(self, name: str) -> int:
        for position, spec in enumerate(self.fixed):
            if spec.name == name:
                return position
        raise KeyError(f"message {self.code} has no fixed field {name!r}")


def _flag(name: str, allowed: str | None = "YN") -> FixedField:
    return FixedField(name, 1, allowed)


def _date(name: str = "transaction_date") -> FixedField:
    return FixedField(name, 18, kind="date")


def _count(name: str, length: int = 4) -> FixedField:
    return FixedField(name, length, kind="count")


_OK = _flag("ok", "01")
_LANGUAGE = FixedField("language", 3, kind="count")
_PATRON_STATUS = FixedField("patron_status", 14, "Y ")
# Checkout (12) and renew (30) answer with the same fixed fields.
_LOAN_ANSWER = (
    _OK,
    _flag("renewal_ok"),
    _flag("magnetic_media", "YNU"),
    _flag("desensitize", "YNU"),
    _date(),
)

_SPECS = [
    MessageSpec(
        "93",
        "login",
        (_flag("uid_algorithm", None), _flag("pwd_algorithm", None)),
        ("CN", "CO"),
        "94",
    ),
    MessageSpec("94", "login response", (_OK,)),
    MessageSpec(
        "99",
        "SC status",
        (
            _flag("status_code", "012"),
            _count("max_print_width", 3),
            FixedField("protocol_version", 4),
        ),
        (),
        "98",
    ),
    MessageSpec(
        "98",
        "ACS status",
        (
            _flag("online_status"),
            _flag("checkin_ok"),
            _flag("checkout_ok"),
            _flag("acs_renewal_policy"),
            _flag("status_update_ok"),
            _flag("offline_ok"),
            _count("timeout_period", 3),
            _count("retries_allowed", 3),
            _date("date_time_sync"),
            FixedField("protocol_version", 4),
        ),
        ("AO", "BX"),
    ),
    MessageSpec(
        "63",
        "patron information",
        (_LANGUAGE, _date(), FixedField("summary", 10, "Y ")),
        ("AO", "AA"),
        "64",
    ),
    MessageSpec(
        "64",
        "patron information response",
        (
            _PATRON_STATUS,
            _LANGUAGE,
            _date(),
            _count("hold_items_count"),
            _count("overdue_items_count"),
            _count("charged_items_count"),
            _count("fine_items_count"),
            _count("recall_items_count"),
            _count("unavailable_holds_count"),
        ),
        ("AO", "AA", "AE"),
    ),
    MessageSpec("23", "patron status request", (_LANGUAGE, _date()), ("AO", "AA"), "24"),
    MessageSpec(
        "24", "patron status response", (_PATRON_STATUS, _LANGUAGE, _date()), ("AO", "AA", "AE")
    ),
    MessageSpec(
        "11",
        "checkout",
        (_flag("sc_renewal_policy"), _flag("no_block"), _date(), _date("nb_due_date")),
        ("AO", "AA", "AB"),
        "12",
    ),
    MessageSpec(
        "12",
        "checkout response",
        _LOAN_ANSWER,
        ("AO", "AA", "AB", "AJ"),
    ),
    MessageSpec(
        "09",
        "checkin",
        (_flag("no_block"), _date(), _date("return_date")),
        ("AP", "AO", "AB"),
        "10",
    ),
    MessageSpec(
        "10",
        "checkin response",
        (_OK, _flag("resensitize"), _flag("magnetic_media", "YNU"), _flag("alert"), _date()),
        ("AO", "AB", "AQ"),
    ),
    MessageSpec("01", "block patron", (_flag("card_retained"), _date()), ("AO", "AL", "AA"), "24"),
    MessageSpec("17", "item information", (_date(),), ("AO", "AB"), "18"),
    MessageSpec(
        "18",
        "item information response",
        (
            _count("circulation_status", 2),
            _count("security_marker", 2),
            _count("fee_type", 2),
            _date(),
        ),
        ("AB", "AJ"),
    ),
    MessageSpec("19", "item status update", (_date(),), ("AO", "AB", "CH"), "20"),
    MessageSpec(
        "20", "item status update response", (_flag("item_properties_ok", "01"), _date()), ("AB",)
    ),
    MessageSpec("25", "patron enable", (_date(),), ("AO", "AA"), "26"),
    MessageSpec(
        "26", "patron enable response", (_PATRON_STATUS, _LANGUAGE, _date()), ("AO", "AA", "AE")
    ),
    MessageSpec("15", "hold", (_flag("hold_mode", "+-*"), _date()), ("AO", "AA"), "16"),
    MessageSpec("16", "hold response", (_OK, _flag("available"), _date()), ("AO", "AA")),
    MessageSpec(
        "29",
        "renew",
        (_flag("third_party_allowed"), _flag("no_block"), _date(), _date("nb_due_date")),
        ("AO", "AA"),
        "30",
    ),
    MessageSpec(
        "30",
        "renew response",
        _LOAN_ANSWER,
        ("AO", "AA", "AB", "AJ"),
    ),
    MessageSpec("65", "renew all", (_date(),), ("AO", "AA"), "66"),
    MessageSpec(
        "66",
        "renew all response",
        (_OK, _count("renewed_count"), _count("unrenewed_count"), _date()),
        ("AO",),
    ),
    MessageSpec("35", "end patron session", (_date(),), ("AO", "AA"), "36"),
    MessageSpec("36", "end session response", (_flag("end_session"), _date()), ("AO", "AA")),
    MessageSpec(
        "37",
        "fee paid",
        (_date(), _count("fee_type", 2), _count("payment_type", 2), FixedField("currency_type", 3)),
        ("BV", "AO", "AA"),
        "38",
    ),
    MessageSpec("38", "fee paid response", (_flag("payment_accepted"), _date()), ("AO", "AA")),
    MessageSpec("97", "request ACS resend", ()),
    MessageSpec("96", "request SC resend", ()),
]

MESSAGES: dict[str, MessageSpec] = {spec.code: spec for spec in _SPECS}
