"""After the whole suite, no PIN typed in it appears in clear in any log, database dump or
audit entry. Runs last: it reads what every other test left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import pins


def files_containing(secret_values: set[str], roots: list[Path]) -> dict[str, list[str]]:
    """Which secret values occur, byte for byte, in which files under the roots. CSV files
    are the tests' own input (patron imports) and are the only files left out."""
    found: dict[str, list[str]] = {}
    needles = {value: value.encode() for value in secret_values}
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.suffix == ".csv":
                continue
            data = path.read_bytes()
            for value, needle in needles.items():
                if needle in data:
                    found.setdefault(value, []).append(str(path))
    return found


def test_the_scanner_finds_a_planted_pin(tmp_path: Path) -> None:
    planted = tmp_path / "server.log"
    planted.write_text('{"msg": "sign-in", "pin": "Kq00000042Zx"}')
    assert files_containing({"Kq00000042Zx"}, [tmp_path]) == {"Kq00000042Zx": [str(planted)]}


@pytest.mark.last
def test_no_pin_used_in_the_suite_was_stored_or_logged_in_clear(
    artifacts: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not pins.USED:
        pytest.skip("run the whole suite: no test before this one typed a PIN")
    dumps = list((artifacts / "dumps").glob("*.txt"))
    logs = list((artifacts / "logs").glob("*.log"))
    assert dumps and logs, "the suite left no database dumps or logs to check"
    # The dumps hold every row (audit entries included); the temp folders hold the raw
    # SQLite files of every test, free pages and write-ahead logs too.
    roots = [artifacts, tmp_path_factory.getbasetemp()]
    assert files_containing(pins.USED, roots) == {}
