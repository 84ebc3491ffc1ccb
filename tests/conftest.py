"""Shared fixtures. Every test that touches storage runs on both SQLite (the embedded
default) and PostgreSQL (127.0.0.1:5432, database ``test``). Without PostgreSQL the
PostgreSQL half skips with a reason, except under CI (``CI=true``), where it fails."""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import select, text

from libgate.app import create_app
from libgate.config import Settings
from libgate.db import Database, metadata, upgrade_to_latest
from libgate.observability import JsonFormatter
from libgate.patrons import import_patrons_csv
from libgate.services import Services, build_services
from tests.support import pins

POSTGRES_URL = os.environ.get("LIBGATE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
ISSUER = "http://libgate.test"
ARTIFACTS = Path(os.environ.get("LIBGATE_TEST_ARTIFACTS", "test-artifacts")).resolve()


# Which process of the run this is: "gw0", "gw1"... when pytest-xdist spreads the tests
# over several, else "main".
PROCESS = os.environ.get("PYTEST_XDIST_WORKER", "main")
# What each process of a run leaves for the leak check: the PINs it typed, where its
# temporary folders are.
LEFT_FOR_LEAK_CHECK = ARTIFACTS / "left-for-leak-check"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--check-previous-run",
        action="store_true",
        help="keep what the previous run left in the artifacts folder, for the tests marked "
        "'last' (the PIN leak check) to read: make test runs them so after its parallel run",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Only the run's first process starts afresh: pytest-xdist's workers start after it.
    starts_run = not hasattr(config, "workerinput")
    if starts_run and not config.getoption("check_previous_run") and ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    for folder in ("logs", "dumps", LEFT_FOR_LEAK_CHECK.name):
        (ARTIFACTS / folder).mkdir(parents=True, exist_ok=True)
    # Everything libgate logs in-process is kept too, for the leak check.
    log_file = ARTIFACTS / "logs" / f"in-process-{PROCESS}.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    logging.getLogger("libgate").setLevel(logging.DEBUG)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The leak check reads what every other test left behind, so it runs last; and not at
    # all in a worker process, which cannot know when the others have finished.
    if hasattr(config, "workerinput"):
        kept = [item for item in items if item.get_closest_marker("last") is None]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


@pytest.fixture(scope="session", autouse=True)
def left_for_leak_check(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the end of each process's tests: the PINs they typed and where their temporary
    folders are, for a leak check run after them (the tests' own input, like their CSVs)."""
    yield
    record = {"pins": sorted(pins.USED), "temporary": str(tmp_path_factory.getbasetemp())}
    path = LEFT_FOR_LEAK_CHECK / f"{PROCESS}-{os.getpid()}.json"
    path.write_text(json.dumps(record), encoding="utf-8")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    return ARTIFACTS


async def admin_sql(sql: str) -> None:
    """Run ``sql`` on the PostgreSQL server (outside the test database: CREATE DATABASE)."""
    connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_ready() -> Iterator[str]:
    """A database of this test run's own on the PostgreSQL server (so concurrent runs do not
    disturb each other), migrated once, dropped at the end."""
    name = f"libgate_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        message = f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(upgrade_to_latest(url))
    yield url
    asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    template = tmp_path_factory.mktemp("template") / "libgate.db"
    asyncio.run(upgrade_to_latest(f"sqlite:///{template}"))
    return template


async def truncate_postgres(url: str) -> None:
    database = Database(url)
    try:
        async with database.transaction() as connection:
            names = ", ".join(table.name for table in metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {names}"))
    finally:
        await database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "libgate.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_ready")
    asyncio.run(truncate_postgres(url))
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        issuer=ISSUER,
        database_url=database_url,
        throttle={"lockout_seconds": 2, "max_lockout_seconds": 8},  # type: ignore[arg-type]
        search={"local_index": str(tmp_path / "catalogue.db")},  # type: ignore[arg-type]
    )


async def dump_database(services: Services, name: str) -> None:
    """Write every row of every table to the artifacts folder, for the leak check."""
    lines: list[str] = []
    async with services.database.transaction() as connection:
        for table in metadata.sorted_tables:
            for row in (await connection.execute(select(table))).all():
                lines.append(f"{table.name}: {tuple(row)!r}")
    safe = "".join(ch if ch.isalnum() else "_" for ch in name)[-120:]
    (ARTIFACTS / "dumps" / f"{safe}.txt").write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture
async def services(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Services]:
    built = await build_services(settings, migrate=False)
    try:
        yield built
    finally:
        await dump_database(built, request.node.nodeid)
        await built.close()


@pytest.fixture
def app(settings: Settings, services: Services) -> Any:
    return create_app(settings, services=services)


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


class Resident:
    def __init__(self, card: str, pin: str, name: str, email: str) -> None:
        self.card, self.pin, self.name, self.email = card, pin, name, email


def write_patrons_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle,
            fieldnames=["card", "pin", "name", "email", "expires", "branch", "category", "blocked"],
        )
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    "expires": "2030-01-31",
                    "branch": "Central",
                    "category": "ADULT",
                    "blocked": "",
                    **row,
                }
            )
    return path


@pytest.fixture
async def patron(services: Services, tmp_path: Path) -> Resident:
    """One resident in good standing, with a distinctive PIN."""
    resident = Resident("29990000000001", pins.new_pin(), "Ada Lovelace", "ada@example.org")
    csv_path = write_patrons_csv(
        tmp_path / "patrons.csv",
        [
            {
                "card": resident.card,
                "pin": resident.pin,
                "name": resident.name,
                "email": resident.email,
            }
        ],
    )
    report = await import_patrons_csv(services.database, csv_path, services.hasher)
    assert report.imported == 1, report.problems
    return resident


@pytest.fixture
def log_dir() -> Iterator[Path]:
    yield ARTIFACTS / "logs"


class RegisteredClient:
    def __init__(self, client_id: str, secret: str | None, redirect_uri: str) -> None:
        self.client_id, self.secret, self.redirect_uri = client_id, secret, redirect_uri

    @property
    def auth(self) -> tuple[str, str]:
        assert self.secret is not None
        return (self.client_id, self.secret)


async def register(
    services: Services,
    name: str = "Council portal",
    redirect_uri: str = "https://portal.example.org/callback",
    **options: Any,
) -> RegisteredClient:
    options.setdefault("scopes", ["profile", "email", "library"])
    client, secret = await services.clients.add(name=name, redirect_uris=[redirect_uri], **options)
    return RegisteredClient(client.client_id, secret, redirect_uri)


@pytest.fixture
async def portal(services: Services) -> RegisteredClient:
    """A confidential client (client_secret_basic), like the council's web portal."""
    return await register(
        services, post_logout_redirect_uris=["https://portal.example.org/signed-out"]
    )
