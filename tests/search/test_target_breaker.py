"""A catalogue that keeps failing is skipped for a while, then tried again by one search;
when that search ends before the catalogue answers, the next search tries it instead."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from libgate.config import TargetSettings
from libgate.search import Federation
from libgate.search.query import parse
from libgate.search.targets import SruTarget
from tests.support.http_stub import silent_listener

BREAKER_WAIT = 2.0  # the circuit breaker's first wait, in seconds


@pytest.fixture
async def federation() -> AsyncIterator[Federation]:
    async with silent_listener() as port:
        settings = TargetSettings.model_validate(
            {"protocol": "sru", "url": f"http://127.0.0.1:{port}/sru", "timeout_seconds": 0.2}
        )
        federation = Federation({"silent": (SruTarget("silent", settings), settings)})
        try:
            yield federation
        finally:
            await federation.aclose()


async def outcome(federation: Federation) -> tuple[str, str]:
    (found,) = [o async for o in federation.search(parse("history"))]
    return found.status, found.message


async def test_a_retry_cut_short_leaves_the_next_search_to_try(federation: Federation) -> None:
    for _ in range(3):
        assert (await outcome(federation))[0] == "timeout"
    status, message = await outcome(federation)
    assert status == "error" and "not answering lately" in message
    await asyncio.sleep(BREAKER_WAIT + 0.1)
    with pytest.raises(TimeoutError):  # the search that retries ends before its answer
        async with asyncio.timeout(0.05):
            await outcome(federation)
    await asyncio.sleep(0.01)  # its request to the catalogue is cancelled in turn
    assert (await outcome(federation))[0] == "timeout"  # tried again, not skipped
