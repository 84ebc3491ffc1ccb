"""libgate's own catalogue: MARC records in one SQLite file, searched with FTS5 and
ranked by field-weighted BM25. Each thread has its own connection, and the file is in WAL
mode, so searches go on while an import writes."""

from __future__ import annotations

import os
import sqlite3
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from libgate.search._model import Record
from libgate.search._stored import records_from_json
from libgate.search.index._fts import WEIGHTS, match_expression
from libgate.search.index._import import Importer, ImportReport
from libgate.search.index._schema import SCHEMA, VERSION
from libgate.search.query import Query

_VOCABULARIES = """
CREATE VIRTUAL TABLE IF NOT EXISTS temp.words USING fts5vocab(main, records_fts, row);
CREATE VIRTUAL TABLE IF NOT EXISTS temp.column_words USING fts5vocab(main, records_fts, col);
"""
_SCAN_ALL = "SELECT term, doc FROM temp.words WHERE term >= ? ORDER BY term LIMIT ?"
_SCAN_COLUMN = (
    "SELECT term, doc FROM temp.column_words WHERE col = ? AND term >= ? ORDER BY term LIMIT ?"
)


class IndexUnusable(RuntimeError):
    """The index file cannot be used: not SQLite, or some other program's database."""


_LARGE_FILE = 20_000_000  # bytes; below this, starting worker processes costs more than it saves
_WEIGHTS = ", ".join(str(weight) for weight in WEIGHTS.values())
# Rank in a subquery: joined directly, SQLite would read every matching record's row
# (not just the page asked for) before sorting.
_SEARCH = f"""
SELECT r.record FROM records AS r JOIN (
    SELECT rowid, bm25(records_fts, {_WEIGHTS}) AS score FROM records_fts
    WHERE records_fts MATCH ? ORDER BY score, rowid LIMIT ? OFFSET ?
) AS hit ON r.id = hit.rowid ORDER BY hit.score, hit.rowid
"""  # noqa: S608 -- the weights are numbers from this module, never user input
_COUNT = "SELECT count(*) FROM records_fts WHERE records_fts MATCH ?"


