"""A catalogue that never answers: at the search's deadline it shows as timed out and the
search is complete, for those polling and those following its events alike."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from libgate.config import Settings
from tests.support.catalogue import with_sample_catalogue
from tests.support.http_stub import silent_listener


@pytest.fixture
async def silent() -> AsyncIterator[int]:
    async with silent_listener() as port:
        yield port


@pytest.fixture
def settings(database_url: str, tmp_path: Path, silent: int) -> Settings:
    never = {"protocol": "sru", "url": f"http://127.0.0.1:{silent}/sru"}
    return with_sample_catalogue(database_url, tmp_path, {"silent": never}, max_wait_seconds=1)


async def test_followers_hear_the_search_complete_when_its_deadline_passes(
    http: httpx.AsyncClient,
) -> None:
    started = await http.post("/api/search", json={"q": "history"})
    search_id = started.json()["id"]
    response = await http.get(f"/api/search/{search_id}/events")
    events = [block.split("\n") for block in response.text.strip().split("\n\n")]
    assert events[-1][0] == "event: complete"
    last = json.loads(events[-2][1].removeprefix("data: "))
    assert last["complete"]
    assert {t["name"]: t["status"] for t in last["targets"]} == {
        "local": "done",
        "silent": "timeout",
    }
