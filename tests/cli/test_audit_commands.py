"""`libgate audit show`: staff read and export the audit trail without SQL, run as real
processes. A card number finds a resident's entries but is never printed; an export in
JSON lines carries what is needed to check it against the chain `audit verify` checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from libgate.privacy import AuditEntry, audit_row
from libgate.services import Services
from tests.conftest import Resident
from tests.support import pins
from tests.support.audit import entry_at
from tests.support.cli import libgate

NO_ENTRY_BEFORE_THE_FIRST = "0" * 64  # what the first entry of a chain links to


def jsonl(database_url: str, *options: str) -> list[dict[str, Any]]:
    shown = libgate(database_url, "audit", "show", "--format", "jsonl", *options)
    assert shown.returncode == 0, shown.stderr
    return [json.loads(line) for line in shown.stdout.splitlines()]


async def test_a_card_number_finds_what_was_released_about_that_resident(
    database_url: str, services: Services, patron: Resident
) -> None:
    """A subject access request: the card as printed on it, spaces and all."""
    await services.provider.sign_in_to_account(patron.card, patron.pin, "198.51.100.7")
    await services.provider.sign_in_to_account(patron.card, pins.new_pin(), "198.51.100.7")
    await services.provider.sign_in_to_account("29990000000999", pins.new_pin(), "203.0.113.9")
    async with services.database.transaction() as connection:
        # as the SIP2 gateway records an exchange: the card as the kiosk sent it
        await services.audit.record(
            connection,
            "sip2.exchange",
            patron_ref=services.pseudonyms.patron_ref(patron.card),
            client_id="kiosk-central",
            message="63",
            fields_released=["AE", "BL"],
        )
    card_as_printed = "2999 0000 0000 01"
    assert card_as_printed.replace(" ", "") == patron.card

    records = jsonl(database_url, "--card", card_as_printed)
    assert [r["event"] for r in records] == ["signin.success", "signin.failure", "sip2.exchange"]
    assert {r["patron_ref"] for r in records} == {services.pseudonyms.patron_ref(patron.card)}

    table = libgate(database_url, "audit", "show", "--card", card_as_printed)
    assert table.returncode == 0 and "sip2.exchange" in table.stdout
    for output in (json.dumps(records), table.stdout, table.stderr):
        assert patron.card not in output and card_as_printed not in output


async def test_an_event_prefix_and_a_vendor_show_what_that_vendor_received(
    database_url: str, services: Services
) -> None:
    await services.audit.record_rows(
        [
            audit_row("sip2.login", client_id="ebooks", ip="192.0.2.10"),
            audit_row("sip2.exchange", client_id="ebooks", message="63", fields_released=["AE"]),
            audit_row("sip2.exchange", client_id="kiosk-central", message="11"),
            audit_row("claims.released", client_id="ebooks", claims=["email"]),
        ]
    )
    records = jsonl(database_url, "--event", "sip2.", "--client", "ebooks")
    assert [(r["event"], r["detail"]) for r in records] == [
        ("sip2.login", {}),
        ("sip2.exchange", {"fields_released": ["AE"], "message": "63"}),
    ]


async def test_dates_are_utc_and_until_a_date_includes_that_whole_day(
    database_url: str, services: Services
) -> None:
    await services.audit.record_rows(
        [
            entry_at("2025-02-28T23:59:59", "signin.success", n="february"),
            entry_at("2025-03-01T00:00:00", "signin.success", n="first of march"),
            entry_at("2025-03-31T23:59:59", "signin.success", n="last of march"),
            entry_at("2025-04-01T00:00:00", "signin.success", n="april"),
        ]
    )
    march = jsonl(database_url, "--since", "2025-03-01", "--until", "2025-03-31")
    assert [r["detail"]["n"] for r in march] == ["first of march", "last of march"]
    assert march[0]["time"] == "2025-03-01T00:00:00+00:00"
    from_noon = jsonl(database_url, "--since", "2025-03-31T12:00")
    assert [r["detail"]["n"] for r in from_noon] == ["last of march", "april"]


def _check_chain(records: list[dict[str, Any]]) -> None:
    """What anyone holding the export can do: recompute each hash and follow the links."""
    previous = NO_ENTRY_BEFORE_THE_FIRST
    for seq, record in enumerate(records, start=1):
        entry = AuditEntry.from_record(record)
        assert (entry.seq, entry.prev_hash) == (seq, previous)
        assert entry.expected_hash(seq, previous) == entry.hash
        previous = record["hash"]


async def test_a_jsonl_export_checks_out_against_the_chain_verify_checks(
    database_url: str, services: Services
) -> None:
    await services.audit.record_rows(
        [
            audit_row("claims.released", client_id="portal", claims=["email", "name"], n=n)
            for n in range(4)
        ]
    )
    await services.audit.seal()
    await services.audit.record_rows([audit_row("signout", ip="198.51.100.7")])

    before = jsonl(database_url, "--limit", "0")
    _check_chain(before[:4])
    assert before[4]["sealed"] is False and before[4]["seq"] is None and before[4]["hash"] is None

    verified = libgate(database_url, "audit", "verify")  # seals the last one
    assert "intact: 5 entries" in verified.stdout
    after = jsonl(database_url, "--limit", "0")
    _check_chain(after)
    assert after[:4] == before[:4]
    assert after[4]["sealed"] is True


async def test_the_table_shows_each_entry_and_marks_those_not_yet_sealed(
    database_url: str, services: Services
) -> None:
    await services.audit.record_rows(
        [
            audit_row(
                "claims.released", client_id="portal", ip="198.51.100.7", claims=["email", "name"]
            )
        ]
    )
    await services.audit.seal()
    await services.audit.record_rows([audit_row("signout", ip="198.51.100.7")])

    table = libgate(database_url, "audit", "show")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    header = next(line for line in lines if "Event" in line)
    assert " ".join(header.split()) == "Seq Time (UTC) Event Resident Service Address Detail"
    sealed = next(line for line in lines if "claims.released" in line)
    assert sealed.split()[0] == "1" and "portal" in sealed and "claims=email name" in sealed
    assert "not sealed" in next(line for line in lines if "signout" in line)
    assert "2 entries, 1 not yet sealed into the chain." in table.stdout

    newest = libgate(database_url, "audit", "show", "--limit", "1")
    assert "claims.released" not in newest.stdout and "signout" in newest.stdout
    assert "--limit 0 shows all" in newest.stdout


@pytest.mark.parametrize(
    "options",
    [["--since", "31/03/2025"], ["--until", "yesterday"], ["--format", "csv"], ["--card", " "]],
    ids=["day-first date", "word for a date", "unknown format", "blank card"],
)
def test_a_bad_date_format_or_card_is_refused_in_one_line(
    options: list[str], tmp_path: Path
) -> None:
    refused = libgate(f"sqlite:///{tmp_path / 'unused.db'}", "audit", "show", *options)
    assert refused.returncode == 2
    assert refused.stdout == "" and len(refused.stderr.strip().splitlines()) == 1
    assert options[0] in refused.stderr
