"""ISBNs and ISSNs as catalogues write them ("0-19-852663-6 (pbk.)") reduced to one
comparable form, so the same edition matches across sources."""

from __future__ import annotations

import re

# Thirteen or ten digits (the last of ten may be X), single hyphens or spaces allowed
# between them, not part of a longer number; what follows ("(pbk.)", "hbk") is ignored.
_ISBN_LIKE = re.compile(
    r"(?<![\dXx])(?:97[89](?:[- ]?\d){10}|\d(?:[- ]?\d){8}[- ]?[\dXx])(?![\dXx])"
)
_ISSN_LIKE = re.compile(r"\b(\d{4})\s*-?\s*(\d{3}[\dXx])\b")


def normalise_isbn(text: str) -> str | None:
    """Return the ISBN in ``text`` as a hyphen-free ISBN-13, or None if there is no valid one.

    ISBN-10s are converted (978 prefix, check digit recomputed); check digits are verified.
    """
    for match in _ISBN_LIKE.finditer(text):
        digits = match.group().replace("-", "").replace(" ", "").upper()
        if len(digits) == 13 and _isbn13_check(digits[:12]) == digits[12]:
            return digits
        if len(digits) == 10 and _isbn10_check(digits[:9]) == digits[9]:
            stem = "978" + digits[:9]
            return stem + _isbn13_check(stem)
    return None


def isbn10(isbn13: str) -> str | None:
    """The ISBN-10 form of a normalised ISBN-13, for targets that index only ISBN-10s;
    None for 979 ISBNs, which have no ISBN-10."""
    if len(isbn13) != 13 or not isbn13.isdigit() or not isbn13.startswith("978"):
        return None
    stem = isbn13[3:12]
    return stem + _isbn10_check(stem)


def normalise_issn(text: str) -> str | None:
    """Return the ISSN in ``text`` as ``NNNN-NNNC`` (upper-case X), or None if invalid."""
    match = _ISSN_LIKE.search(text)
    if match is None:
        return None
    digits = (match.group(1) + match.group(2)).upper()
    total = sum(int(d) * w for d, w in zip(digits[:7], range(8, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    if digits[7] != ("X" if check == 10 else str(check)):
        return None
    return f"{digits[:4]}-{digits[4:]}"


def _isbn10_check(stem: str) -> str:
    total = sum(int(d) * w for d, w in zip(stem, range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _isbn13_check(stem: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(stem))
    return str((10 - total % 10) % 10)
