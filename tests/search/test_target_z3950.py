"""Z39.50 targets (YAZ's ZOOM through ctypes) against real Zebra servers: the same
answers as SRU from the same server, and what happens without libyaz."""

from __future__ import annotations

from typing import Any

import pytest

from libgate.config import TargetSettings
from libgate.search import TargetAnswer, TargetError
from libgate.search.query import Query, Term, parse
from libgate.search.records import normalise_isbn
from libgate.search.targets import _yaz
from libgate.search.targets._sru import SruTarget
from libgate.search.targets._z3950 import YAZ_MISSING, Z3950Target
from libgate.testing.zebra import ZebraServer
from tests.support.zebra import sru_settings, z3950_settings, zebras_fixture  # noqa: F401

QUERIES = [
    "history",
    "title:history",
    'title:"united states"',
    "author:smith",
    "author:grönings",  # "Gröning" with a combining diaeresis in the record
    "author:gronings",
    "subject:history",
    "war AND NOT title:war",
    "poetry OR poems",
]


async def z3950_search(
    server: ZebraServer, query: Query, limit: int = 100, **overrides: Any
) -> TargetAnswer:
    target = Z3950Target("south", z3950_settings(server, title="South Borough", **overrides))
    try:
        return await target.search(query, limit=limit)
    finally:
        await target.aclose()


async def sru_search(server: ZebraServer, query: Query, limit: int = 100) -> TargetAnswer:
    target = SruTarget("south", sru_settings(server))
    try:
        return await target.search(query, limit=limit)
    finally:
        await target.aclose()


@pytest.mark.parametrize("text", QUERIES)
async def test_z3950_and_sru_find_the_same_records_on_the_same_server(
    zebras: list[ZebraServer], text: str
) -> None:
    query = parse(text)
    over_z3950 = await z3950_search(zebras[1], query)
    over_sru = await sru_search(zebras[1], query)
    print(f"{text}: {over_z3950.hits} hits")
    assert over_z3950.hits == over_sru.hits > 0
    assert over_z3950.records == over_sru.records


async def test_records_come_back_converted_from_marc(zebras: list[ZebraServer]) -> None:
    result = await z3950_search(zebras[0], Term("history"), limit=10)
    assert result.hits > 10
    assert len(result.records) == 10
    assert all(record.title and record.native_id for record in result.records)
    assert {record.source for record in result.records} == {"south"}
    assert result.diagnostics == ()


async def test_an_isbn_search_finds_that_edition(zebras: list[ZebraServer]) -> None:
    # The first record in the sample with an ISBN has 020 $a 0836932722.
    result = await z3950_search(zebras[0], Term("0836932722", field="isbn"))
    assert result.hits == 1
    assert result.records[0].isbns == (normalise_isbn("0836932722"),)


async def test_fewer_records_are_fetched_when_the_settings_say_so(
    zebras: list[ZebraServer],
) -> None:
    result = await z3950_search(zebras[0], Term("history"), limit=100, records=4)
    assert len(result.records) == 4


async def test_an_attribute_the_server_lacks_fails_the_search_with_its_message(
    zebras: list[ZebraServer],
) -> None:
    with pytest.raises(TargetError, match="South Borough could not run the search: Unsupported"):
        await z3950_search(zebras[0], Term("history", field="title"), indexes={"title": "9999"})


async def test_a_field_without_an_attribute_there_is_searched_as_any_word_with_a_note(
    zebras: list[ZebraServer],
) -> None:
    result = await z3950_search(zebras[0], Term("history", field="isbn"), indexes={})
    assert result.hits == (await z3950_search(zebras[0], Term("history"))).hits
    assert result.diagnostics == ("isbn searches are not supported here; searched as any word",)


async def test_without_libyaz_z3950_targets_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_yaz, "_load", lambda: None)
    settings = TargetSettings.model_validate({"protocol": "z3950", "url": "127.0.0.1:9/Default"})
    target = Z3950Target("south", settings)
    with pytest.raises(TargetError) as missing:
        await target.search(Term("history"), limit=10)
    await target.aclose()
    assert str(missing.value) == YAZ_MISSING
