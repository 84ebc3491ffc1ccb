"""What federated search works with: the records targets return, normalised to one shape,
the clusters they merge into (one per edition), and what a target answered."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Holding:
    """Where a copy is: at which source (target name), which library or branch, on what
    shelf, and whether it is in, when the target says so."""

    source: str
    location: str = ""
    call_number: str = ""
    status: str = ""  # the target's own words ("Available", "On loan until 2026-12-01")


@dataclass(frozen=True, slots=True)
class Record:
    """One bibliographic record from one source, in the common model.

    ``isbns`` are ISBN-13 (ISBN-10s converted), hyphen-free; ``language`` is the MARC code
    (ISO 639-2/B, e.g. ``eng``); ``format`` one of FORMATS.
    """

    source: str  # the target's name
    native_id: str  # the record's id at that source
    title: str
    subtitle: str = ""
    authors: tuple[str, ...] = ()
    isbns: tuple[str, ...] = ()
    issns: tuple[str, ...] = ()
    edition: str = ""
    publisher: str = ""
    year: int | None = None
    format: str = "book"
    language: str = ""
    subjects: tuple[str, ...] = ()
    holdings: tuple[Holding, ...] = ()


FORMATS = ("book", "ebook", "audiobook", "music", "video", "serial", "map", "other")


@dataclass(frozen=True, slots=True)
class TargetAnswer:
    """A target's answer to one query: how many records matched there (``hits``, possibly
    more than were fetched), the ones fetched, and notes on what it could not do
    (``diagnostics``: plain words, e.g. "subject searches are not supported; searched as
    any word")."""

    hits: int
    records: tuple[Record, ...] = ()
    diagnostics: tuple[str, ...] = ()


class TargetError(Exception):
    """A target could not answer. The message is for library staff: what failed and, where
    it helps, what to check. Never carries credentials."""


@dataclass
class Cluster:
    """One edition, as found at one or more sources: every source record is kept."""

    key: str
    records: list[Record] = field(default_factory=list)
    score: float = 0.0
