"""A database that cannot be reached, told apart from every other failure: staff then read
why in words, and a scheduled check does not take an outage for something worse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asyncpg import exceptions as postgres
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

_CONNECTION_FAILURES = (
    OSError,  # refused, no route, no such host; SQLite's folder missing
    OperationalError,  # as SQLAlchemy reports those
    InterfaceError,
    postgres.PostgresConnectionError,
    postgres.InvalidAuthorizationSpecificationError,  # wrong user or password
    postgres.InvalidCatalogNameError,  # no such database
    postgres.CannotConnectNowError,  # starting up or shutting down
)
_REASON_LENGTH = 200
_CAUSES_LOOKED_AT = 5


class DatabaseUnreachable(Exception):
    """libgate could not connect to its database. The message names the database (never
    its password) and says why."""


@asynccontextmanager
async def reaching(url: str) -> AsyncIterator[None]:
    """Failures to connect to the database at ``url``, inside, as DatabaseUnreachable."""
    try:
        yield
    except Exception as exc:
        failure = _connection_failure(exc)
        if failure is None:
            raise
        said = str(failure).splitlines()
        reason = (said[0][:_REASON_LENGTH] if said else "") or type(failure).__name__
        raise DatabaseUnreachable(
            f"could not reach the database {_shown(url)} ({reason}); "
            "is it running, and is database_url right?"
        ) from exc


def is_connection_failure(error: BaseException) -> bool:
    """Whether ``error`` is (or was caused by) a failure to reach the database, rather than
    the database refusing what it was asked."""
    return _connection_failure(error) is not None


def _connection_failure(error: BaseException) -> BaseException | None:
    """The failure to connect that ``error`` is, or was caused by (SQLAlchemy wraps the
    driver's errors); None for anything else."""
    found: BaseException | None = error
    for _ in range(_CAUSES_LOOKED_AT):
        if found is None:
            return None
        if isinstance(found, _CONNECTION_FAILURES):
            return getattr(found, "orig", None) or found
        found = getattr(found, "orig", None) or found.__cause__
    return None


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "named by database_url"
