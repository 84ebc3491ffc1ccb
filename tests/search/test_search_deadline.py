"""A catalogue that never answers: at the search's deadline it shows as timed out and the
search is complete, for those polling and those following its events alike."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from libgate.config import Settings
from libgate.demo import SAMPLE_CATALOGUE
from libgate.search.index import LocalIndex
from tests.conftest import ISSUER
from tests.support.http_stub import silent_listener


@pytest.fixture
async def silent() -> AsyncIterator[int]:
    async with silent_listener() as port:
        yield port


@pytest.fixture
def settings(database_url: str, tmp_path: Path, silent: int) -> Settings:
    LocalIndex(tmp_path / "catalogue.db").import_marc(SAMPLE_CATALOGUE)
    return Settings.model_validate(
        {
            "issuer": ISSUER,
            "database_url": database_url,
            "search": {
                "local_index": str(tmp_path / "catalogue.db"),
                "max_wait_seconds": 1,
                "targets": {
                    "local": {"protocol": "local"},
                    "silent": {"protocol": "sru", "url": f"http://127.0.0.1:{silent}/sru"},
                },
            },
        }
    )


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
