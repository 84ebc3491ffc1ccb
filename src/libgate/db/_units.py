"""Units of work for the hot paths (token grants, userinfo, audit appends).

Their statements are written once with SQLAlchemy Core. On PostgreSQL they are compiled
once and run straight on an asyncpg connection: SQLAlchemy's async layer costs about
0.2-0.3 ms per statement and per pool checkout, asyncpg alone about 0.05 ms, and a refresh
grant makes six round trips. On SQLite they run through SQLAlchemy as everything else does.
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, cast

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import Compiled
from sqlalchemy.sql.dml import ValuesBase

from libgate.db._text import storable

# Hot statements are module constants, so this many distinct ones is far more than exist; a
# statement built per call would only be compiled each time, never held without bound.
_MAX_COMPILED = 512

Row = Mapping[Any, Any]  # SQLAlchemy RowMapping or asyncpg Record


class Unit(ABC):
    """One transaction's statements. ``row`` returns the first row as a mapping or None."""

    @abstractmethod
    async def row(self, statement: Executable, params: Mapping[str, Any]) -> Row | None: ...

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> None:
        await self.row(statement, params)

    @abstractmethod
    async def run_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        """The statement once per row (all rows with the same keys)."""

    async def scalar(self, statement: Executable, params: Mapping[str, Any]) -> Any:
        found = await self.row(statement, params)
        return None if found is None else next(iter(found.values()))


class ConnectionUnit(Unit):
    """Statements on a SQLAlchemy connection, inside whatever transaction it is in."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def row(self, statement: Executable, params: Mapping[str, Any]) -> Row | None:
        result = await self.connection.execute(statement, dict(params))
        if not result.returns_rows:
            return None
        found = result.first()
        return None if found is None else cast(Row, found._mapping)

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> None:
        await self.connection.execute(statement, dict(params))

    async def run_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            await self.connection.execute(statement, [dict(row) for row in rows])


def as_unit(target: Unit | AsyncConnection) -> Unit:
    return target if isinstance(target, Unit) else ConnectionUnit(target)


class _CompiledStatement:
    __slots__ = ("compiled", "names", "sql", "statement")

    def __init__(self, statement: Executable, compiled: Compiled) -> None:
        self.statement = statement  # held so that its id() is never reused while cached
        self.compiled = compiled
        self.sql = compiled.string
        self.names: Sequence[str] = getattr(compiled, "positiontup", None) or ()

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        try:
            return [storable(params[name]) for name in self.names]
        except KeyError:
            # A value bound inside the statement (``.values(x=1)``): SQLAlchemy has it.
            values = self.compiled.construct_params(dict(params)) or {}
            return [storable(values[name]) for name in self.names]


class PostgresStatements:
    """A pool of asyncpg connections and the hot statements compiled for it."""

    def __init__(self, url: str, *, max_size: int) -> None:
        parsed = make_url(url)
        self._connect: dict[str, Any] = {
            "host": parsed.host,
            "port": parsed.port,
            "user": parsed.username,
            "password": parsed.password,
            "database": parsed.database,
        }
        if "ssl" in parsed.query:
            self._connect["ssl"] = parsed.query["ssl"]
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._dialect = asyncpg_dialect()  # type: ignore[no-untyped-call]
        self._compiled: dict[tuple[int, frozenset[str]], _CompiledStatement] = {}

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        min_size=1,
                        max_size=self._max_size,
                        init=_json_codecs,
                        reset=_end_open_transaction,
                        **self._connect,
                    )
        return self._pool

    def compiled(self, statement: Executable, params: Mapping[str, Any]) -> _CompiledStatement:
        key = (id(statement), frozenset(params))
        found = self._compiled.get(key)
        if found is None:
            # INSERT/UPDATE compile to the columns given, as SQLAlchemy itself would.
            columns = list(params) if isinstance(statement, ValuesBase) else None
            clause = cast(ClauseElement, statement)
            found = _CompiledStatement(
                statement, clause.compile(dialect=self._dialect, column_keys=columns)
            )
            if len(self._compiled) >= _MAX_COMPILED:
                del self._compiled[next(iter(self._compiled))]
            self._compiled[key] = found
        return found

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _json_codecs(connection: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _end_open_transaction(connection: asyncpg.Connection) -> None:
    # Instead of asyncpg's default reset (a round trip on every release, undoing LISTEN,
    # SET and advisory locks, which units never use), only a transaction left open by a
    # cancelled request is rolled back.
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


class AsyncpgUnit(Unit):
    def __init__(self, connection: asyncpg.Connection, statements: PostgresStatements) -> None:
        self._connection = connection
        self._statements = statements

    async def row(self, statement: Executable, params: Mapping[str, Any]) -> Row | None:
        compiled = self._statements.compiled(statement, params)
        found = await self._connection.fetchrow(compiled.sql, *compiled.arguments(params))
        return cast(Row | None, found)

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> None:
        compiled = self._statements.compiled(statement, params)
        await self._connection.execute(compiled.sql, *compiled.arguments(params))

    async def run_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            compiled = self._statements.compiled(statement, rows[0])
            await self._connection.executemany(
                compiled.sql, [compiled.arguments(row) for row in rows]
            )