class LocalIndex:
    """The catalogue index in the file at ``path``, created by the first import: until
    then (a service that only searches other catalogues) it is empty and no file is made.
    Records come back with ``source`` as their source (a search can name another: the
    target's)."""

    def __init__(self, path: Path | str, *, source: str = "local") -> None:
        self.path = Path(path)
        self.source = source
        self._lock = threading.Lock()
        self._local = threading.local()
        self._open: list[sqlite3.Connection] = []
        self._prepared = False
        self._available()

    def _available(self) -> bool:
        """Whether the index exists (opening it, the first time, checking what it is)."""
        if not self._prepared and self.path.exists():
            self._prepare()
            self._prepared = True
        return self._prepared

    def import_marc(
        self, source: Path | BinaryIO, *, replace_all: bool = False, workers: int | None = None
    ) -> ImportReport:
        """Add or replace (by native id) every record in a MARC 21 or MARCXML file; with
        ``replace_all``, also remove the records the file does not have. Records are
        converted in ``workers`` processes (default: one per CPU for a large file, else
        none). Raises NotMarc when the file is of another kind, OSError when it cannot be
        read."""
        if not self._prepared:
            self._prepare()
            self._prepared = True
        if workers is None:
            large = isinstance(source, Path) and source.stat().st_size >= _LARGE_FILE
            workers = (os.cpu_count() or 1) if large else 1
        importer = Importer(self._connection(), self.source, workers=workers)
        if isinstance(source, Path):
            with source.open("rb") as stream:
                return importer.run(stream, replace_all=replace_all)
        return importer.run(source, replace_all=replace_all)

    def search(
        self, query: Query, *, limit: int, offset: int = 0, source: str | None = None
    ) -> tuple[int, list[Record]]:
        """How many records match ``query``, and the best ``limit`` of them from
        ``offset`` on, most relevant first, with ``source`` (default: the index's own)."""
        expression = match_expression(query)
        if expression is None or not self._available():
            return 0, []
        connection = self._connection()
        with _snapshot(connection):
            (total,) = connection.execute(_COUNT, (expression,)).fetchone()
            rows = connection.execute(_SEARCH, (expression, limit, offset)).fetchall()
        return total, [self._decode(text, source or self.source) for (text,) in rows]

    def scan(self, field: str, start: str, count: int) -> list[tuple[str, int]]:
        """Up to ``count`` of the words indexed in ``field`` (a column, or "any" for all),
        in order from ``start`` on, each with how many records have it. Only forwards:
        FTS5 reads its vocabulary in order from a starting word cheaply, but backwards
        only by reading all of it."""
        if not self._available():
            return []
        connection = self._connection()
        if not getattr(self._local, "vocabularies", False):
            # Per connection (temp tables): views of the index's own word lists.
            connection.executescript(_VOCABULARIES)
            self._local.vocabularies = True
        if field == "any":
            rows = connection.execute(_SCAN_ALL, (start, count)).fetchall()
        else:
            rows = connection.execute(_SCAN_COLUMN, (field, start, count)).fetchall()
        return [(str(term), int(records)) for term, records in rows]

    def record(self, native_id: str) -> Record | None:
        if not self._available():
            return None
        row = (
            self._connection()
            .execute("SELECT record FROM records WHERE native_id = ?", (native_id,))
            .fetchone()
        )
        return None if row is None else self._decode(row[0], self.source)

    def raw_marc(self, native_id: str) -> bytes | None:
        """The record as ISO 2709 (UTF-8), as it was imported."""
        if not self._available():
            return None
        row = (
            self._connection()
            .execute("SELECT marc FROM records WHERE native_id = ?", (native_id,))
            .fetchone()
        )
        return None if row is None else zlib.decompress(row[0])

    def count(self) -> int:
        if not self._available():
            return 0
        (total,) = self._connection().execute("SELECT count(*) FROM records").fetchone()
        return int(total)

    def size_on_disk(self) -> int:
        """Bytes used by the index file and its write-ahead log."""
        files = [self.path, *(self.path.with_name(self.path.name + s) for s in ("-wal", "-shm"))]
        return sum(file.stat().st_size for file in files if file.exists())

    def close(self) -> None:
        """Close every thread's connection; later calls open new ones."""
        with self._lock:
            connections, self._open = self._open, []
            self._local = threading.local()
        for connection in connections:
            connection.close()

    @staticmethod
    def _decode(text: str, source: str) -> Record:
        (record,) = records_from_json(f"[{text}]")
        return record if record.source == source else _resourced(record, source)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            # check_same_thread off only so close() can close it from another thread:
            # each connection is still used by the one thread that opened it.
            connection = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA synchronous = NORMAL")
            with self._lock:
                self._open.append(connection)
                self._local.connection = connection
        return connection

    def _prepare(self) -> None:
        try:
            connection = self._connection()
            # Read together: another process may be creating the tables right now.
            with _snapshot(connection):
                (version,) = connection.execute("PRAGMA user_version").fetchone()
                (tables,) = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            self.close()
            raise IndexUnusable(
                f"cannot open {self.path} ({exc}): check that its folder exists and that "
                "libgate may write there"
            ) from None
        except sqlite3.DatabaseError as exc:
            self.close()
            raise IndexUnusable(f"{self.path} is not a catalogue index ({exc})") from None
        if version == VERSION:
            return
        if version != 0 or tables:
            self.close()
            raise IndexUnusable(
                f"{self.path} is not a libgate catalogue index (or was made by another "
                "version); give search.local_index a new file name"
            )
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.executescript(f"BEGIN; {SCHEMA} COMMIT;")
        except sqlite3.OperationalError as exc:  # e.g. an SQLite built without FTS5
            self.close()
            raise IndexUnusable(f"cannot create the catalogue index {self.path} ({exc})") from None


@contextmanager
def _snapshot(connection: sqlite3.Connection) -> Iterator[None]:
    """A read transaction, so the count and the records come from the same moment even
    while an import commits."""
    connection.execute("BEGIN")
    try:
        yield
    finally:
        connection.execute("COMMIT")


def _resourced(record: Record, source: str) -> Record:
    holdings = tuple(replace(holding, source=source) for holding in record.holdings)
    return replace(record, source=source, holdings=holdings)
