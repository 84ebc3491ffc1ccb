"""The search API as scripts and other services use it: start a search and poll it,
follow it as Server-Sent Events, or ask and wait in one request; and the resident's search
page, which needs no JavaScript."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from libgate.config import Settings
from libgate.testing.zebra import ZebraServer
from tests.support.catalogue import with_sample_catalogue
from tests.support.streamed import StreamedBody
from tests.support.zebra import sru_settings, zebras_fixture

__all__ = ["zebras_fixture"]


@pytest.fixture
def settings(database_url: str, tmp_path: Path, zebras: list[ZebraServer]) -> Settings:
    north = sru_settings(zebras[0], title="North").model_dump()
    return with_sample_catalogue(database_url, tmp_path, {"north": north})


async def started(http: httpx.AsyncClient, query: str) -> str:
    response = await http.post("/api/search", json={"q": query})
    assert response.status_code == 201, response.text
    search_id: str = response.json()["id"]
    assert response.headers["location"] == f"/api/search/{search_id}"
    return search_id


async def test_a_script_asks_and_waits_in_one_request(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/search", params={"q": "title:lincoln", "wait": "20"})
    assert response.status_code == 200
    found = response.json()
    assert found["complete"]
    assert {t["name"]: t["status"] for t in found["targets"]} == {"local": "done", "north": "done"}
    assert found["records"]
    [tarbell] = [r for r in found["records"] if r["title"].startswith("The life of Abraham")]
    assert {source["source"] for source in tarbell["sources"]} == {"local", "north"}
    # Editions of one work share a key: folded title (no leading article) and author.
    assert tarbell["work"].startswith("lifeofabrahamlincoln")
    assert tarbell["work"].endswith("/tarbell")
    assert response.headers["cache-control"] == "no-store"


async def test_a_search_can_be_limited_to_some_catalogues(http: httpx.AsyncClient) -> None:
    asked = [("q", "history"), ("target", "north"), ("target", "nowhere"), ("wait", "20")]
    limited = (await http.get("/api/search", params=asked)).json()
    assert [t["name"] for t in limited["targets"]] == ["north"]
    assert {s["source"] for r in limited["records"] for s in r["sources"]} == {"north"}
    refused = await http.post("/api/search?target=nowhere", json={"q": "history"})
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "no such catalogue: nowhere; the catalogues are: local, north"
    }


async def test_a_started_search_is_polled_narrowed_and_paged(http: httpx.AsyncClient) -> None:
    search_id = await started(http, "history")
    await http.get("/api/search", params={"q": "history", "wait": "20"})  # same search: done
    whole = (await http.get(f"/api/search/{search_id}")).json()
    assert whole["complete"] and whole["total"] > 20
    assert len(whole["records"]) == 20
    second = (await http.get(f"/api/search/{search_id}", params={"offset": "20"})).json()
    assert second["offset"] == 20
    first_keys = {record["key"] for record in whole["records"]}
    assert first_keys.isdisjoint(record["key"] for record in second["records"])
    source = whole["facets"]["source"][0]["value"]
    narrowed = (await http.get(f"/api/search/{search_id}", params={"f": f"source:{source}"})).json()
    assert narrowed["selected"] == {"source": [source]}
    assert narrowed["total"] <= whole["total"]
    assert all(source in {s["source"] for s in record["sources"]} for record in narrowed["records"])


async def test_a_facet_libgate_does_not_have_narrows_nothing(http: httpx.AsyncClient) -> None:
    search_id = await started(http, "history")
    await http.get("/api/search", params={"q": "history", "wait": "20"})
    answered = await http.get(f"/api/search/{search_id}", params={"f": "colour:red"})
    assert answered.status_code == 200 and answered.json()["selected"] == {}
    page = await http.get(f"/search/{search_id}", params={"f": "colour:red"})
    assert page.status_code == 200


async def test_a_search_is_followed_as_server_sent_events(http: httpx.AsyncClient) -> None:
    search_id = await started(http, "poetry")
    response = await http.get(f"/api/search/{search_id}/events")
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [
        (block.split("\n")[0].removeprefix("event: "), block.split("\n")[1].removeprefix("data: "))
        for block in response.text.strip().split("\n\n")
    ]
    names = [name for name, _ in events]
    assert names[-1] == "complete"
    assert set(names[:-1]) == {"update"}
    last: dict[str, Any] = json.loads(events[-2][1])
    assert last["complete"]
    assert {t["status"] for t in last["targets"]} == {"done"}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"q": ""}, "a word or two"),
        ({"q": "NOT cats"}, "NOT"),
        ({"q": "x" * 3000}, "too long"),
    ],
)
async def test_a_query_that_cannot_be_searched_is_a_400_in_words(
    http: httpx.AsyncClient, body: dict[str, str], words: str
) -> None:
    response = await http.post("/api/search", json=body)
    assert response.status_code == 400
    assert words.lower() in response.json()["error"].lower()


async def test_a_search_is_started_from_a_posted_form_too(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/search", data={"q": "history"})
    assert response.status_code == 201


async def test_a_body_too_large_is_refused_without_reading_it_all(
    http: httpx.AsyncClient,
) -> None:
    body = StreamedBody(b'{"q": "', megabytes=30)
    response = await http.post(
        "/api/search", content=body.chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "too long" in response.json()["error"]
    assert not body.read_to_the_end


async def test_an_unknown_search_is_a_404(http: httpx.AsyncClient) -> None:
    assert (await http.get("/api/search/no-such-search")).status_code == 404


async def test_the_search_page_shows_results_facets_and_sources_without_javascript(
    http: httpx.AsyncClient,
) -> None:
    form = await http.get("/search")
    assert form.status_code == 200
    assert '<label for="q">' in form.text
    redirect = await http.get("/search", params={"q": "history"})
    assert redirect.status_code == 303
    page_url = redirect.headers["location"]
    await http.get("/api/search", params={"q": "history", "wait": "20"})
    page = await http.get(page_url)
    assert page.status_code == 200
    assert "This library" in page.text and "North" in page.text
    assert 'class="result"' in page.text
    assert "Narrow your results" in page.text
    assert 'http-equiv="refresh"' not in page.text  # complete: no need to reload
    fragment = await http.get(page_url.replace("?", "/results?", 1))
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'class="result"' in fragment.text


async def test_a_search_page_for_a_query_it_cannot_read_explains(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/search", params={"q": "NOT cats"})
    assert page.status_code == 200
    assert "We could not search for that" in page.text


async def test_an_edition_page_lists_every_place_that_holds_it(http: httpx.AsyncClient) -> None:
    found = (await http.get("/api/search", params={"q": "title:lincoln", "wait": "20"})).json()
    [tarbell] = [r for r in found["records"] if r["title"].startswith("The life of Abraham")]
    assert {holding["library"] for holding in tarbell["holdings"]} == {"This library", "North"}
    page = await http.get(f"/search/{found['id']}/edition/{tarbell['key']}")
    assert page.status_code == 200
    assert "<h1>The life of Abraham Lincoln" in page.text
    assert "Where to find it" in page.text
    assert "<td>This library</td>" in page.text and "<td>North</td>" in page.text
    results = await http.get(f"/search/{found['id']}")
    assert f"/search/{found['id']}/edition/{tarbell['key']}?" in results.text
    missing = await http.get(f"/search/{found['id']}/edition/no-such-edition")
    assert missing.status_code == 404
