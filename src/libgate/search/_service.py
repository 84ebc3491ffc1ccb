"""Federated search as the web face uses it: start a search, read how far it has got
(merged, ranked, faceted), wait for it, or follow it as targets answer."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from typing import Any

from libgate.privacy import Pseudonyms
from libgate.search._federation import Federation, TargetOutcome
from libgate.search._present import Gathered, edition, present
from libgate.search._rank import Sort
from libgate.search._sessions import SearchSessions, SessionState
from libgate.search.query import STANDARD_CQL_INDEXES, Query, parse, to_cql

log = logging.getLogger("libgate.search")

_POLL_SECONDS = 0.1
_LIMIT_WINDOW_SECONDS = 60
_GATHERED_KEPT = 32


class TooManySearches(Exception):
    """A client started more new searches in a minute than the library allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"too many searches: at most {limit} new searches a minute from one address; "
            "try again in a minute"
        )
        self.retry_after = _LIMIT_WINDOW_SECONDS


class UnknownTargets(Exception):
    """None of the catalogues a search was limited to is one this library searches."""

    def __init__(self, asked: Collection[str], known: Collection[str]) -> None:
        super().__init__(
            f"no such catalogue: {', '.join(sorted(asked))}; "
            f"the catalogues are: {', '.join(known) or 'none'}"
        )


