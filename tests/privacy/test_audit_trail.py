"""The audit trail is append-only and hash-chained: `libgate audit verify` passes on an
intact chain and names the first broken entry after any row is edited or deleted."""

from __future__ import annotations

import subprocess

from sqlalchemy import delete, func, select, update

from libgate.db.tables import audit_log
from libgate.services import Services
from tests.support.cli import libgate


async def _write_entries(services: Services, count: int) -> None:
    """Write and seal ``count`` entries, as a running libgate does within a second."""
    for index in range(count):
        async with services.database.transaction() as connection:
            await services.audit.record(
                connection, "test.event", patron_ref=f"ref{index}", client_id="c", n=index
            )
    assert await services.audit.seal() == count


def _verify(database_url: str) -> subprocess.CompletedProcess[str]:
    return libgate(database_url, "audit", "verify")


async def test_verify_passes_on_an_intact_chain(services: Services, database_url: str) -> None:
    await _write_entries(services, 5)
    result = _verify(database_url)
    assert result.returncode == 0, result.stderr
    assert "intact: 5 entries" in result.stdout


async def test_verify_names_the_entry_that_was_edited(
    services: Services, database_url: str
) -> None:
    await _write_entries(services, 5)
    async with services.database.transaction() as connection:
        await connection.execute(
            update(audit_log).where(audit_log.c.seq == 3).values(client_id="someone-else")
        )
    result = _verify(database_url)
    assert result.returncode == 1
    assert "broken at entry 3" in result.stderr and "changed" in result.stderr


async def test_verify_names_the_entry_that_was_deleted(
    services: Services, database_url: str
) -> None:
    await _write_entries(services, 5)
    async with services.database.transaction() as connection:
        await connection.execute(delete(audit_log).where(audit_log.c.seq == 2))
    result = _verify(database_url)
    assert result.returncode == 1
    assert "broken at entry 2" in result.stderr and "missing" in result.stderr


async def test_deleting_the_newest_entry_is_noticed(services: Services) -> None:
    await _write_entries(services, 3)
    async with services.database.transaction() as connection:
        await connection.execute(delete(audit_log).where(audit_log.c.seq == 3))
    count, broken = await services.audit.verify()
    assert count == 2 and broken is not None and broken.seq == 3


async def test_a_rewritten_chain_with_recomputed_hashes_still_breaks_at_the_head(
    services: Services,
) -> None:
    """Editing a row and fixing its own hash breaks the link of the next entry."""
    await _write_entries(services, 3)
    async with services.database.transaction() as connection:
        await connection.execute(
            update(audit_log).where(audit_log.c.seq == 2).values(hash="0" * 64)
        )
    _, broken = await services.audit.verify()
    assert broken is not None and broken.seq == 2


async def test_concurrent_writers_and_sealers_make_one_unbroken_chain(
    services: Services,
) -> None:
    import asyncio

    async def writer(index: int) -> None:
        async with services.database.transaction() as connection:
            await services.audit.record(connection, "test.concurrent", n=index)
        await services.audit.seal()

    await asyncio.gather(*(writer(index) for index in range(20)))
    async with services.database.read() as connection:
        assert await connection.scalar(select(func.count()).select_from(audit_log)) == 20
    count, broken = await services.audit.verify()
    assert (count, broken) == (20, None)


async def test_entries_written_since_the_last_seal_are_sealed_by_verify(
    services: Services,
) -> None:
    await _write_entries(services, 2)
    async with services.database.transaction() as connection:
        await services.audit.record(connection, "test.late")
    assert await services.audit.verify() == (3, None)


async def test_secrets_cannot_be_written_to_the_audit_trail(services: Services) -> None:
    import pytest

    async with services.database.transaction() as connection:
        with pytest.raises(ValueError, match="pin"):
            await services.audit.record(connection, "test.leak", pin="1234")
