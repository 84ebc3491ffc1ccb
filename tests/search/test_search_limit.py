"""Each search asks every target, some of them other authorities' servers: one address
may start only so many new searches a minute, so that nobody can turn libgate against its
neighbours. Answers from the cache cost nothing and are not counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from libgate.config import Settings
from libgate.demo import SAMPLE_CATALOGUE
from libgate.search.index import LocalIndex
from tests.conftest import ISSUER

LIMIT = 3


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    LocalIndex(tmp_path / "catalogue.db").import_marc(SAMPLE_CATALOGUE)
    return Settings.model_validate(
        {
            "issuer": ISSUER,
            "database_url": database_url,
            "search": {"local_index": str(tmp_path / "catalogue.db"), "searches_per_minute": LIMIT},
        }
    )


@pytest.fixture
async def neighbour(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


async def test_one_address_may_start_only_so_many_new_searches_a_minute(
    http: httpx.AsyncClient, neighbour: httpx.AsyncClient
) -> None:
    words = ["history", "poetry", "music"]
    for word in words:
        assert (await http.post("/api/search", json={"q": word})).status_code == 201
    # The same searches again come from the cache: free.
    for word in words:
        assert (await http.post("/api/search", json={"q": word})).status_code == 201
    refused = await http.post("/api/search", json={"q": "science"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert "at most 3 new searches a minute" in refused.json()["error"]
    waited = await http.get("/api/search", params={"q": "science", "wait": "1"})
    assert waited.status_code == 429
    # Another address is not held back by this one.
    assert (await neighbour.post("/api/search", json={"q": "science"})).status_code == 201


async def test_a_request_refused_for_a_bad_wait_costs_no_search(http: httpx.AsyncClient) -> None:
    for word in ["history", "poetry", "music", "science"]:
        refused = await http.get("/api/search", params={"q": word, "wait": "soon"})
        assert refused.status_code == 400 and "wait" in refused.json()["error"]
    assert (await http.post("/api/search", json={"q": "law"})).status_code == 201


async def test_the_search_page_asks_a_resident_who_searched_too_much_to_wait(
    http: httpx.AsyncClient,
) -> None:
    for word in ["history", "poetry", "music"]:
        assert (await http.get("/search", params={"q": word})).status_code == 303
    page = await http.get("/search", params={"q": "science"})
    assert page.status_code == 429
    assert "Please wait a minute and try again" in page.text
    assert 'value="science"' in page.text  # the query is kept in the box
