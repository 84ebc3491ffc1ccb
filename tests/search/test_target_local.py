"""The local catalogue index behind the search-target seam: answers from worker threads,
many at once, with a note when the catalogue is empty and a TargetError when the index
cannot be read."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from libgate.config import TargetSettings
from libgate.demo import SAMPLE_CATALOGUE
from libgate.search import Record, TargetError
from libgate.search.index import LocalIndex
from libgate.search.query import Boolean, Query, Term
from libgate.search.targets._local import LocalTarget

SETTINGS = TargetSettings.model_validate({"protocol": "local", "title": "This library"})


@pytest.fixture
async def target(tmp_path: Path) -> AsyncIterator[LocalTarget]:
    index = LocalIndex(tmp_path / "catalogue.db")  # as the CLI fills it: source "local"
    index.import_marc(SAMPLE_CATALOGUE)
    local = LocalTarget("home", SETTINGS, index)
    yield local
    await local.aclose()


async def test_a_search_answers_with_the_hit_count_and_the_best_records(
    target: LocalTarget,
) -> None:
    answer = await target.search(Term("history"), limit=25)
    assert answer.hits > 25
    assert len(answer.records) == 25
    assert all(record.source == "home" for record in answer.records)
    assert answer.diagnostics == ()


class WatchedIndex(LocalIndex):
    """Notes the thread each search runs in."""

    threads: set[int]

    def search(
        self, query: Query, *, limit: int, offset: int = 0, source: str | None = None
    ) -> tuple[int, list[Record]]:
        self.threads.add(threading.get_ident())
        return super().search(query, limit=limit, offset=offset, source=source)


async def test_searches_run_in_worker_threads_and_many_at_once(tmp_path: Path) -> None:
    index = WatchedIndex(tmp_path / "catalogue.db", source="home")
    index.threads = set()
    index.import_marc(SAMPLE_CATALOGUE)
    target = LocalTarget("home", SETTINGS, index)
    words = ["history", "war", "poetry", "law", "church", "women", "music", "art"] * 4
    answers = await asyncio.gather(*(target.search(Term(word), limit=10) for word in words))
    assert index.threads and threading.get_ident() not in index.threads
    assert [answer.hits for answer in answers[:8]] == [answer.hits for answer in answers[8:16]]
    assert all(answer.hits > 0 for answer in answers)
    await target.aclose()


async def test_an_empty_catalogue_says_how_to_fill_it(tmp_path: Path) -> None:
    target = LocalTarget("home", SETTINGS, LocalIndex(tmp_path / "empty.db", source="home"))
    answer = await target.search(Term("history"), limit=10)
    assert answer.hits == 0
    assert "libgate catalogue import" in answer.diagnostics[0]
    await target.aclose()


async def test_no_note_when_the_catalogue_has_records_but_none_match(target: LocalTarget) -> None:
    answer = await target.search(Boolean("and", Term("history"), Term("qqqzzz")), limit=10)
    assert (answer.hits, answer.records, answer.diagnostics) == (0, (), ())


async def test_an_index_that_cannot_be_read_is_a_target_error(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.db"
    index = LocalIndex(path, source="home")
    index.import_marc(SAMPLE_CATALOGUE)
    index.close()
    with path.open("r+b") as damaged:  # keep the header, wreck the pages after it
        damaged.seek(4096)
        damaged.write(b"\xff" * 200_000)
    target = LocalTarget("home", SETTINGS, LocalIndex(path, source="home"))
    with pytest.raises(TargetError, match="could not be searched"):
        await target.search(Term("history"), limit=10)
    await target.aclose()


async def test_closing_the_target_lets_a_later_search_reopen_the_index(
    target: LocalTarget,
) -> None:
    before = await target.search(Term("lincoln"), limit=5)
    await target.aclose()
    assert await target.search(Term("lincoln"), limit=5) == before
