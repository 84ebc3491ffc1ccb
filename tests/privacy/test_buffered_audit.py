"""The gateway's batched audit entries: one the database refuses costs only itself, and
one it could not hold as it is is stored as near as it can be."""

from __future__ import annotations

import logging

import pytest

from libgate.privacy import BufferedAudit
from libgate.services import Services


async def test_an_entry_the_database_refuses_costs_only_itself(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    buffered = BufferedAudit(services.audit, interval=3600)  # written at close, in one batch
    buffered.add("sip2.login", client_id="before")
    buffered.add(None)  # type: ignore[arg-type]  # refused: every entry names its event
    buffered.add("sip2.login", client_id="after")
    with caplog.at_level(logging.ERROR, logger="libgate.audit"):
        await buffered.close()
    written = [e.client_id async for e in services.audit.entries() if e.event == "sip2.login"]
    assert written == ["before", "after"]
    assert [r.getMessage() for r in caplog.records] == ["audit entry refused by the database"]


async def test_a_who_no_column_could_hold_is_stored_as_near_as_it_can_be(
    services: Services,
) -> None:
    # Half a UTF-16 pair and a NUL: neither database takes them as they are.
    buffered = BufferedAudit(services.audit, interval=3600)
    buffered.add("sip2.login_failed", client_id="a\ud800b\x00c")
    await buffered.close()
    [entry] = [e async for e in services.audit.entries()]
    assert entry.client_id == "a?b\ufffdc"
