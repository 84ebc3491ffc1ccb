"""One catalogue's strange answer never spoils a search: it is kept as well as it can be,
or shows as that catalogue's error, and the other catalogues' results stand."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from libgate.config import Settings
from libgate.search import MAX_HITS, SearchSessions, TargetOutcome
from tests.support.catalogue import with_sample_catalogue
from tests.support.http_stub import Stub, answer, http_stub

# A JSON catalogue claiming more hits than any has, with half a UTF-16 pair in a title.
STRANGE = json.dumps({"numFound": 2**63, "docs": [{"key": "1", "title": "Half \ud800 pair"}]})


@pytest.fixture
async def strange() -> AsyncIterator[Stub]:
    async with http_stub(answer(STRANGE.encode(), content_type="application/json")) as stub:
        yield stub


@pytest.fixture
def settings(database_url: str, tmp_path: Path, strange: Stub) -> Settings:
    url = f"http://127.0.0.1:{strange.port}/search.json?q={{searchTerms}}&limit={{count}}"
    fields = {"records": "docs", "hits": "numFound", "id": "key", "title": "title"}
    json_target = {"protocol": "json", "url": url, "json_fields": fields}
    return with_sample_catalogue(database_url, tmp_path, {"strange": json_target})


async def searched(http: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    response = await http.get("/api/search", params={"q": "history", "wait": "20", **params})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    assert found["complete"]
    return found


async def test_an_impossible_hit_count_and_broken_text_are_kept_as_well_as_they_can_be(
    http: httpx.AsyncClient,
) -> None:
    found = await searched(http)
    targets = {t["name"]: (t["status"], t["hits"]) for t in found["targets"]}
    assert targets["local"][0] == "done" and targets["local"][1] > 0
    assert targets["strange"] == ("done", MAX_HITS)
    theirs = await searched(http, f="source:strange")
    assert [record["title"] for record in theirs["records"]] == ["Half ? pair"]


async def test_an_answer_the_database_will_not_take_is_that_catalogues_error_alone(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = SearchSessions.record

    async def refusing(self: SearchSessions, session_id: str, outcome: TargetOutcome) -> None:
        if outcome.target == "strange" and outcome.status == "done":
            raise ValueError("the database refused this answer")
        await record(self, session_id, outcome)

    monkeypatch.setattr(SearchSessions, "record", refusing)
    found = await searched(http)
    targets = {t["name"]: t for t in found["targets"]}
    assert targets["local"]["status"] == "done" and found["records"]
    assert targets["strange"]["status"] == "error"
    assert "could not be kept" in targets["strange"]["message"]
    assert {s["source"] for r in found["records"] for s in r["sources"]} == {"local"}
