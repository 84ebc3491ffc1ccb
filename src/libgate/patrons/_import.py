from __future__ import annotations

import csv
import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import String, delete, insert

from libgate.db import Database
from libgate.db.tables import patrons
from libgate.patrons._pins import PinHasher
from libgate.patrons._signin import normalise_card

_BATCH = 500  # stays under SQLite's bound-parameter limit
REQUIRED_HEADER = ("card", "pin", "name", "email", "expires", "branch", "category")


@dataclass
class ImportReport:
    imported: int = 0
    problems: list[str] = field(default_factory=list)


class PatronFileUnreadable(Exception):
    """The file as a whole cannot be read as a patron CSV: nothing is imported."""


def _read_text(path: Path) -> str:
    """The file's text; a file in another encoding is refused as a whole rather than row by
    row, since every row of it may be misread."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PatronFileUnreadable(
            f"{path.name} is not UTF-8 (line {line} is the first that is not); save it as "
            '"CSV UTF-8" and import it again. Nothing was imported.'
        ) from exc


def _check_shape(line: int, fields: int, width: int) -> str | None:
    """Too few or too many fields (often a comma in an unquoted name). No value is quoted:
    misaligned, any of them could be the PIN."""
    if fields == width:
        return None
    return f"line {line}: {fields} field(s) where the header has {width}"


def _max_length(column: str) -> int:
    kind = patrons.c[column].type
    assert isinstance(kind, String) and kind.length is not None
    return kind.length


# A value longer than its column would fail the whole import, not just its row.
_MAX_LENGTHS = {name: _max_length(name) for name in ("card", "name", "email", "branch", "category")}


def _check_lengths(line: int, row: dict[str, str]) -> str | None:
    for name, limit in _MAX_LENGTHS.items():
        value = normalise_card(row[name]) if name == "card" else row[name].strip()
        if len(value) > limit:
            return f"line {line}: the {name} is longer than {limit} characters"
    return None


def _check_row(line: int, row: dict[str, str]) -> str | None:
    """A plain-words problem with one CSV row, or None. Never quotes the PIN."""
    if not normalise_card(row.get("card") or ""):
        return f"line {line}: the card number is empty"
    pin = row.get("pin") or ""
    if len(pin) < 4:
        return f"line {line}: the PIN for card {row['card']} is shorter than 4 characters"
    expires = (row.get("expires") or "").strip()
    if expires:
        try:
            dt.date.fromisoformat(expires)
        except ValueError:
            return f"line {line}: expiry date {expires!r} is not YYYY-MM-DD"
    email = (row.get("email") or "").strip()
    if email and "@" not in email:
        return f"line {line}: email {email!r} has no @"
    return _check_lengths(line, row)


class _RowSorter:
    """Sorts rows into good ones and reported problems. A card's first line decides: a later
    line for the same card (after normalising) is reported, never imported over it."""

    def __init__(self, header: list[str], report: ImportReport) -> None:
        self.good: list[dict[str, str]] = []
        self._header = header
        self._report = report
        self._first_line: dict[str, int] = {}

    def add(self, line: int, fields: list[str]) -> None:
        problem = _check_shape(line, len(fields), len(self._header))
        if problem is None:
            row = dict(zip(self._header, fields, strict=True))
            problem = self._check_repeat(line, row) or _check_row(line, row)
            if problem is None:
                self.good.append(row)
        if problem is not None:
            self._report.problems.append(problem)

    def _check_repeat(self, line: int, row: dict[str, str]) -> str | None:
        card = normalise_card(row["card"])
        if not card:
            return None
        first = self._first_line.setdefault(card, line)
        if first == line:
            return None
        return f"line {line}: card {row['card']} repeats line {first}; only its first line is used"


async def import_patrons_csv(database: Database, path: Path, hasher: PinHasher) -> ImportReport:
    """Add or replace patrons from a CSV file with the header
    ``card,pin,name,email,expires,branch,category``. Rows with problems are reported and
    skipped; the rest are imported. PINs are stored only as Argon2id hashes. Raises
    :class:`PatronFileUnreadable` for a file that is not UTF-8."""
    report = ImportReport()
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    header = next(reader, [])
    missing = [c for c in REQUIRED_HEADER if c not in header]
    if missing:
        expected, absent = ",".join(REQUIRED_HEADER), ",".join(missing)
        report.problems.append(f"{path.name}: header must be {expected}; missing {absent}")
        return report
    sorter = _RowSorter(header, report)
    for fields in reader:
        if fields:  # blank lines are no rows (as csv.DictReader has it)
            # line_num counts physical lines: true after blank lines and quoted line breaks.
            sorter.add(reader.line_num, fields)
    good = sorter.good
    # Argon2 releases the GIL: hash on every core.
    with ThreadPoolExecutor() as pool:
        hashes = list(pool.map(hasher.hash, (row["pin"] for row in good)))
    values = [
        {
            "card": normalise_card(row["card"]),
            "pin_hash": pin_hash,
            "name": row["name"].strip(),
            "email": row["email"].strip(),
            "expires": row["expires"].strip() or None,
            "branch": row["branch"].strip(),
            "category": row["category"].strip(),
            "blocked": (row.get("blocked") or "").strip().lower() in {"1", "yes", "true", "y"},
        }
        for row, pin_hash in zip(good, hashes, strict=True)
    ]
    async with database.transaction() as connection:
        for start in range(0, len(values), _BATCH):
            batch = values[start : start + _BATCH]
            await connection.execute(
                delete(patrons).where(patrons.c.card.in_([v["card"] for v in batch]))
            )
            await connection.execute(insert(patrons), batch)
    report.imported = len(values)
    return report
