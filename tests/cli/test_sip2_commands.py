"""`libgate sip2 ...`: checking an LMS step by step, vendor accounts and the offline
journal, run as real processes."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from libgate.services import Services
from libgate.sip2 import LmsLink, LmsPool, Message
from libgate.sip2.gateway import Journal
from libgate.testing.processes import libgate_env
from libgate.testing.sip2_lms import EmulatedItem, EmulatedPatron, LmsEmulator
from tests.support import pins
from tests.support.gateway import add_vendor, gateway_running, gateway_settings, lms_settings
from tests.support.sip2 import LMS_PASSWORD

CARD, PIN = "29990000000051", pins.new_pin()


async def libgate(database_url: str, *args: str) -> tuple[int, str]:
    """Run the command without blocking the event loop the emulator answers on."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "libgate",
        *args,
        env={**libgate_env(database_url, "http://libgate.test"), "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


@pytest.fixture
async def lms() -> AsyncIterator[LmsEmulator]:
    async with LmsEmulator(patrons=[EmulatedPatron(CARD, PIN, "Ada Lovelace")]) as emulator:
        yield emulator


async def check(lms: LmsEmulator, *extra: str, login: str = LMS_PASSWORD) -> tuple[int, str]:
    return await libgate(
        "sqlite:///unused.db",
        "sip2",
        "check",
        f"{lms.host}:{lms.port}",
        "--login",
        f"libgate:{login}",
        "--institution",
        "LIB",
        *extra,
    )


async def test_check_passes_every_step_and_never_prints_the_pin(lms: LmsEmulator) -> None:
    code, output = await check(lms, "--patron", CARD, "--pin", PIN)
    assert code == 0, output
    for step in ("connect", "login", "status", "patron PIN"):
        assert step in output
    assert "Every step passed" in output and PIN not in output


async def test_check_explains_each_failure(lms: LmsEmulator) -> None:
    code, output = await check(lms, login="wrong")
    assert (
        code == 1 and "refused the login" in output and "SIP2 user name" in " ".join(output.split())
    )
    code, output = await check(lms, "--patron", CARD, "--pin", PIN + "0")
    assert code == 1 and "CQ" in output and PIN not in output
    await lms.stop()
    code, output = await check(lms)
    assert code == 1 and "firewall" in output and "[lms] tls_ca_file" in " ".join(output.split())


async def test_check_without_an_address_checks_the_lms_settings_as_sign_in_uses_them(
    lms: LmsEmulator, tmp_path: Path
) -> None:
    config = tmp_path / "libgate.toml"
    config.write_text(
        "[lms]\n"
        + "".join(f"{key} = {json.dumps(value)}\n" for key, value in lms_settings(lms).items())
        + 'terminal_password = "terminal-7"\nlocation_code = "BRANCH-3"\n',
        encoding="utf-8",
    )
    code, output = await libgate(
        "sqlite:///unused.db", "sip2", "check", "--config", str(config), "--patron", CARD,
        "--pin", PIN,
    )  # fmt: skip
    assert code == 0, output
    assert f"{lms.host}:{lms.port}" in output and "Every step passed" in output
    assert [m.get("CP") for m in lms.received if m.code == "93"] == ["BRANCH-3"] * 2
    assert [m.get("AC") for m in lms.received if m.code == "63"] == ["terminal-7"]


async def test_check_says_which_options_go_with_an_address(tmp_path: Path) -> None:
    code, output = await libgate("sqlite:///unused.db", "sip2", "check", "--login", "a:b")
    assert code == 2 and "--login: give HOST:PORT too" in output
    code, output = await libgate("sqlite:///unused.db", "sip2", "check", "127.0.0.1:1")
    assert code == 2 and "Give --login USER:PASSWORD with HOST:PORT" in output
    config = tmp_path / "libgate.toml"
    config.write_text("", encoding="utf-8")
    code, output = await libgate(
        "sqlite:///unused.db", "sip2", "check", "127.0.0.1:1", "--config", str(config)
    )
    assert code == 2 and "leave out HOST:PORT" in output


async def test_check_names_the_tls_files_it_cannot_use(tmp_path: Path) -> None:
    config = tmp_path / "libgate.toml"
    config.write_text(f'[lms]\ntls_client_cert = "{tmp_path / "none.pem"}"\n', encoding="utf-8")
    code, output = await libgate("sqlite:///unused.db", "sip2", "check", "--config", str(config))
    assert code == 2 and "tls_client_cert" in output and "Traceback" not in output
    code, output = await libgate(
        "sqlite:///unused.db", "sip2", "check", "127.0.0.1:1", "--login", "a:b", "--tls",
        "--ca-file", str(tmp_path / "none.pem"),
    )  # fmt: skip
    assert code == 2 and "--ca-file could not be used" in output and "Traceback" not in output


async def test_vendor_accounts_are_added_listed_and_removed(
    database_url: str, services: Services
) -> None:
    code, output = await libgate(
        database_url, "sip2", "vendors", "add", "ebooks", "--policy", "validation", "--json"
    )
    assert code == 0, output
    vendor = json.loads(output)
    assert vendor["login"] == "ebooks" and len(vendor["password"]) >= 24
    code, output = await libgate(database_url, "sip2", "vendors", "list")
    assert "ebooks" in output and "validation" in output and vendor["password"] not in output
    code, output = await libgate(database_url, "sip2", "vendors", "add", "x", "--policy", "nope")
    assert code == 2 and "no policy 'nope'" in output
    assert (await libgate(database_url, "sip2", "vendors", "remove", "ebooks"))[0] == 0
    assert (await libgate(database_url, "sip2", "vendors", "remove", "ebooks"))[0] == 1


async def test_the_journal_lists_what_still_needs_attention(
    database_url: str, services: Services
) -> None:
    journal = Journal(services.database)
    checkout = Message.build(
        "11",
        {"sc_renewal_policy": "N", "no_block": "N", "nb_due_date": " " * 18},
        [("AO", "LIB"), ("AA", CARD), ("AB", "31000000000051"), ("AD", PIN)],
    )
    await journal.accept("kiosk-1", checkout, loans_per_patron=5)
    code, output = await libgate(database_url, "sip2", "journal")
    assert code == 0 and "checkout" in output and "31000000000051" in output
    assert "pending" in output and PIN not in output


async def test_journal_entries_applied_or_resolved_by_staff_are_forgotten_after_a_while(
    database_url: str, services: Services
) -> None:
    journal = Journal(services.database)
    for barcode in ("31000000000052", "31000000000053"):  # only the first exists in the LMS
        await journal.accept(
            "kiosk-1",
            Message.build(
                "09",
                {"no_block": "N", "return_date": " " * 18},
                [("AP", "MAIN"), ("AO", "LIB"), ("AB", barcode)],
            ),
            loans_per_patron=5,
        )
    book = EmulatedItem("31000000000052", "A book", on_loan_to=CARD)
    async with LmsEmulator(patrons=[EmulatedPatron(CARD, PIN, "Ada")], items=[book]) as lms:
        pool = LmsPool(LmsLink(lms.host, lms.port, "libgate", LMS_PASSWORD))
        try:
            assert await journal.replay(pool) == 2
        finally:
            await pool.close()
    applied, failed = await journal.entries()
    assert (applied.state, failed.state) == ("applied", "failed")
    await journal.purge_applied(older_than=0)
    assert [(e.item, e.state) for e in await journal.entries()] == [("31000000000053", "failed")]
    # Staff put the failed return right in the LMS by hand, and say so.
    pending = await journal.accept(
        "kiosk-1",
        Message.build(
            "09",
            {"no_block": "N", "return_date": " " * 18},
            [("AO", "LIB"), ("AB", "31000000000054")],
        ),
        loans_per_patron=5,
    )
    assert pending.fixed_value("ok") == "1"
    waiting = (await journal.entries())[-1].id
    code, output = await libgate(
        database_url, "sip2", "journal", "--resolve", str(failed.id), "--resolve", str(waiting)
    )
    assert code == 1
    assert f"Resolved: #{failed.id}." in output and f"Not resolved: #{waiting}" in output
    await journal.purge_applied(older_than=0)
    assert [(e.id, e.state) for e in await journal.entries()] == [(waiting, "pending")]


async def test_check_monitors_the_gateway_itself(lms: LmsEmulator, database_url: str) -> None:
    settings = gateway_settings(database_url, lms)
    password = await add_vendor(settings, "monitoring", "validation")
    async with gateway_running(settings) as gateway:
        address = f"127.0.0.1:{gateway.port}"
        code, output = await libgate(
            database_url, "sip2", "check", address, "--login", f"monitoring:{password}"
        )
        assert code == 0, output
        await lms.stop()
        code, output = await libgate(
            database_url, "sip2", "check", address, "--login", f"monitoring:{password}"
        )
    assert code == 1 and "offline" in output
