"""Copies and where they are, from MARC holdings fields: 852 (MARC 21 location) and 952
(Koha's embedded item field)."""

from __future__ import annotations

import pymarc

from libgate.search._model import Holding
from libgate.search.records._text import tidy


def marc_holdings(marc: pymarc.Record, source: str) -> tuple[Holding, ...]:
    """Every 852 and 952 in ``marc`` as a Holding at ``source``."""
    holdings = [_from_852(field, source) for field in marc.get_fields("852")]
    holdings.extend(_from_952(field, source) for field in marc.get_fields("952"))
    return tuple(holdings)


def _from_852(field: pymarc.Field, source: str) -> Holding:
    location = field.get("b") or field.get("a") or ""
    call_number = " ".join(field.get_subfields("h", "i"))
    return Holding(source=source, location=tidy(location), call_number=tidy(call_number))


def _from_952(field: pymarc.Field, source: str) -> Holding:
    location = field.get("b") or field.get("a") or ""
    return Holding(
        source=source,
        location=location.strip(),
        call_number=(field.get("o") or "").strip(),
        status=_koha_status(field),
    )


def _koha_status(field: pymarc.Field) -> str:
    # Koha codes these as numbers where 0 (or nothing) means "no"; any other value,
    # negative ones included ("on order"), means the copy cannot be borrowed now.
    if _flag(field, "0"):
        return "Withdrawn"
    if _flag(field, "1"):
        return "Lost"
    due = (field.get("q") or "").strip()
    if due:
        return f"On loan until {due[:10]}"
    if _flag(field, "7"):
        return "Not for loan"
    return "Available"


def _flag(field: pymarc.Field, code: str) -> bool:
    value = (field.get(code) or "").strip()
    return value not in ("", "0")
