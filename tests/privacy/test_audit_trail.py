"""The audit trail is append-only and hash-chained: `libgate audit verify` passes on an
intact chain and names the first broken entry after any row is edited or deleted."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, update

from libgate.db.tables import audit_head, audit_log
from libgate.privacy import AuditEntry, _audit, audit_row
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


async def _hash_of(services: Services, seq: int) -> str:
    async with services.database.read() as connection:
        found = await connection.scalar(select(audit_log.c.hash).where(audit_log.c.seq == seq))
    assert isinstance(found, str)
    return found


async def _set_head(services: Services, seq: int, hash_: str) -> None:
    """As someone with write access to the database might: the chain's head moved."""
    async with services.database.transaction() as connection:
        await connection.execute(update(audit_head).values(seq=seq, hash=hash_))


async def _head(services: Services) -> tuple[int, str] | None:
    async with services.database.read() as connection:
        row = (await connection.execute(select(audit_head.c.seq, audit_head.c.hash))).first()
    return None if row is None else (row.seq, row.hash)


async def test_verify_passes_on_an_intact_chain(services: Services, database_url: str) -> None:
    await _write_entries(services, 5)
    result = _verify(database_url)
    assert result.returncode == 0, result.stderr
    assert "intact: 5 entries" in result.stdout
    # for staff to keep outside the database: a trimmed chain with a head rewritten to
    # match would otherwise check out
    assert f"Head: entry 5, hash {await _hash_of(services, 5)}." in result.stdout


def test_a_trail_never_written_verifies_as_empty(database_url: str) -> None:
    result = _verify(database_url)
    assert result.returncode == 0, result.stderr
    assert "intact: 0 entries" in result.stdout
    assert f"Head: entry 0, hash {'0' * 64}." in result.stdout


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
    checked = await services.audit.verify()
    assert checked.count == 2 and checked.broken is not None and checked.broken.seq == 3


async def test_a_rewritten_chain_with_recomputed_hashes_still_breaks_at_the_head(
    services: Services,
) -> None:
    """Editing a row and fixing its own hash breaks the link of the next entry."""
    await _write_entries(services, 3)
    async with services.database.transaction() as connection:
        await connection.execute(
            update(audit_log).where(audit_log.c.seq == 2).values(hash="0" * 64)
        )
    broken = (await services.audit.verify()).broken
    assert broken is not None and broken.seq == 2


async def test_a_deleted_head_is_reported_and_not_recreated(
    services: Services, database_url: str
) -> None:
    """Recreated at 0, the head would hide every entry from the check and jam sealing."""
    await _write_entries(services, 5)
    head = await _head(services)
    assert head is not None
    async with services.database.transaction() as connection:
        await connection.execute(delete(audit_head))

    result = _verify(database_url)
    assert result.returncode == 1
    assert "broken at the head: missing" in result.stderr
    assert "(5 entries before it are intact)" in result.stderr
    assert await _head(services) is None

    async with services.database.transaction() as connection:
        await connection.execute(insert(audit_head).values(id=1, seq=head[0], hash=head[1]))
    assert "intact: 5 entries" in _verify(database_url).stdout


async def test_an_edit_hidden_behind_a_deleted_head_is_found(
    services: Services, database_url: str
) -> None:
    await _write_entries(services, 5)
    async with services.database.transaction() as connection:
        await connection.execute(delete(audit_head))
        await connection.execute(
            update(audit_log).where(audit_log.c.seq == 2).values(client_id="someone-else")
        )
    result = _verify(database_url)
    assert result.returncode == 1
    assert "broken at entry 2" in result.stderr and "changed" in result.stderr


async def test_a_head_moved_back_is_reported_at_the_first_entry_past_it(
    services: Services, database_url: str
) -> None:
    """Moved back to a real entry and its hash, the head would hide the entries after it."""
    await _write_entries(services, 5)
    await _set_head(services, 3, await _hash_of(services, 3))
    async with services.database.transaction() as connection:
        await connection.execute(
            update(audit_log).where(audit_log.c.seq == 5).values(client_id="someone-else")
        )
    result = _verify(database_url)
    assert result.returncode == 1
    assert "broken at entry 4: sealed after the head" in result.stderr


async def test_a_rewritten_head_hash_is_reported(services: Services, database_url: str) -> None:
    await _write_entries(services, 3)
    await _set_head(services, 3, "0" * 64)
    result = _verify(database_url)
    assert result.returncode == 1
    assert "broken at the head: does not match the newest entry" in result.stderr


async def test_sealing_behind_a_moved_head_logs_an_error_and_leaves_entries_unsealed(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """Sealing on would give entry 4's seq to another entry: a database error every second."""
    await _write_entries(services, 5)
    head = await _head(services)
    assert head is not None
    await _set_head(services, 3, await _hash_of(services, 3))
    await services.audit.record_rows([audit_row("test.late")])

    with caplog.at_level(logging.ERROR, logger="libgate.audit"):
        assert await services.audit.seal() == 0
    assert [r.getMessage() for r in caplog.records if r.name == "libgate.audit"] == [
        "audit entries not sealed: an entry is sealed past the chain's head"
    ]
    assert [entry.sealed async for entry in services.audit.entries()][-1] is False

    await _set_head(services, *head)  # once put right, sealing resumes
    checked = await services.audit.verify()
    assert (checked.count, checked.broken) == (6, None)


@pytest.mark.parametrize("seq", [999, -1], ids=["past the head", "before the first"])
async def test_an_entry_forged_outside_the_chain_is_named(
    seq: int, services: Services, database_url: str
) -> None:
    await _write_entries(services, 5)
    forged = {**audit_row("signin.success"), "seq": seq, "prev_hash": "0" * 64, "hash": "f" * 64}
    async with services.database.transaction() as connection:
        await connection.execute(insert(audit_log).values(forged))

    result = _verify(database_url)
    assert result.returncode == 1
    assert f"broken at entry {seq}:" in result.stderr

    async with services.database.transaction() as connection:
        await connection.execute(delete(audit_log).where(audit_log.c.seq == seq))
    assert "intact: 5 entries" in _verify(database_url).stdout


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
    checked = await services.audit.verify()
    assert (checked.count, checked.broken) == (20, None)


async def test_entries_written_since_the_last_seal_are_sealed_by_verify(
    services: Services,
) -> None:
    await _write_entries(services, 2)
    async with services.database.transaction() as connection:
        await services.audit.record(connection, "test.late")
    checked = await services.audit.verify()
    assert (checked.count, checked.broken) == (3, None)


async def test_entries_sealed_while_verify_reads_are_left_for_the_next_check(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify reads the head and the entries as of one moment: an instance sealing between
    the two reads is no entry "sealed after the head"."""
    await _write_entries(services, 3)
    read_in_order = _audit._in_order

    async def sealing_meanwhile(*args: Any, **kwargs: Any) -> AsyncIterator[AuditEntry]:
        await services.audit.record_rows([audit_row("test.meanwhile")])
        assert await services.audit.seal() == 1
        async for entry in read_in_order(*args, **kwargs):
            yield entry

    monkeypatch.setattr(_audit, "_in_order", sealing_meanwhile)
    checked = await services.audit.verify()
    assert (checked.count, checked.broken, checked.head_seq) == (3, None, 3)
    monkeypatch.undo()
    assert (await services.audit.verify()).count == 4


async def test_secrets_cannot_be_written_to_the_audit_trail(services: Services) -> None:
    import pytest

    async with services.database.transaction() as connection:
        with pytest.raises(ValueError, match="pin"):
            await services.audit.record(connection, "test.leak", pin="1234")
