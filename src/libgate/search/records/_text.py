"""Tidying catalogue text: the ISBD punctuation cataloguers end each part with
("Title /", "Publisher,", "Surname, Forename,") is for printed cards, not for display
or matching."""

from __future__ import annotations

import re

_TRAILING = re.compile(r"(?:\s*[/:;=,])+$|\s+$")
# A full stop that ends an initial, an ellipsis or a common abbreviation is part of the
# text: "Smith, J.", "Wait...", "2nd ed.", "Brown & Co.".
_KEPT_STOP = re.compile(
    r"(?:\b\w|\.\.|\b(?:bros|ca|co|corp|dept|dr|ed|eds|enl|etc|inc|jr|ltd|mr|mrs|no|pt|pub"
    r"|rev|sr|st|vol|vols))\.$",
    re.IGNORECASE,
)
# Characters XML 1.0 cannot carry; stray ones turn up in old MARC data.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def tidy(text: str) -> str:
    """``text`` without trailing ISBD punctuation and surrounding space."""
    text = text.strip()
    while True:
        stripped = _TRAILING.sub("", text)
        if stripped.endswith(".") and not _KEPT_STOP.search(stripped):
            stripped = stripped[:-1].rstrip()
        if stripped == text:
            return text
        text = stripped


def unique(items: list[str]) -> tuple[str, ...]:
    """``items`` without empties and repeats, first occurrence kept."""
    return tuple(dict.fromkeys(item for item in items if item))


def xml_safe(text: str) -> str:
    """``text`` without the characters XML cannot carry."""
    return _NOT_XML.sub("", text)
