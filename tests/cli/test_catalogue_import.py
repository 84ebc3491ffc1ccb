"""`libgate catalogue import` and `stats`, run as real processes in a scratch folder, the
index named by configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from libgate.demo import SAMPLE_CATALOGUE
from libgate.search.index import LocalIndex
from libgate.search.query import Term
from libgate.testing.processes import libgate_env


def catalogue(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "libgate", "catalogue", *args],
        cwd=folder,
        env={**libgate_env("sqlite:///unused.db", "http://libgate.test"), "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_fills_the_configured_index_and_a_second_import_replaces(tmp_path: Path) -> None:
    first = catalogue(tmp_path, "import", str(SAMPLE_CATALOGUE))
    assert first.returncode == 0, first.stderr
    assert "Added 2,000, replaced 0, skipped 0 record(s)" in first.stdout
    again = catalogue(tmp_path, "import", str(SAMPLE_CATALOGUE))
    assert "Added 0, replaced 2,000, skipped 0" in again.stdout
    assert "now holds 2,000 record(s)" in again.stdout

    index = LocalIndex(tmp_path / "catalogue.db")  # the default, in the current folder
    assert index.count() == 2000
    assert index.search(Term("lincoln", field="title"), limit=10)[0] >= 1
    index.close()

    stats = catalogue(tmp_path, "stats")
    assert stats.returncode == 0, stats.stderr
    assert "records: 2,000" in stats.stdout
    assert "MB" in stats.stdout


def test_import_uses_the_index_named_in_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "libgate.toml"
    config.write_text('[search]\nlocal_index = "data/books.db"\n')  # its folder is made
    done = catalogue(tmp_path, "import", str(SAMPLE_CATALOGUE), "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "books.db").exists()
    assert not (tmp_path / "catalogue.db").exists()


def test_replace_all_reloads_the_whole_catalogue(tmp_path: Path) -> None:
    catalogue(tmp_path, "import", str(SAMPLE_CATALOGUE))
    first_record = SAMPLE_CATALOGUE.read_bytes()[: int(SAMPLE_CATALOGUE.read_bytes()[:5])]
    (tmp_path / "one.mrc").write_bytes(first_record)
    done = catalogue(tmp_path, "import", "one.mrc", "--replace-all")
    assert done.returncode == 0, done.stderr
    assert "replaced 1" in done.stdout and "removed 1,999" in done.stdout
    assert "records: 1\n" in catalogue(tmp_path, "stats").stdout


def test_damaged_records_are_named_in_plain_words_and_the_rest_imported(tmp_path: Path) -> None:
    data = SAMPLE_CATALOGUE.read_bytes()
    ends = [0]
    while len(ends) < 8:
        ends.append(ends[-1] + int(data[ends[-1] : ends[-1] + 5]))
    damaged = data[: ends[3]] + b"[not a record]\x1d" + data[ends[3] : ends[7] - 10]
    (tmp_path / "damaged.mrc").write_bytes(damaged)
    done = catalogue(tmp_path, "import", "damaged.mrc")
    assert done.returncode == 0, done.stderr
    assert "Added 6, replaced 0, skipped 2 record(s)" in done.stdout
    assert f"skipped record 4 (byte {ends[3]:,}): does not start with a record length" in (
        done.stderr
    )
    assert "skipped record 8" in done.stderr and "is it truncated?" in done.stderr


def test_a_missing_or_unreadable_or_foreign_file_is_refused_with_exit_1(tmp_path: Path) -> None:
    (tmp_path / "patrons.csv").write_text("card,pin,name\n1234,0000,Ada\n")
    for name, words in [
        ("missing.mrc", "cannot read missing.mrc"),
        (".", "cannot read ."),
        ("patrons.csv", "neither MARC 21 (ISO 2709) nor MARCXML"),
    ]:
        refused = catalogue(tmp_path, "import", name)
        assert refused.returncode == 1
        assert "Nothing imported" in refused.stderr and words in refused.stderr
        assert "Traceback" not in refused.stderr


def test_stats_before_any_import_says_how_to_start(tmp_path: Path) -> None:
    shown = catalogue(tmp_path, "stats")
    assert shown.returncode == 0
    assert "No catalogue index" in shown.stdout and "catalogue import FILE" in shown.stdout
    assert not (tmp_path / "catalogue.db").exists()


def test_a_database_that_is_not_a_catalogue_index_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "libgate.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    refused = catalogue(
        tmp_path, "import", str(SAMPLE_CATALOGUE), LIBGATE_SEARCH__LOCAL_INDEX="libgate.db"
    )
    assert refused.returncode == 1
    assert "Cannot use the catalogue index" in refused.stderr


def test_an_index_where_none_can_be_made_is_a_plain_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    refused = catalogue(
        tmp_path,
        "import",
        str(SAMPLE_CATALOGUE),
        LIBGATE_SEARCH__LOCAL_INDEX=str(tmp_path / "a-file" / "catalogue.db"),
    )
    assert refused.returncode == 1
    assert "Cannot use the catalogue index" in refused.stderr
    assert "Traceback" not in refused.stderr
