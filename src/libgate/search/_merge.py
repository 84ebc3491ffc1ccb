"""Records from many sources merged into clusters, one per edition, as targets answer.

Two records are the same edition when they share an ISBN-13 (and their format, edition
statement and titles agree: ISBNs do get reused by mistake), or else when their title and
first author's surname fold to one key and nothing known about them disagrees: format,
year, edition, language, ISBNs, publisher. The checks are made between whole clusters, so a record
without a year cannot join a 1990 and a 2005 edition together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from libgate.search._keys import (
    author_key,
    edition_key,
    language_key,
    publisher_key,
    title_key,
    title_words,
)
from libgate.search._model import Cluster, Record


@dataclass(slots=True, frozen=True)
class _Details:
    """What merging compares once a record meets another by an ISBN or a title key."""

    title_words: frozenset[str]  # title and subtitle
    format: str
    year: int | None
    edition: str
    language: str
    publisher: frozenset[str]


class _Facts:
    """What merging knows of one distinct record: the keys it is looked up by, and the
    details it is compared by, worked out only when it meets another record (most records
    in a search meet none)."""

    __slots__ = ("_details", "isbns", "match_key", "record")

    def __init__(self, record: Record) -> None:
        self.record = record
        self.isbns = frozenset(record.isbns)
        self.match_key = _match_key(record)  # folded title + "/" + surname; "" without a title
        self._details: _Details | None = None

    @property
    def details(self) -> _Details:
        if self._details is None:
            record = self.record
            self._details = _Details(
                title_words=title_words(record.title, record.subtitle),
                format=record.format,
                year=record.year,
                edition=_edition(record),
                language=language_key(record.language),
                publisher=publisher_key(record.publisher) if record.publisher else frozenset(),
            )
        return self._details


def _match_key(record: Record) -> str:
    # Spaces go too: "moon-stone" and "moonstone", "to-day" and "today" are one title.
    title = title_key(record.title).replace(" ", "")
    if not title:
        return ""
    return f"{title}/{author_key(record.authors[0]) if record.authors else ''}"


def _edition(record: Record) -> str:
    return edition_key(record.edition) if record.edition else ""


class _Group:
    """A cluster while it grows: its records and what each distinct one says. Checks
    gather the group's values when they need them, so a record that matches nothing
    costs few allocations (and little garbage collection)."""

    __slots__ = ("cluster", "members", "parent", "seq")

    def __init__(self, seq: int, record: Record, facts: _Facts) -> None:
        self.seq = seq
        self.cluster = Cluster(key="", records=[record])
        self.parent: _Group | None = None
        self.members = [facts]

    def root(self) -> _Group:
        group = self
        while group.parent is not None:
            group = group.parent
        if group is not self:
            self.parent = group  # shortcut for the next look-up
        return group

    def absorb(self, other: _Group) -> None:
        other.parent = self
        self.cluster.records.extend(other.cluster.records)
        self.members.extend(other.members)

    def known(self, name: str) -> set[Any]:
        """The values of one of _Details' fields that members know (not None, not empty)."""
        values = {getattr(facts.details, name) for facts in self.members}
        values.discard(None)
        values.discard("")
        values.discard(frozenset())
        return values

    def isbns(self) -> set[str]:
        return set().union(*(facts.isbns for facts in self.members))


def _agree(a: _Group, b: _Group, name: str) -> bool:
    """Unknown on either side, or some value in common."""
    ours, theirs = a.known(name), b.known(name)
    return not ours or not theirs or not ours.isdisjoint(theirs)


def _similar_titles(a: _Group, b: _Group) -> bool:
    # More than half the words of the shorter title: tolerates a subtitle or a series
    # statement on one side, not a different book given the same ISBN ("A little
    # princess" and "Little women" share one in the LoC records).
    ours, theirs = a.known("title_words"), b.known("title_words")
    if not ours or not theirs:
        return True
    return any(2 * len(x & y) > min(len(x), len(y)) for x in ours for y in theirs)


def _same_publisher(a: _Group, b: _Group) -> bool:
    ours, theirs = a.known("publisher"), b.known("publisher")
    return all(not x.isdisjoint(y) for x in ours for y in theirs)


