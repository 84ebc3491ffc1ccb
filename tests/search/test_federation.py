"""One search across real catalogues: three Zebra servers (two over SRU, one over Z39.50)
holding overlapping slices of the Library of Congress sample, libgate's local index, and a
server that accepts the connection and never answers. Results merge into editions, every
target's status is reported, and a dead or silent target never holds the others back."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from libgate.config import Settings
from libgate.db import Database
from libgate.db.tables import search_results, search_sessions
from libgate.demo import SAMPLE_CATALOGUE
from libgate.privacy import Pseudonyms
from libgate.search import QuerySyntaxError, SearchService, build_search
from libgate.search.index import LocalIndex
from libgate.search.query import parse
from libgate.search.targets import SruTarget
from libgate.testing.zebra import ZebraServer
from tests.support.http_stub import silent_listener
from tests.support.zebra import sru_settings, start_sample_zebra, z3950_settings, zebras_fixture

__all__ = ["zebras_fixture"]  # the fixture, shared by every module that imports it

SILENT_TIMEOUT = 0.5


def search_settings(
    database_url: str, tmp_path: Path, targets: dict[str, Any], **search: Any
) -> Settings:
    return Settings.model_validate(
        {
            "database_url": database_url,
            "search": {
                "local_index": str(tmp_path / "catalogue.db"),
                "targets": targets,
                "max_wait_seconds": 20,
                **search,
            },
        }
    )


@contextlib.asynccontextmanager
async def searching(database_url: str, settings: Settings) -> AsyncIterator[SearchService]:
    """A search service of its own (another libgate instance, as far as it knows)."""
    database = Database(database_url)
    service, _ = build_search(settings, database, Pseudonyms(b"test-key"))
    try:
        yield service
    finally:
        await service.aclose()
        await database.dispose()


@pytest.fixture
async def catalogues(
    database_url: str, tmp_path: Path, zebras: list[ZebraServer]
) -> AsyncIterator[tuple[SearchService, Database]]:
    LocalIndex(tmp_path / "catalogue.db").import_marc(SAMPLE_CATALOGUE)
    async with silent_listener() as silent_port:
        targets = {
            "local": {"protocol": "local", "title": "This library"},
            "north": sru_settings(zebras[0], title="North").model_dump(),
            "east": z3950_settings(zebras[1], title="East").model_dump(),
            "south": sru_settings(zebras[2], title="South").model_dump(),
            "silent": {
                "protocol": "sru",
                "url": f"http://127.0.0.1:{silent_port}/sru",
                "timeout_seconds": SILENT_TIMEOUT,
            },
        }
        database = Database(database_url)
        service, _ = build_search(
            search_settings(database_url, tmp_path, targets), database, b"test-key"
        )
        try:
            yield service, database
        finally:
            await service.aclose()
            await database.dispose()


async def search(service: SearchService, text: str, **view: Any) -> dict[str, Any]:
    search_id = await service.start(text)
    await service.wait(search_id, 30)
    snapshot = await service.snapshot(search_id, **view)
    assert snapshot is not None
    return snapshot


def by_target(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {target["name"]: target for target in snapshot["targets"]}


async def test_one_query_is_answered_by_every_catalogue_merged_into_editions(
    catalogues: tuple[SearchService, Database], zebras: list[ZebraServer]
) -> None:
    service, _ = catalogues
    snapshot = await search(service, "history", limit=1000)
    targets = by_target(snapshot)
    assert snapshot["complete"]
    for name in ("local", "north", "east", "south"):
        assert targets[name]["status"] == "done", targets[name]
        assert targets[name]["fetched"] == min(targets[name]["hits"], 100)
    # The hits each target reports are that catalogue's own count.
    alone = SruTarget("north", sru_settings(zebras[0]))
    try:
        assert targets["north"]["hits"] == (await alone.search(parse("history"), limit=1)).hits
    finally:
        await alone.aclose()
    fetched = sum(target["fetched"] for target in targets.values())
    clusters = snapshot["records"]
    assert snapshot["total"] == len(clusters) < fetched  # the overlaps became one each
    held_twice = [c for c in clusters if len({s["source"] for s in c["sources"]}) >= 2]
    assert held_twice, "the slices overlap: some editions must be held at several places"
    for cluster in held_twice:
        assert len({s["native_id"] for s in cluster["sources"]}) == 1  # one LoC record each
    assert {s["source"] for c in clusters for s in c["sources"]} == {
        "local",
        "north",
        "east",
        "south",
    }


async def test_a_target_that_never_answers_times_out_at_its_own_timeout(
    catalogues: tuple[SearchService, Database],
) -> None:
    service, _ = catalogues
    started = time.monotonic()
    snapshot = await search(service, "poetry")
    silent = by_target(snapshot)["silent"]
    assert silent["status"] == "timeout"
    assert "did not answer within 0.5 s" in silent["message"]
    assert SILENT_TIMEOUT * 1000 <= silent["latency_ms"] < 10_000
    assert time.monotonic() - started < 15  # hang guard: the search ends with its targets
    assert by_target(snapshot)["north"]["status"] == "done"


async def test_results_show_before_the_slowest_target_has_answered(
    database_url: str, tmp_path: Path
) -> None:
    # The slow target has all the time a busy machine could need: the first results come
    # while it is still working, not because it gave up.
    LocalIndex(tmp_path / "catalogue.db").import_marc(SAMPLE_CATALOGUE)
    async with silent_listener() as silent_port:
        targets = {
            "local": {"protocol": "local", "title": "This library"},
            "silent": {
                "protocol": "sru",
                "url": f"http://127.0.0.1:{silent_port}/sru",
                "timeout_seconds": 60,
            },
        }
        settings = search_settings(database_url, tmp_path, targets)
        async with searching(database_url, settings) as service:
            search_id = await service.start("england")
            await service.wait_for_first(search_id, 30)
            early = await service.snapshot(search_id)
    assert early is not None
    assert not early["complete"]
    assert by_target(early)["silent"]["status"] in ("connecting", "working")
    assert early["records"]


async def test_a_catalogue_that_dies_shows_as_an_error_while_the_others_results_stand(
    database_url: str, tmp_path: Path, zebras: list[ZebraServer]
) -> None:
    doomed = start_sample_zebra(tmp_path / "doomed", 0, 600)
    targets = {
        "doomed": sru_settings(doomed, title="Doomed").model_dump(),
        "north": sru_settings(zebras[0], title="North").model_dump(),
    }
    try:
        async with searching(
            database_url, search_settings(database_url, tmp_path, targets)
        ) as service:
            before = by_target(await search(service, "history"))
            assert before["doomed"]["status"] == "done"
            doomed.stop()
            snapshot = await search(service, "war")
        after = by_target(snapshot)
        assert after["doomed"]["status"] == "error"
        assert "refused" in after["doomed"]["message"]
        assert after["north"]["status"] == "done"
        assert snapshot["records"]
        assert all(s["source"] == "north" for c in snapshot["records"] for s in c["sources"])
    finally:
        doomed.stop()


async def test_a_repeated_search_reuses_the_first_ones_results(
    catalogues: tuple[SearchService, Database],
) -> None:
    service, _ = catalogues
    first = await service.start("title:history")
    assert await service.start("title:history") == first
    assert await service.start("title:war") != first


async def test_another_instance_reports_on_a_search_this_one_runs(
    database_url: str, tmp_path: Path, catalogues: tuple[SearchService, Database]
) -> None:
    service, _ = catalogues
    async with searching(database_url, search_settings(database_url, tmp_path, {})) as other:
        search_id = await service.start("music")
        await other.wait(search_id, 30)  # follows through the database alone
        snapshot = await other.snapshot(search_id)
    assert snapshot is not None
    assert snapshot["complete"]
    assert by_target(snapshot)["north"]["status"] == "done"


async def test_facets_narrow_and_sorting_reorders(
    catalogues: tuple[SearchService, Database],
) -> None:
    service, _ = catalogues
    everything = await search(service, "history", limit=1000)
    search_id = everything["id"]
    decades = everything["facets"]["year"]
    assert decades
    chosen = decades[0]["value"]
    narrowed = await service.snapshot(search_id, selections={"year": {chosen}}, limit=1000)
    assert narrowed is not None
    assert 0 < narrowed["total"] < everything["total"]
    by_year = await service.snapshot(search_id, sort="year", limit=1000)
    assert by_year is not None
    years = [record["year"] for record in by_year["records"] if record["year"]]
    assert years == sorted(years, reverse=True)


async def test_a_query_the_search_box_cannot_read_is_refused_in_words(
    catalogues: tuple[SearchService, Database],
) -> None:
    service, _ = catalogues
    with pytest.raises(QuerySyntaxError):
        await service.start("NOT cats")


async def test_expired_searches_are_purged(
    catalogues: tuple[SearchService, Database],
) -> None:
    service, database = catalogues
    search_id = (await search(service, "history"))["id"]
    assert await service.purge_expired() == 0  # still within its time
    async with database.transaction() as connection:
        await connection.execute(
            update(search_sessions).where(search_sessions.c.id == search_id).values(expires_at=0)
        )
    assert await service.snapshot(search_id) is None  # expired: gone for readers at once
    assert await service.purge_expired() == 1
    async with database.read() as connection:
        left = await connection.scalar(
            select(func.count())
            .select_from(search_results)
            .where(search_results.c.session_id == search_id)
        )
    assert left == 0
