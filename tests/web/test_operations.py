"""Health, readiness, metrics, security headers and structured logs for operators."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from libgate.observability import JsonFormatter
from libgate.services import Services
from tests.support.servers import live_server


async def test_health_and_readiness(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}


async def test_readiness_fails_when_the_database_is_unreachable(
    http: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    @asynccontextmanager
    async def unreachable() -> AsyncIterator[None]:
        raise ConnectionRefusedError("database down")
        yield

    monkeypatch.setattr(services.database, "read", unreachable)
    ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "not ready",
        "checks": {"database": "failed: ConnectionRefusedError"},
    }


async def test_metrics_count_requests_by_route_template(http: httpx.AsyncClient) -> None:
    await http.get("/signin/some-secret-looking-id")
    text = (await http.get("/metrics")).text
    assert (
        'libgate_http_requests_total{method="GET",route="/signin/{request_id}",status="404"}'
        in text
    )
    assert "some-secret-looking-id" not in text


async def test_pages_carry_security_headers(http: httpx.AsyncClient) -> None:
    response = await http.get("/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_log_lines_are_json_with_their_extra_fields() -> None:
    record = logging.makeLogRecord(
        {"name": "libgate.http", "levelname": "INFO", "msg": "request", "route": "/token"}
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "request" and line["route"] == "/token" and line["level"] == "info"


@pytest.mark.parametrize("path", ["/", "/account/signin", "/signed-out"])
async def test_pages_render_with_the_librarys_name(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert response.status_code == 200
    assert "Your Library Service" in response.text and 'lang="en-GB"' in response.text


def test_metrics_count_the_whole_service_whichever_worker_answers(
    database_url: str, log_dir: Path
) -> None:
    requests = 40
    with live_server(database_url, log_dir, workers=2) as server:
        for _ in range(requests):
            # A new connection each time: the kernel spreads them over the workers.
            assert httpx.get(f"{server.base_url}/healthz", timeout=10).status_code == 200
        scraped = [httpx.get(f"{server.base_url}/metrics", timeout=10).text for _ in range(6)]
    pattern = re.compile(r'libgate_http_requests_total\{[^}]*route="/healthz"[^}]*\} (\S+)')
    counts = {float(match.group(1)) for text in scraped for match in pattern.finditer(text)}
    assert counts == {float(requests)}


def test_libgate_will_not_start_with_a_catalogue_index_it_cannot_use(
    database_url: str, log_dir: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / "catalogue.db"
    damaged.write_text("not a database at all" * 100)
    with (
        pytest.raises(RuntimeError, match="exited early") as refused,
        live_server(database_url, log_dir, LIBGATE_SEARCH__LOCAL_INDEX=str(damaged)),
    ):
        pass
    assert f"{damaged} is not a catalogue index" in str(refused.value)