class SearchService:
    def __init__(
        self,
        sessions: SearchSessions,
        federation: Federation,
        *,
        cache_seconds: float,
        max_wait_seconds: float,
        searches_per_minute: int = 0,
        pseudonyms: Pseudonyms | None = None,
    ) -> None:
        self._sessions = sessions
        self._per_minute = searches_per_minute
        self._pseudonyms = pseudonyms
        self._federation = federation
        self._cache_seconds = cache_seconds
        self._max_wait = max_wait_seconds
        self._running: set[asyncio.Task[None]] = set()
        self._changes: dict[str, asyncio.Event] = {}
        # The searches this instance ran lately, merged as their targets answered: a cache
        # (any instance can rebuild a view from the database), so views cost no re-merge.
        self._gathered: OrderedDict[str, Gathered] = OrderedDict()

    async def start(
        self, text: str, targets: Collection[str] | None = None, *, client: str | None = None
    ) -> str:
        """The id of a search for ``text`` (raises QuerySyntaxError), in ``targets`` (names
        not configured are left out; raises UnknownTargets when none is left): a new one, whose
        targets this instance now asks, or a recent identical one. ``client``: the address
        asking, held to the limit of new searches a minute (raises TooManySearches)."""
        query = parse(text)
        chosen = [name for name in self._federation.names if not targets or name in targets]
        if targets and not chosen:
            raise UnknownTargets(targets, self._federation.names)
        canonical = to_cql(query, STANDARD_CQL_INDEXES).text + "\x1f" + ",".join(chosen)
        cache_key = hashlib.sha256(canonical.encode()).hexdigest()
        if self._cache_seconds > 0:
            cached = await self._sessions.cached(cache_key)
            if cached is not None:
                return cached
        requester = None
        if client is not None and self._pseudonyms is not None:
            requester = self._pseudonyms.address_ref(client)
        if requester is not None and self._per_minute:
            since = time.time() - _LIMIT_WINDOW_SECONDS
            if await self._sessions.started_since(requester, since) >= self._per_minute:
                raise TooManySearches(self._per_minute)
        session_id = secrets.token_urlsafe(16)
        await self._sessions.create(
            session_id,
            requester=requester,
            cache_key=cache_key,
            query=text,
            targets=chosen,
            wait_seconds=self._max_wait,
            keep_seconds=max(self._cache_seconds, self._max_wait + 60),
        )
        task = asyncio.create_task(self._fan_out(session_id, query, chosen))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return session_id

    async def _fan_out(self, session_id: str, query: Query, targets: list[str]) -> None:
        self._changes[session_id] = asyncio.Event()
        try:
            await self._sessions.working(session_id)
            self._announce(session_id)
            gathered = self._gathered[session_id] = Gathered(query)
            while len(self._gathered) > _GATHERED_KEPT:
                self._gathered.popitem(last=False)
            async with asyncio.timeout(self._max_wait):
                async for outcome in self._federation.search(query, targets):
                    if await self._kept(session_id, outcome):
                        gathered.add(outcome.target, outcome.records)
                    self._announce(session_id)
        except TimeoutError:
            pass  # the targets still working show as timed out once the deadline passes
        except Exception:
            log.exception("search failed", extra={"search": session_id})
        finally:
            self._announce(session_id)
            del self._changes[session_id]

    async def _kept(self, session_id: str, outcome: TargetOutcome) -> bool:
        """Record ``outcome``; when the database will not take it (an answer unlike any
        seen), record that target as failed instead, so the others' results still count."""
        try:
            await self._sessions.record(session_id, outcome)
        except Exception:
            log.exception("search result not kept", extra={"target": outcome.target})
            failed = TargetOutcome(
                outcome.target,
                "error",
                latency_ms=outcome.latency_ms,
                message="its answer could not be kept (see the log)",
            )
            await self._sessions.record(session_id, failed)
            return False
        return True

    def _announce(self, session_id: str) -> None:
        """Wake this instance's followers of the search now rather than at their next poll."""
        if session_id in self._changes:
            self._changes[session_id].set()
            self._changes[session_id] = asyncio.Event()

    async def snapshot(
        self,
        session_id: str,
        *,
        sort: Sort = "relevance",
        selections: Mapping[str, Collection[str]] | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> dict[str, Any] | None:
        """Everything found so far, merged, ranked and faceted; None for an unknown or
        expired search."""
        state = await self._sessions.load(session_id)
        return None if state is None else self.view(state, sort, selections, offset, limit)

    async def edition(self, session_id: str, key: str) -> dict[str, Any] | None:
        """One edition in a search's results, with every place that holds it; None for an
        unknown search or edition."""
        state = await self._sessions.load(session_id)
        if state is None:
            return None
        return edition(state, key, gathered=self._gathered_for(state), titles=self._titles())

    def view(
        self,
        state: SessionState,
        sort: Sort = "relevance",
        selections: Mapping[str, Collection[str]] | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> dict[str, Any]:
        return present(
            state,
            gathered=self._gathered_for(state),
            titles=self._titles(),
            weights=self._federation.weights(),
            sort=sort,
            selections=selections,
            offset=offset,
            limit=limit,
        )

    def _gathered_for(self, state: SessionState) -> Gathered | None:
        """This instance's merge of the search, if it ran it and has what ``state`` has."""
        gathered = self._gathered.get(state.id)
        answered = {name for name, result in state.results.items() if result.answered}
        return gathered if gathered is not None and gathered.targets == answered else None

    def _titles(self) -> dict[str, str]:
        return {name: self._federation.title(name) for name in self._federation.names}

    @property
    def max_wait_seconds(self) -> float:
        return self._max_wait

    async def wait(self, session_id: str, seconds: float) -> None:
        """Return when every target has answered, or after ``seconds``."""
        await self._wait_until(session_id, seconds, lambda state: state.complete)

    async def wait_for_first(self, session_id: str, seconds: float) -> None:
        """Return when any target has answered, or after ``seconds``."""
        await self._wait_until(session_id, seconds, _anything_in)

    async def _wait_until(
        self, session_id: str, seconds: float, enough: Callable[[SessionState], bool]
    ) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                async for state in self.follow(session_id):
                    if enough(state):
                        return

    async def follow(self, session_id: str) -> AsyncIterator[SessionState]:
        """The session each time a target has answered, ending once all have (or the search
        has expired). Reads the database, so it works whichever instance runs the search;
        when it is this one, a change wakes it at once instead of at the next poll."""
        seen = -1.0
        while True:
            change = self._changes.get(session_id)
            state = await self._sessions.load(session_id)
            if state is None:
                return
            # Complete unchanged too: the deadline passing completes a search (its slow
            # targets now show as timed out) without writing anything.
            if state.updated_at != seen or state.complete:
                seen = state.updated_at
                yield state
            if state.complete:
                return
            if change is None:
                await asyncio.sleep(_POLL_SECONDS)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_POLL_SECONDS):
                    await change.wait()

    async def purge_expired(self) -> int:
        return await self._sessions.purge_expired()

    async def aclose(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        await self._federation.aclose()


def _anything_in(state: SessionState) -> bool:
    return state.complete or any(result.answered for result in state.results.values())
