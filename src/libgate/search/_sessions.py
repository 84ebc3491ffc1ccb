"""Search sessions in the database: any instance can report on a search that another one
is running, and a repeated query within the cache period reuses the first one's results."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from libgate.db import Database
from libgate.db.tables import search_results, search_sessions
from libgate.search._federation import TargetOutcome
from libgate.search._model import Record
from libgate.search._stored import records_from_json, records_to_json


@dataclass(frozen=True)
class TargetState:
    target: str
    status: str
    hits: int
    records: list[Record]
    latency_ms: float | None
    message: str
    diagnostics: list[str]
    updated_at: float

    @property
    def answered(self) -> bool:
        """Done, failed or timed out: nothing more will come from this target."""
        return self.status not in ("connecting", "working")

    @classmethod
    def from_outcome(cls, outcome: TargetOutcome) -> TargetState:
        return cls(
            target=outcome.target,
            status=outcome.status,
            hits=outcome.hits,
            records=list(outcome.records),
            latency_ms=outcome.latency_ms,
            message=outcome.message,
            diagnostics=list(outcome.diagnostics),
            updated_at=time.time(),
        )


@dataclass(frozen=True)
class SessionState:
    id: str
    query: str
    targets: list[str]
    created_at: float
    deadline_at: float
    results: dict[str, TargetState]

    @property
    def complete(self) -> bool:
        return all(state.answered for state in self.results.values())

    @property
    def updated_at(self) -> float:
        return max((state.updated_at for state in self.results.values()), default=self.created_at)


class SearchSessions:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def cached(self, cache_key: str) -> str | None:
        """A live session for the same query and targets, if one exists."""
        async with self._database.read() as connection:
            found = await connection.scalar(
                select(search_sessions.c.id)
                .where(search_sessions.c.cache_key == cache_key)
                .where(search_sessions.c.expires_at > time.time())
                .order_by(search_sessions.c.created_at.desc())
                .limit(1)
            )
        return str(found) if found else None

    async def started_since(self, requester: str, since: float) -> int:
        """How many searches ``requester`` started after ``since`` (sessions are kept for
        longer than a minute, so the last minute is always all here)."""
        async with self._database.read() as connection:
            found = await connection.scalar(
                select(func.count())
                .select_from(search_sessions)
                .where(search_sessions.c.requester == requester)
                .where(search_sessions.c.created_at > since)
            )
        return int(found or 0)

    async def create(
        self,
        session_id: str,
        *,
        cache_key: str,
        query: str,
        targets: list[str],
        wait_seconds: float,
        keep_seconds: float,
        requester: str | None = None,
    ) -> None:
        now = time.time()
        async with self._database.transaction() as connection:
            await connection.execute(
                insert(search_sessions).values(
                    id=session_id,
                    cache_key=cache_key,
                    query=query,
                    targets=targets,
                    created_at=now,
                    deadline_at=now + wait_seconds,
                    expires_at=now + keep_seconds,
                    requester=requester,
                )
            )
            if targets:
                await connection.execute(
                    insert(search_results),
                    [
                        {
                            "session_id": session_id,
                            "target": target,
                            "status": "connecting",
                            "hits": 0,
                            "latency_ms": None,
                            "message": "",
                            "diagnostics": [],
                            "records": "[]",
                            "updated_at": now,
                        }
                        for target in targets
                    ],
                )

    async def working(self, session_id: str) -> None:
        async with self._database.transaction() as connection:
            await connection.execute(
                update(search_results)
                .where(search_results.c.session_id == session_id)
                .where(search_results.c.status == "connecting")
                .values(status="working", updated_at=time.time())
            )

    async def record(self, session_id: str, outcome: TargetOutcome) -> None:
        async with self._database.transaction() as connection:
            await connection.execute(
                update(search_results)
                .where(search_results.c.session_id == session_id)
                .where(search_results.c.target == outcome.target)
                .values(
                    status=outcome.status,
                    hits=outcome.hits,
                    latency_ms=outcome.latency_ms,
                    message=outcome.message,
                    diagnostics=list(outcome.diagnostics),
                    records=records_to_json(outcome.records),
                    updated_at=time.time(),
                )
            )

    async def load(self, session_id: str) -> SessionState | None:
        """The session with every target's state and records; None once it has expired."""
        async with self._database.read() as connection:
            session = (
                await connection.execute(
                    select(search_sessions).where(search_sessions.c.id == session_id)
                )
            ).first()
            if session is None or session.expires_at <= time.time():
                return None
            rows = (
                await connection.execute(
                    select(search_results).where(search_results.c.session_id == session_id)
                )
            ).all()
        return SessionState(
            id=session.id,
            query=session.query,
            targets=list(session.targets),
            created_at=session.created_at,
            deadline_at=session.deadline_at,
            results={row.target: _state(row, session.deadline_at) for row in rows},
        )

    async def purge_expired(self) -> int:
        now = time.time()
        async with self._database.transaction() as connection:
            expired = select(search_sessions.c.id).where(search_sessions.c.expires_at <= now)
            await connection.execute(
                delete(search_results).where(search_results.c.session_id.in_(expired))
            )
            result = await connection.execute(
                delete(search_sessions).where(search_sessions.c.expires_at <= now)
            )
        return int(result.rowcount or 0)


def _state(row: Any, deadline_at: float) -> TargetState:
    status = row.status
    message = row.message
    if status in ("connecting", "working") and time.time() > deadline_at:
        # The instance running the search stopped before this target answered.
        status, message = "timeout", "no answer before the search's time ran out"
    return TargetState(
        target=row.target,
        status=status,
        hits=row.hits,
        records=records_from_json(row.records),
        latency_ms=row.latency_ms,
        message=message,
        diagnostics=list(row.diagnostics),
        updated_at=row.updated_at,
    )
