"""Which audit entries to read: what staff ask of the trail ("what did libgate release about
this resident, and to whom?", "what did this vendor receive last week?"), as SQL conditions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_

from libgate.db.tables import audit_log


@dataclass(frozen=True)
class AuditFilter:
    """The entries that match every field given; a field left at its default matches all.

    ``events`` holds exact event names and prefixes ending in ``.`` (``"sip2."`` is every
    SIP2 event). ``patron_refs`` holds one resident's references (see
    :meth:`Pseudonyms.patron_ref`). ``since`` and ``until`` are seconds since 1970 (UTC):
    ``since`` is included, ``until`` is not. ``newest`` keeps only the newest N matching
    entries (they are still read oldest first).
    """

    since: float | None = None
    until: float | None = None
    events: tuple[str, ...] = ()
    client_id: str | None = None
    patron_refs: frozenset[str] | None = None
    newest: int | None = None

    def __post_init__(self) -> None:
        if self.newest is not None and self.newest < 1:
            raise ValueError("newest must be at least 1 (None for every entry)")

    def conditions(self) -> list[ColumnElement[bool]]:
        column = audit_log.c
        found: list[ColumnElement[bool]] = []
        if self.since is not None:
            found.append(column.at >= self.since)
        if self.until is not None:
            found.append(column.at < self.until)
        if self.events:
            found.append(or_(*(_event_matches(name) for name in self.events)))
        if self.client_id is not None:
            found.append(column.client_id == self.client_id)
        if self.patron_refs is not None:
            found.append(column.patron_ref.in_(sorted(self.patron_refs)))
        return found


def _event_matches(name: str) -> ColumnElement[bool]:
    if not name.endswith("."):
        return audit_log.c.event == name
    # substr, not LIKE: the "_" in event names is no wildcard, and the match is
    # case-sensitive on SQLite as it is on PostgreSQL.
    return func.substr(audit_log.c.event, 1, len(name)) == name
