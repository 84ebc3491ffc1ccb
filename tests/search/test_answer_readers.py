"""SRU answers read in worker processes (``search.reader_processes``): the same records as
reading in a thread, refusals in the same plain words, and a reader that dies costs one
answer, not the search service."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from libgate.search import TargetError
from libgate.search.query import Term
from libgate.search.targets import AnswerReaders, SruTarget
from libgate.search.targets._readers import ReaderStopped
from libgate.testing.zebra import ZebraServer
from tests.search.test_hostile_targets import billion_laughs
from tests.support.http_stub import answer, http_stub, sru_at
from tests.support.zebra import sru_settings, zebras_fixture  # noqa: F401

HISTORY = Term("history")


@pytest.fixture
async def readers() -> AsyncIterator[AnswerReaders]:
    processes = AnswerReaders(2)
    yield processes
    processes.close()


async def test_records_read_in_worker_processes_are_those_read_in_a_thread(
    zebras: list[ZebraServer], readers: AnswerReaders
) -> None:
    settings = sru_settings(zebras[0], title="North Shire")
    in_thread = SruTarget("north", settings)
    in_process = SruTarget("north", settings, readers=readers)
    try:
        expected = await in_thread.search(HISTORY, limit=50)
        found = await in_process.search(HISTORY, limit=50)
    finally:
        await in_thread.aclose()
        await in_process.aclose()
    assert expected.records, "the sample catalogue should match 'history'"
    assert found == expected


async def test_a_hostile_answer_is_refused_in_the_same_words_by_a_worker_process(
    readers: AnswerReaders,
) -> None:
    async with http_stub(answer(billion_laughs())) as stub:
        target = SruTarget("east", sru_at(stub.url, title="East"), readers=readers)
        try:
            with pytest.raises(TargetError) as refused:
                await target.search(HISTORY, limit=10)
        finally:
            await target.aclose()
    assert str(refused.value).startswith("East sent an answer libgate refused")
    assert "DOCTYPE" in str(refused.value)


async def test_a_reader_that_dies_fails_one_answer_and_fresh_readers_take_over(
    readers: AnswerReaders,
) -> None:
    with pytest.raises(ReaderStopped):
        await readers.run(os._exit, 1)  # a worker killed mid-read, as by the OOM killer
    assert await readers.run(len, b"read again") == 10


async def test_a_dead_reader_shows_as_the_targets_error_in_plain_words(
    zebras: list[ZebraServer], readers: AnswerReaders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("libgate.search.targets._sru._read", _die_reading)
    target = SruTarget("north", sru_settings(zebras[0], title="North Shire"), readers=readers)
    try:
        with pytest.raises(TargetError) as refused:
            await target.search(HISTORY, limit=10)
    finally:
        await target.aclose()
    assert str(refused.value) == (
        "North Shire's answer could not be read: libgate's reading process stopped "
        "(see the system log)"
    )


def _die_reading(*_: object) -> None:
    os._exit(1)
