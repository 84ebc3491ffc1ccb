"""Reading the audit trail: staff pick entries by event, service, resident and time, and
get them oldest first, the newest N when asked, in batches however long the trail is."""

from __future__ import annotations

import pytest

from libgate.privacy import AuditFilter, audit_row
from libgate.services import Services
from tests.support.audit import entry_at, utc


async def _events(services: Services, selection: AuditFilter) -> list[str]:
    return [entry.event async for entry in services.audit.entries(selection)]


async def _write(services: Services, *events: str) -> None:
    await services.audit.record_rows([audit_row(event) for event in events])


async def test_a_prefix_ending_in_a_dot_matches_every_event_of_that_kind(
    services: Services,
) -> None:
    await _write(
        services,
        "sip2.login",
        "signin.success",
        "sip2.exchange",
        "signin.refused_locked_out",
        "token.issued",
    )
    assert await _events(services, AuditFilter(events=("sip2.",))) == [
        "sip2.login",
        "sip2.exchange",
    ]
    assert await _events(services, AuditFilter(events=("signin.refused_locked_out", "token."))) == [
        "signin.refused_locked_out",
        "token.issued",
    ]


async def test_without_the_dot_an_event_name_matches_only_itself_and_case_counts(
    services: Services,
) -> None:
    await _write(services, "sip2.login", "signout")
    assert await _events(services, AuditFilter(events=("sip2",))) == []
    assert await _events(services, AuditFilter(events=("SIP2.",))) == []
    assert await _events(services, AuditFilter(events=("signout",))) == ["signout"]


async def test_one_services_entries_within_a_time_window(services: Services) -> None:
    await services.audit.record_rows(
        [
            entry_at("2025-03-01T08:59:59", "claims.released", client_id="portal"),
            entry_at("2025-03-01T09:00:00", "token.issued", client_id="portal"),
            entry_at("2025-03-01T09:30:00", "sip2.exchange", client_id="kiosk-central"),
            entry_at("2025-03-01T09:59:59", "claims.released", client_id="portal"),
            entry_at("2025-03-01T10:00:00", "token.refreshed", client_id="portal"),
        ]
    )
    window = AuditFilter(
        client_id="portal", since=utc("2025-03-01T09:00"), until=utc("2025-03-01T10:00")
    )
    assert await _events(services, window) == ["token.issued", "claims.released"]


async def test_a_residents_references_pick_out_their_entries(services: Services) -> None:
    mine = services.pseudonyms.patron_ref("29990000000001")
    theirs = services.pseudonyms.patron_ref("29990000000002")
    await services.audit.record_rows(
        [
            audit_row("signin.success", patron_ref=mine),
            audit_row("signin.success", patron_ref=theirs),
            audit_row("claims.released", patron_ref=mine),
            audit_row("sip2.login"),
        ]
    )
    selection = AuditFilter(patron_refs=frozenset({mine}))
    assert await _events(services, selection) == ["signin.success", "claims.released"]


async def test_newest_gives_the_last_n_matching_entries_oldest_first(
    services: Services,
) -> None:
    await services.audit.record_rows(
        [audit_row("token.issued" if n % 2 else "signout", n=n) for n in range(7)]
    )
    newest_two = AuditFilter(events=("token.",), newest=2)
    assert [e.detail["n"] async for e in services.audit.entries(newest_two)] == [3, 5]
    more_than_there_are = AuditFilter(events=("token.",), newest=10)
    assert [e.detail["n"] async for e in services.audit.entries(more_than_there_are)] == [1, 3, 5]


def test_newest_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        AuditFilter(newest=0)


async def test_a_trail_longer_than_a_batch_is_read_whole_and_once(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("libgate.privacy._audit._BATCH", 3)
    await services.audit.record_rows([audit_row("token.issued", n=n) for n in range(10)])
    assert [e.detail["n"] async for e in services.audit.entries()] == list(range(10))
    last_five = AuditFilter(events=("token.",), newest=5)
    assert [e.detail["n"] async for e in services.audit.entries(last_five)] == [5, 6, 7, 8, 9]


async def test_entries_not_yet_sealed_are_read_and_say_so(services: Services) -> None:
    await _write(services, "signin.success", "token.issued")
    await services.audit.seal()
    await _write(services, "claims.released")
    entries = [entry async for entry in services.audit.entries()]
    assert [(e.sealed, e.seq) for e in entries] == [(True, 1), (True, 2), (False, None)]
