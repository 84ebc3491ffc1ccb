from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from libgate.db._text import storable
from libgate.db._units import AsyncpgUnit, ConnectionUnit, PostgresStatements, Unit, as_unit

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_KEY_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
# Marks SQLite connections of Database.snapshot, which begin a plain (deferred) transaction.
_SNAPSHOT = "libgate_snapshot"


def async_url(url: str) -> str:
    """Turn the URL an operator writes (``sqlite:///x.db``, ``postgresql://...``) into the
    async driver URL SQLAlchemy needs."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    if backend == "postgresql" and "sslmode" in parsed.query:
        # libpq spells it sslmode=; asyncpg takes the same values as ssl=.
        query = dict(parsed.query)
        query["ssl"] = query.pop("sslmode")
        parsed = parsed.set(query=query)
    return parsed.set(drivername=_ASYNC_DRIVERS[backend]).render_as_string(hide_password=False)


def _bind_storable_text(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
    def _storable_parameters(
        _connection: Any, _cursor: Any, statement: str, parameters: Any, *_: Any
    ) -> tuple[str, Any]:
        return statement, storable(parameters)


class _SqliteConnection(sqlite3.Connection):
    """Rolls back before it closes. A statement cancelled part-way (a search abandoned, a
    service stopping) has its connection closed while its cursor still lives on, in the
    traceback; SQLite then keeps the connection, and its write lock, until that cursor is
    garbage collected, which can be long after."""

    def close(self) -> None:
        # Closed already (aiosqlite may close twice when stopping) or the rollback failed:
        # closing is still what is wanted.
        with contextlib.suppress(sqlite3.Error):
            if self.in_transaction:
                self.rollback()
        super().close()


def _serialise_sqlite_writers(engine: AsyncEngine) -> None:
    # pysqlite's own transaction handling starts transactions lazily and upgrades read locks
    # to write locks, which deadlocks concurrent writers ("database is locked"). Take the
    # write lock at BEGIN instead, and let WAL keep readers going.
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            # Database.read: each statement on its own, holding no lock between them. A
            # BEGIN here would hold the write lock until the connection went back to the
            # pool, queueing every writer behind a read.
            return
        # A snapshot only reads: a deferred BEGIN gives it WAL's view of the database as at
        # its first read, and leaves the write lock to writers.
        connection.exec_driver_sql("BEGIN" if options.get(_SNAPSHOT, False) else "BEGIN IMMEDIATE")


class Database:
    """The engine plus the ways to use it: ``async with db.transaction() as c`` for a
    unit of work, ``async with db.read() as c`` for a lone read, and
    ``async with db.unit() as u`` for a unit of work on a hot path (see ``_units``)."""

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.url = url
        driver_url = async_url(url)
        self.is_sqlite = driver_url.startswith("sqlite")
        options: dict[str, Any]
        if self.is_sqlite:
            options = {"connect_args": {"factory": _SqliteConnection}}
        else:
            # No pre-ping: it costs a round trip on every checkout. Connections are recycled
            # instead; after a database restart one request per stale connection fails.
            # The pool must cover the usual concurrency: opening connections is slow.
            options = {
                "pool_size": pool_size,
                "max_overflow": pool_size // 2,
                "pool_recycle": 1800,
            }
        # hide_parameters: a failed statement's message goes to the logs, and its values
        # can be a card number or a message from a kiosk.
        self.engine = create_async_engine(driver_url, hide_parameters=True, **options)
        _bind_storable_text(self.engine)
        self._postgres: PostgresStatements | None = None
        if self.is_sqlite:
            _serialise_sqlite_writers(self.engine)
        else:
            self._postgres = PostgresStatements(driver_url, max_size=max(pool_size // 2, 1))

        # Reads that need no transaction skip BEGIN/COMMIT: two round trips fewer each.
        self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._snapshot = self.engine.execution_options(
            **{_SNAPSHOT: True}
            if self.is_sqlite
            else {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database's file; None for PostgreSQL or an in-memory database."""
        name = make_url(self.url).database if self.is_sqlite else None
        return Path(name) if name and name != ":memory:" else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as connection:
            yield connection

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that need no consistency across statements."""
        async with self._reader.connect() as connection:
            yield connection

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction that sees one state of the database throughout (as at its
        first read), for reads that must agree with each other, without holding up writers.
        Keep it short: while it is open PostgreSQL cannot clean up behind it."""
        async with self._snapshot.begin() as connection:
            yield connection

    async def one_at_a_time(self, target: Unit | AsyncConnection, keys: Iterable[str]) -> None:
        """Until ``target``'s transaction ends, other transactions naming any of ``keys``
        here wait for it: for a count and the write it decides (one card's PIN attempts,
        its offline loans). On PostgreSQL an advisory lock per key; SQLite's writers
        already go one at a time (BEGIN IMMEDIATE)."""
        if self.is_sqlite:
            return
        unit = as_unit(target)
        for key in sorted(keys):  # one order everywhere, so two transactions cannot deadlock
            await unit.run(_KEY_LOCK, {"key": key})

    @asynccontextmanager
    async def unit(self, *, atomic: bool = True) -> AsyncIterator[Unit]:
        """``atomic=False`` for lone reads, which need no BEGIN and COMMIT (a statement
        that writes in such a unit is committed on its own)."""
        if self._postgres is None:
            async with self.transaction() if atomic else self.read() as connection:
                yield ConnectionUnit(connection)
            return
        async with (await self._postgres.pool()).acquire() as connection:
            if not atomic:
                yield AsyncpgUnit(connection, self._postgres)
                return
            async with connection.transaction():
                yield AsyncpgUnit(connection, self._postgres)

    async def dispose(self) -> None:
        if self._postgres is not None:
            await self._postgres.close()
        await self.engine.dispose()
