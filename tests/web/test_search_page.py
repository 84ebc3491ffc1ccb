"""A resident searching in a real Chromium against a real ``libgate serve``: results from
the library's own catalogue appear while a slow neighbour is still working, the
neighbour's arrive on their own, choosing a facet narrows the list, and a result opens
the page of its edition with every place that holds it. The pages pass the same
accessibility checks as every other page."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from libgate.demo import SAMPLE_CATALOGUE
from libgate.search.index import LocalIndex
from libgate.testing.zebra import ZebraServer
from tests.support.browser import (
    Screenshots,
    accessibility_problems,
    chromium,
    missing_browser,
    new_page,
    require,
    safe_name,
)
from tests.support.servers import live_server
from tests.support.zebra import zebras_fixture

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser
__all__ = ["zebras_fixture"]

DELAY_SECONDS = 4.0


@contextlib.asynccontextmanager
async def slow_proxy(port: int, delay: float) -> AsyncIterator[int]:
    """A neighbour's catalogue that takes ``delay`` seconds to answer: each HTTP request is
    held, then passed to the real server on ``port``, its answer passed back."""

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(delay)
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
            upstream_writer.write(head.replace(b"keep-alive", b"close"))
            while chunk := await upstream_reader.read(65_536):
                writer.write(chunk)
                await writer.drain()
            upstream_writer.close()
        writer.close()

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def configuration(folder: Path, catalogue: Path, slow_port: int) -> Path:
    path = folder / "libgate.toml"
    path.write_text(
        f"""
[search]
local_index = "{catalogue}"

[search.targets.local]
protocol = "local"
title = "This library"

[search.targets.slow]
protocol = "sru"
title = "Slow Neighbour"
url = "http://127.0.0.1:{slow_port}/Default"
timeout_seconds = 20
""",
        encoding="utf-8",
    )
    return path


async def shown_count(page: Page) -> int:
    heading = await page.locator("#results-heading").inner_text()
    found = re.match(r"(\d+) result", heading)
    assert found, heading
    return int(found.group(1))


async def test_results_stream_in_and_a_facet_narrows_them(
    database_url: str, tmp_path: Path, log_dir: Path, zebras: list[ZebraServer], artifacts: Path
) -> None:
    require(missing_browser())
    catalogue = tmp_path / "catalogue.db"
    LocalIndex(catalogue).import_marc(SAMPLE_CATALOGUE)
    shots = Screenshots(artifacts / "screenshots" / safe_name("search-page"))
    async with slow_proxy(zebras[2].port, DELAY_SECONDS) as slow_port:
        config = configuration(tmp_path, catalogue, slow_port)
        with live_server(database_url, log_dir, LIBGATE_CONFIG=str(config)) as server:
            async with chromium() as browser:
                page = await new_page(browser)
                await page.goto(f"{server.base_url}/search")
                await page.get_by_label("Title, author, subject, ISBN or any words").fill("history")
                await page.keyboard.press("Enter")
                await page.wait_for_url(re.compile(r"/search/[\w-]+"))

                # The library's own results are on the page; the neighbour is still at it.
                slow = page.locator('[data-target="slow"]')
                assert await slow.get_attribute("data-status") in ("connecting", "working")
                assert "still searching" in await slow.inner_text()
                early = await shown_count(page)
                assert early > 0
                assert await page.locator(".result").count() > 0
                await shots.take(page, "before-the-neighbour")
                assert await accessibility_problems(page) == []

                # Its answer arrives without a reload (Server-Sent Events), adding records.
                await page.wait_for_selector(
                    '[data-target="slow"][data-status="done"]', timeout=DELAY_SECONDS * 4000
                )
                assert "found" in await slow.inner_text()
                everything = await shown_count(page)
                assert everything > early
                await shots.take(page, "all-answered")

                # A facet narrows them: a plain link, so it works without JavaScript too.
                facet = page.locator('[data-facet="source"] a', has_text="Slow Neighbour")
                await facet.click()
                await page.wait_for_url(re.compile(r"f=source"))
                narrowed = await shown_count(page)
                assert 0 < narrowed < everything
                assert await page.locator('[data-facet="source"] a[aria-current="true"]').count()
                await shots.take(page, "narrowed")
                assert await accessibility_problems(page) == []

                # Each result opens its edition's page: every place that holds it.
                await page.locator(".result-title a").first.click()
                await page.wait_for_url(re.compile(r"/edition/"))
                libraries = await page.locator(".holdings tbody td:first-child").all_inner_texts()
                assert "Slow Neighbour" in libraries
                await shots.take(page, "edition")
                assert await accessibility_problems(page) == []
