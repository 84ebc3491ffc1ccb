"""SRU targets against real Zebra servers: searches by word, title, ISBN and subject,
every SRU version, MARCXML and Dublin Core, and what the server cannot do."""

from __future__ import annotations

import base64
import re
from typing import Any

import pymarc
import pytest

from libgate.search import TargetAnswer, TargetError
from libgate.search.query import Query, Term
from libgate.search.targets._sru import SruTarget
from libgate.testing.processes import free_port
from libgate.testing.zebra import ZebraServer
from tests.support.http_stub import answer, http_stub, sru_at
from tests.support.zebra import SLICES, marc_records, sru_settings, zebras_fixture  # noqa: F401

HISTORY = Term("history")


async def sru_search(
    server: ZebraServer, query: Query, limit: int = 100, **overrides: Any
) -> TargetAnswer:
    target = SruTarget("north", sru_settings(server, title="North Shire", **overrides))
    try:
        return await target.search(query, limit=limit)
    finally:
        await target.aclose()


def slice_of(index: int) -> list[pymarc.Record]:
    start, stop = SLICES[index]
    return [pymarc.Record(data=raw) for raw in marc_records()[start:stop]]


def subfields(marc: pymarc.Record, tag: str, code: str) -> list[str]:
    return [value for field in marc.get_fields(tag) for value in field.get_subfields(code)]


def control_number(marc: pymarc.Record) -> str:
    return (marc["001"].data or "").strip()


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


async def test_a_word_search_brings_back_records_in_the_common_model(
    zebras: list[ZebraServer],
) -> None:
    result = await sru_search(zebras[0], HISTORY)
    print(f"history: {result.hits} hits")
    assert 0 < result.hits < 1000
    assert len(result.records) == min(result.hits, 100)
    assert all(record.title for record in result.records)
    assert {record.source for record in result.records} == {"north"}
    assert all(record.native_id for record in result.records)
    assert result.diagnostics == ()


async def test_a_title_search_finds_a_subset_of_the_word_search(
    zebras: list[ZebraServer],
) -> None:
    anywhere = await sru_search(zebras[0], HISTORY, limit=1)
    in_titles = await sru_search(zebras[0], Term("history", field="title"), limit=1)
    print(f"history: {anywhere.hits} anywhere, {in_titles.hits} in titles")
    assert 0 < in_titles.hits < anywhere.hits


async def test_an_isbn_search_finds_that_edition(zebras: list[ZebraServer]) -> None:
    marc, isbn = next(
        (marc, isbns[0]) for marc in slice_of(0) if (isbns := subfields(marc, "020", "a"))
    )
    isbn = words(isbn)[0]
    result = await sru_search(zebras[0], Term(isbn, field="isbn"))
    assert result.hits == 1
    assert result.records[0].native_id == control_number(marc)


async def test_a_subject_search_finds_the_records_with_that_heading(
    zebras: list[ZebraServer],
) -> None:
    expected = {
        control_number(marc)
        for marc in slice_of(0)
        if any("history" in words(heading) for heading in subfields(marc, "650", "a"))
    }
    print(f"{len(expected)} records have 'history' in a subject heading")
    result = await sru_search(zebras[0], Term("history", field="subject"))
    assert {record.native_id for record in result.records} == expected


@pytest.mark.parametrize("version", ["1.1", "1.2", "2.0"])
async def test_every_sru_version_gets_the_same_answer(
    zebras: list[ZebraServer], version: str
) -> None:
    baseline = await sru_search(zebras[1], HISTORY)
    result = await sru_search(zebras[1], HISTORY, sru_version=version)
    assert result.hits == baseline.hits
    assert [r.native_id for r in result.records] == [r.native_id for r in baseline.records]


@pytest.mark.parametrize("version", ["1.2", "2.0"])
async def test_dublin_core_records_are_read_too(zebras: list[ZebraServer], version: str) -> None:
    marcxml = await sru_search(zebras[2], HISTORY, limit=20)
    dc = await sru_search(zebras[2], HISTORY, limit=20, record_schema="dc", sru_version=version)
    assert dc.hits == marcxml.hits
    assert len(dc.records) == len(marcxml.records)
    assert all(record.title for record in dc.records)
    for from_dc, from_marcxml in zip(dc.records, marcxml.records, strict=True):
        assert from_marcxml.title.casefold() in from_dc.title.casefold()


async def test_fewer_records_are_fetched_when_fewer_are_wanted(
    zebras: list[ZebraServer],
) -> None:
    by_limit = await sru_search(zebras[0], HISTORY, limit=5)
    by_setting = await sru_search(zebras[0], HISTORY, limit=100, records=3)
    assert (len(by_limit.records), len(by_setting.records)) == (5, 3)
    assert by_limit.hits == by_setting.hits > 5


async def test_an_index_the_server_lacks_fails_the_search_with_its_message(
    zebras: list[ZebraServer],
) -> None:
    target = sru_settings(zebras[0], indexes={"title": "dc.nonsense"}, title="North Shire")
    with pytest.raises(TargetError, match="North Shire could not run the search: Unsupported"):
        await SruTarget("north", target).search(Term("history", field="title"), limit=10)


async def test_a_field_without_an_index_there_is_searched_as_any_word_with_a_note(
    zebras: list[ZebraServer],
) -> None:
    result = await sru_search(zebras[0], Term("history", field="subject"), indexes={})
    anywhere = await sru_search(zebras[0], HISTORY)
    assert result.hits == anywhere.hits
    assert result.diagnostics == ("subject searches are not supported here; searched as any word",)


async def test_credentials_go_as_basic_auth_and_never_into_errors() -> None:
    empty = (
        b'<searchRetrieveResponse xmlns="http://www.loc.gov/zing/srw/">'
        b"<version>1.2</version><numberOfRecords>0</numberOfRecords></searchRetrieveResponse>"
    )
    credentials = {"username": "libgate", "password": "s3cret-pw"}
    async with http_stub(answer(empty)) as stub:
        target = SruTarget("north", sru_at(stub.url, **credentials))
        result = await target.search(HISTORY, limit=10)
        await target.aclose()
    head = stub.requests[0].decode()
    sent = [line.split(":", 1)[1].strip() for line in head.splitlines() if ":" in line]
    token = base64.b64encode(b"libgate:s3cret-pw").decode()
    assert result.hits == 0
    assert f"Basic {token}" in sent

    nowhere = f"http://libgate:s3cret-pw@127.0.0.1:{free_port()}/sru"
    target = SruTarget("north", sru_at(nowhere, **credentials))
    with pytest.raises(TargetError) as refused:
        await target.search(HISTORY, limit=10)
    await target.aclose()
    assert "s3cret" not in str(refused.value)


@pytest.mark.parametrize("url", ["", "catalogue.example", "ftp://127.0.0.1/sru", "http://[::1/"])
async def test_an_unusable_address_is_reported_as_a_setting_to_fix(url: str) -> None:
    target = SruTarget("north", sru_at(url, title="North Shire"))
    with pytest.raises(TargetError, match="North Shire has no usable address: its url setting"):
        await target.search(HISTORY, limit=10)
    await target.aclose()
