"""Text as the database can hold it. PostgreSQL's text cannot hold (or even be compared
with) a NUL character, which a client can put in any address, form or SIP2 field, and
neither database takes half a UTF-16 pair (a lone surrogate). Every value bound to a
statement has its NULs made U+FFFD, the replacement character, and any text UTF-8 cannot
carry replaced with "?". No value libgate stores holds either, so a look-up by such a value
finds nothing, as it should, instead of failing the request (or a whole batch of audit
entries)."""

from __future__ import annotations

from typing import Any

_NUL = "\x00"
_REPLACEMENT = "\ufffd"


def storable(value: Any) -> Any:
    """``value`` with any text in it made storable (lists, tuples and dicts of values too,
    as drivers are given them)."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                value = value.encode("utf-8", "replace").decode("utf-8")
        return value.replace(_NUL, _REPLACEMENT) if _NUL in value else value
    if isinstance(value, dict):
        items = {key: storable(item) for key, item in value.items()}
        return value if all(items[key] is item for key, item in value.items()) else items
    if isinstance(value, list | tuple):
        made = [storable(item) for item in value]
        if all(new is old for new, old in zip(made, value, strict=True)):
            return value  # as it was given, of whatever kind: nothing to replace
        return made if isinstance(value, list) else tuple(made)
    return value
