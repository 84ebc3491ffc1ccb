"""The fan-out: one query to every target at once, each outcome reported the moment that
target has answered, failed or run out of time, so the fastest source is shown first and a
dead or slow one never holds the others back."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from libgate.breaker import CircuitBreaker
from libgate.config import TargetSettings
from libgate.search._model import Record, TargetError
from libgate.search.query import Query
from libgate.search.targets import AnswerReaders, Target

log = logging.getLogger("libgate.search")

Status = Literal["connecting", "working", "done", "timeout", "error"]
# The most hits a target is believed to have (what the database's hit counts hold): no
# catalogue has more, and a larger number is a broken or hostile answer.
MAX_HITS = 2**31 - 1


@dataclass(frozen=True)
class TargetOutcome:
    """How one target fared with one query. ``message`` says in words what went wrong."""

    target: str
    status: Status
    hits: int = 0
    records: tuple[Record, ...] = ()
    latency_ms: float | None = None
    message: str = ""
    diagnostics: tuple[str, ...] = ()


@dataclass
class _Guarded:
    target: Target
    settings: TargetSettings
    slots: asyncio.Semaphore
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)


class Federation:
    """The configured targets, each with its own concurrency limit and circuit breaker
    (so a failing neighbour is skipped quickly until it recovers). ``readers``: the worker
    processes the targets read their answers in, stopped with the federation."""

    def __init__(
        self,
        targets: Mapping[str, tuple[Target, TargetSettings]],
        *,
        readers: AnswerReaders | None = None,
    ) -> None:
        self._readers = readers
        self._targets = {
            name: _Guarded(
                target,
                settings,
                asyncio.Semaphore(settings.max_concurrent),
                CircuitBreaker(f"search target {name}"),
            )
            for name, (target, settings) in targets.items()
        }

    @property
    def names(self) -> list[str]:
        return list(self._targets)

    def title(self, name: str) -> str:
        return self._targets[name].settings.title or name

    def weights(self) -> dict[str, float]:
        return {name: guarded.settings.weight for name, guarded in self._targets.items()}

    async def search(
        self, query: Query, names: list[str] | None = None
    ) -> AsyncIterator[TargetOutcome]:
        """Outcomes in the order the targets finish; ``names``: those targets only (None:
        every one)."""
        chosen = self.names if names is None else [n for n in names if n in self._targets]
        pending = [asyncio.ensure_future(self._ask(name, query)) for name in chosen]
        try:
            for next_done in asyncio.as_completed(pending):
                yield await next_done
        finally:
            for task in pending:
                task.cancel()

    async def _ask(self, name: str, query: Query) -> TargetOutcome:
        guarded = self._targets[name]
        trial = guarded.breaker.trial()
        retry_in = guarded.breaker.refusal()
        if retry_in is not None:
            return TargetOutcome(
                name, "error", message=f"not answering lately; tried again in {retry_in:.0f} s"
            )
        try:
            return await self._asked(name, query)
        finally:
            if trial:  # cancelled (the search ended first): the next search tries instead
                guarded.breaker.abandoned()

    async def _asked(self, name: str, query: Query) -> TargetOutcome:
        guarded = self._targets[name]
        settings = guarded.settings
        started = time.perf_counter()

        def elapsed() -> float:
            return round((time.perf_counter() - started) * 1000, 1)

        try:
            async with asyncio.timeout(settings.timeout_seconds), guarded.slots:
                answer = await guarded.target.search(query, limit=settings.records)
        except TimeoutError:
            guarded.breaker.failed()
            return TargetOutcome(
                name,
                "timeout",
                latency_ms=elapsed(),
                message=f"did not answer within {settings.timeout_seconds:g} s",
            )
        except TargetError as exc:
            guarded.breaker.failed()
            return TargetOutcome(name, "error", latency_ms=elapsed(), message=str(exc))
        except Exception:
            guarded.breaker.failed()
            log.exception("search target failed", extra={"target": name})
            return TargetOutcome(
                name, "error", latency_ms=elapsed(), message="failed unexpectedly (see the log)"
            )
        guarded.breaker.succeeded()
        return TargetOutcome(
            name,
            "done",
            hits=min(max(answer.hits, 0), MAX_HITS),
            records=answer.records,
            latency_ms=elapsed(),
            diagnostics=answer.diagnostics,
        )

    async def aclose(self) -> None:
        for guarded in self._targets.values():
            await guarded.target.aclose()
        if self._readers is not None:
            await asyncio.to_thread(self._readers.close)
