"""Writing a MARC file into the index: records stored by native id (so importing a file
again replaces its records), in batches, each batch one transaction. With workers, batches
are converted in other processes while this one writes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import BinaryIO, TypeVar

from libgate.search.index._convert import Row, convert
from libgate.search.index._fts import COLUMNS
from libgate.search.index._read import Damaged, Parsed, Raw, read_marc

_BATCH = 2000
_COLUMN_LIST = ", ".join(COLUMNS)
_INSERT = (
    f"INSERT INTO records (native_id, import_id, record, marc, {_COLUMN_LIST}) "  # noqa: S608
    f"VALUES (?, ?, ?, ?{', ?' * len(COLUMNS)})"
)
_UPDATE = (
    "UPDATE records SET import_id = ?, record = ?, marc = ?, "  # noqa: S608
    + ", ".join(f"{column} = ?" for column in COLUMNS)
    + " WHERE id = ?"
)
T = TypeVar("T")
Item = Raw | Parsed | Damaged


@dataclass
class ImportReport:
    """What an import did. ``problems``: each record skipped, where it is and why."""

    added: int = 0
    replaced: int = 0
    skipped: int = 0
    removed: int = 0  # with replace_all: records no longer in the catalogue
    problems: list[str] = field(default_factory=list)


class Importer:
    """One import into the index behind ``connection``, converting records in ``workers``
    processes (1: in this one)."""

    def __init__(self, connection: sqlite3.Connection, source: str, *, workers: int) -> None:
        self._connection = connection
        self._source = source
        self._workers = workers
        self.report = ImportReport()

    def run(self, stream: BinaryIO, *, replace_all: bool) -> ImportReport:
        batches = _batches(read_marc(stream), _BATCH)
        self._connection.execute("BEGIN IMMEDIATE")
        import_id = self._connection.execute(
            "INSERT INTO imports (started_at) VALUES (?)", (time.time(),)
        ).lastrowid
        self._connection.execute("COMMIT")
        for rows in self._converted(batches):
            self._write(rows, import_id)
        if replace_all:
            self._remove_others(import_id)
        return self.report

    def _converted(self, batches: Iterable[tuple[Item, ...]]) -> Iterator[list[Row | Damaged]]:
        if self._workers <= 1:
            for batch in batches:
                yield convert(batch, self._source)
            return
        # spawn: a fresh interpreter, never a fork of one that may hold threads and locks.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self._workers, mp_context=context) as pool:
            # A few batches in flight, in file order: enough to keep every worker busy
            # without reading a whole large file into memory.
            pending: deque[Future[list[Row | Damaged]]] = deque()
            for batch in batches:
                pending.append(pool.submit(convert, batch, self._source))
                if len(pending) > 2 * self._workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _write(self, rows: list[Row | Damaged], import_id: int | None) -> None:
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            for row in rows:
                if isinstance(row, Damaged):
                    self.report.skipped += 1
                    self.report.problems.append(f"{row.position}: {row.reason}")
                else:
                    self._store(row, import_id)
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def _store(self, row: Row, import_id: int | None) -> None:
        values = (row.record, row.marc, *row.text)
        found = self._connection.execute(
            "SELECT id FROM records WHERE native_id = ?", (row.native_id,)
        ).fetchone()
        if found is None:
            self._connection.execute(_INSERT, (row.native_id, import_id, *values))
            self.report.added += 1
        else:
            self._connection.execute(_UPDATE, (import_id, *values, found[0]))
            self.report.replaced += 1

    def _remove_others(self, import_id: int | None) -> None:
        if not (self.report.added or self.report.replaced):
            self.report.problems.append(
                "no record could be imported, so the catalogue was left as it was"
            )
            return
        self._connection.execute("BEGIN IMMEDIATE")
        removed = self._connection.execute(
            "DELETE FROM records WHERE import_id != ?", (import_id,)
        ).rowcount
        self._connection.execute("COMMIT")
        self.report.removed = removed


def _batches(items: Iterator[T], size: int) -> Iterator[tuple[T, ...]]:
    while batch := tuple(islice(items, size)):
        yield batch
