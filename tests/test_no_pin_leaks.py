"""After the whole suite, no PIN typed in it appears in clear in any log, database dump or
audit entry. Runs last: it reads what every other test left behind. ``make test`` runs it on
its own once the other tests have finished in parallel processes
(``pytest --check-previous-run``); a plain ``pytest`` runs it last in the same process."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import LEFT_FOR_LEAK_CHECK
from tests.support import pins


def files_containing(
    secret_values: set[str], roots: list[Path], *, skip: Path | None = None
) -> dict[str, list[str]]:
    """Which secret values occur, byte for byte, in which files under the roots. CSV files
    are the tests' own input (patron imports) and, with the folder ``skip``, the only files
    left out."""
    found: dict[str, list[str]] = {}
    if not secret_values:
        return found
    # One pass over each file for all the values, not one per value.
    longest_first = sorted(secret_values, key=len, reverse=True)
    needles = re.compile(b"|".join(re.escape(value.encode()) for value in longest_first))
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.suffix == ".csv":
                continue
            if skip is not None and path.is_relative_to(skip):
                continue
            for needle in set(needles.findall(path.read_bytes())):
                found.setdefault(needle.decode(), []).append(str(path))
    return found


def test_the_scanner_finds_a_planted_pin(tmp_path: Path) -> None:
    planted = tmp_path / "server.log"
    planted.write_text('{"msg": "sign-in", "pin": "Kq00000042Zx"}')
    (tmp_path / "patrons.csv").write_text("card,pin\n1,Kq00000042Zx\n")
    assert files_containing({"Kq00000042Zx", "Kq00000043Zx"}, [tmp_path]) == {
        "Kq00000042Zx": [str(planted)]
    }


def test_the_scanner_finds_every_pin_in_one_file(tmp_path: Path) -> None:
    planted = tmp_path / "dump.txt"
    planted.write_bytes(b"\x00Kq00000001Zx..Kq00000002Zx\nKq0000000Zx")
    wanted = {"Kq00000001Zx", "Kq00000002Zx", "Kq00000003Zx"}
    assert files_containing(wanted, [tmp_path]) == {
        "Kq00000001Zx": [str(planted)],
        "Kq00000002Zx": [str(planted)],
    }


@pytest.mark.last
def test_no_pin_used_in_the_suite_was_stored_or_logged_in_clear(
    artifacts: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # What this process typed, and what every process of the run before left on record.
    records = [json.loads(path.read_text()) for path in LEFT_FOR_LEAK_CHECK.glob("*.json")]
    used = set(pins.USED).union(*(record["pins"] for record in records))
    if not used:
        pytest.skip("run the whole suite: no test before this one typed a PIN")
    dumps = list((artifacts / "dumps").glob("*.txt"))
    logs = list((artifacts / "logs").glob("*.log"))
    assert dumps and logs, "the suite left no database dumps or logs to check"
    # The dumps hold every row (audit entries included); the temp folders hold the raw
    # SQLite files of every test, free pages and write-ahead logs too.
    temporary = {tmp_path_factory.getbasetemp(), *(Path(r["temporary"]) for r in records)}
    roots = [artifacts, *sorted(folder for folder in temporary if folder.exists())]
    assert files_containing(used, roots, skip=LEFT_FOR_LEAK_CHECK) == {}
