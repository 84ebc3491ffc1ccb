"""Structured JSON logs and Prometheus metrics.

Logs carry what operators need (route, status, timing, pseudonymous patron references),
never request bodies or query strings, so PINs, codes and tokens cannot reach them."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "libgate_http_requests_total",
            "HTTP requests answered",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "libgate_http_request_seconds",
            "Time to answer HTTP requests",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )


# Where each worker process writes its metrics, when there are several (prometheus_client's
# multiprocess mode: read by every process when it first imports the library).
_SHARED_METRICS = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def metrics_shared_by(workers: int) -> Iterator[None]:
    """For ``serve --workers N``: while the block runs, worker processes started in it
    write their metrics to one directory, so that /metrics, whichever worker answers it,
    reports the whole service rather than one worker's share."""
    if workers <= 1 or os.environ.get(_SHARED_METRICS):
        yield
        return
    directory = tempfile.mkdtemp(prefix="libgate-metrics-")
    os.environ[_SHARED_METRICS] = directory
    try:
        yield
    finally:
        del os.environ[_SHARED_METRICS]
        shutil.rmtree(directory, ignore_errors=True)


def exposition(metrics: Metrics) -> bytes:
    """The metrics in Prometheus' text format: every worker's, summed, when they share."""
    if not os.environ.get(_SHARED_METRICS):
        return generate_latest(metrics.registry)
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
    return generate_latest(merged)


class ObservabilityMiddleware:
    """One access log line and two metric updates per request, labelled by route template
    (``/signin/{request_id}``) so that secrets in paths never become labels."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.log = logging.getLogger("libgate.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(template, scope["method"], str(status)).inc()
            self.metrics.latency.labels(template).observe(elapsed)
            if self.log.isEnabledFor(logging.INFO):
                self.log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": template,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    },
                )