def _isbn_link(a: _Group, b: _Group) -> bool:
    # Not the year: a reprint keeps its edition's ISBN.
    return _agree(a, b, "format") and _agree(a, b, "edition") and _similar_titles(a, b)


def _title_link(a: _Group, b: _Group) -> bool:
    ours, theirs = a.isbns(), b.isbns()
    return (
        (not ours or not theirs or not ours.isdisjoint(theirs))
        and _agree(a, b, "format")
        and _agree(a, b, "year")
        and _agree(a, b, "edition")
        and _agree(a, b, "language")
        and _same_publisher(a, b)
    )


def _base_key(record: Record, facts: _Facts) -> str:
    if record.isbns:
        return f"isbn-{min(record.isbns)}"
    text = f"{facts.match_key}|{record.year}|{_edition(record)}|{record.format}|{record.publisher}"
    return "t-" + hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


class Merger:
    """Clusters records into editions, a target's answer at a time."""

    def __init__(self) -> None:
        self._seq = 0
        self._roots: dict[int, _Group] = {}
        self._by_isbn: dict[str, list[_Group]] = {}
        self._by_title: dict[str, list[_Group]] = {}
        self._keys: set[str] = set()
        # What merging compares in each record -> the group of the first record with it.
        self._known: dict[tuple[object, ...], _Group] = {}

    def add(self, records: Iterable[Record]) -> list[Cluster]:
        """Merge ``records`` into the clusters found so far; the clusters they joined or
        made."""
        touched: dict[int, Cluster] = {}
        for record in records:
            cluster = self._add(record)
            touched[id(cluster)] = cluster
        return list(touched.values())

    def clusters(self) -> list[Cluster]:
        """The clusters so far, in the order their first record arrived. Each is the same
        object from call to call, growing as records join it."""
        return [group.cluster for group in self._roots.values()]

    def _add(self, record: Record) -> Cluster:
        signature = (
            record.title,
            record.subtitle,
            record.authors[:1],
            record.isbns,
            record.format,
            record.year,
            record.edition,
            record.language,
            record.publisher,
        )
        known = self._known.get(signature)
        if known is not None:
            # A copy of a record already placed (another target, same cataloguing): it
            # belongs where that record went, and adds nothing to compare.
            cluster = known.root().cluster
            cluster.records.append(record)
            return cluster
        facts = _Facts(record)
        self._seq += 1
        group = _Group(self._seq, record, facts)
        self._known[signature] = group
        for isbn in facts.isbns:
            group = self._link(group, self._by_isbn.setdefault(isbn, []), _isbn_link)
        if facts.match_key:
            group = self._link(group, self._by_title.setdefault(facts.match_key, []), _title_link)
        if group.seq == self._seq:  # a new edition: nothing took it in
            self._roots[group.seq] = group
            group.cluster.key = self._unique(_base_key(record, facts))
        return group.cluster

    def _link(
        self,
        group: _Group,
        index: list[_Group],
        allowed: Callable[[_Group, _Group], bool],
    ) -> _Group:
        """Join ``group`` with every cluster in ``index`` it may join; ``index`` is left
        holding each distinct cluster once, this one included."""
        if not index:  # the first with this key: the common case
            index.append(group)
            return group
        roots: list[_Group] = []
        for candidate in index:
            other = candidate.root()
            if other is group or other in roots:
                continue
            if allowed(group, other):
                group = self._union(group, other)
            else:
                roots.append(other)
        roots.append(group)
        index[:] = roots
        return group

    def _union(self, a: _Group, b: _Group) -> _Group:
        # The older cluster survives, keeping its key and its place in the list.
        keep, gone = (a, b) if a.seq < b.seq else (b, a)
        keep.absorb(gone)
        self._roots.pop(gone.seq, None)
        return keep

    def _unique(self, key: str) -> str:
        unique, n = key, 1
        while unique in self._keys:
            n += 1
            unique = f"{key}-{n}"
        self._keys.add(unique)
        return unique


def work_key(cluster: Cluster) -> str:
    """A key shared by every edition of one work: folded title and first author's
    surname, without year or edition."""
    return next(filter(None, map(_match_key, cluster.records)), cluster.key)
