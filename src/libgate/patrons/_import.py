from __future__ import annotations

import csv
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, insert

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
    return None


async def import_patrons_csv(database: Database, path: Path, hasher: PinHasher) -> ImportReport:
    """Add or replace patrons from a CSV file with the header
    ``card,pin,name,email,expires,branch,category``. Rows with problems are reported and
    skipped; the rest are imported. PINs are stored only as Argon2id hashes."""
    report = ImportReport()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_HEADER if c not in (reader.fieldnames or [])]
        if missing:
            expected, absent = ",".join(REQUIRED_HEADER), ",".join(missing)
            report.problems.append(f"{path.name}: header must be {expected}; missing {absent}")
            return report
        good: list[dict[str, str]] = []
        for line, row in enumerate(reader, start=2):
            problem = _check_row(line, row)
            if problem:
                report.problems.append(problem)
            else:
                good.append(row)
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
