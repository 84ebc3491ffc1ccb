"""The staff's `libgate` commands, run as real processes against the test database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from libgate.config import Settings, ThrottleSettings
from libgate.patrons import Patron
from libgate.services import Services
from libgate.testing.processes import free_port, libgate_env
from tests.conftest import Resident, write_patrons_csv
from tests.support import pins
from tests.support.cli import libgate


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Lockouts that outlast a few commands' start-up, however busy the machine."""
    return settings.model_copy(update={"throttle": ThrottleSettings(lockout_seconds=600)})


async def test_clients_add_prints_the_client_and_its_secret_once_as_json(
    database_url: str, services: Services
) -> None:
    added = libgate(
        database_url,
        "clients",
        "add",
        "--name",
        "Council portal",
        "--redirect-uri",
        "https://portal.example.org/cb",
        "--scope",
        "email",
        "--json",
    )
    assert added.returncode == 0, added.stderr
    client = json.loads(added.stdout)
    assert client["client_secret"] and client["scope"] == "email openid"
    assert client["subject_type"] == "pairwise"
    stored = await services.clients.get(client["client_id"])
    assert stored is not None and stored.secret_matches(client["client_secret"])
    assert client["client_secret"] not in (stored.secret_hash or "")

    listed = json.loads(libgate(database_url, "clients", "list", "--json").stdout)
    assert [c["client_id"] for c in listed] == [client["client_id"]]
    assert "client_secret" not in listed[0]

    assert libgate(database_url, "clients", "remove", client["client_id"]).returncode == 0
    assert libgate(database_url, "clients", "remove", client["client_id"]).returncode == 1


def test_clients_add_explains_what_it_refuses(database_url: str) -> None:
    refused = libgate(
        database_url,
        "clients",
        "add",
        "--name",
        "Bad",
        "--redirect-uri",
        "http://portal.example.org/cb",
    )
    assert refused.returncode == 2 and "must be https" in refused.stderr


def test_a_public_client_gets_no_secret(database_url: str) -> None:
    added = libgate(
        database_url,
        "clients",
        "add",
        "--name",
        "App",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1:9000/cb",
        "--json",
    )
    client = json.loads(added.stdout)
    assert client["token_endpoint_auth_method"] == "none" and "client_secret" not in client


async def test_patrons_import_reports_bad_rows_and_imports_the_rest(
    database_url: str, services: Services, tmp_path: Path
) -> None:
    good_pin = pins.new_pin()
    csv_path = write_patrons_csv(
        tmp_path / "patrons.csv",
        [
            {
                "card": "29990000000101",
                "pin": good_pin,
                "name": "Good Row",
                "email": "g@example.org",
            },
            {"card": "29990000000102", "pin": "12", "name": "Short Pin", "email": ""},
            {
                "card": "29990000000103",
                "pin": pins.new_pin(),
                "name": "Bad Date",
                "email": "",
                "expires": "31/01/2030",
            },
        ],
    )
    result = libgate(database_url, "patrons", "import", str(csv_path))
    assert result.returncode == 1
    assert "Imported 1 patron" in result.stdout
    assert "line 3" in result.stderr and "shorter than 4" in result.stderr
    assert "line 4" in result.stderr and "YYYY-MM-DD" in result.stderr
    assert "12" not in result.stderr.replace("line", "")  # the short PIN is not echoed
    assert await services.directory.lookup("29990000000101") is not None


def test_patrons_import_names_a_wrong_header(database_url: str, tmp_path: Path) -> None:
    csv_path = tmp_path / "wrong.csv"
    csv_path.write_text("barcode,pin\n1,2\n")
    result = libgate(database_url, "patrons", "import", str(csv_path))
    assert result.returncode == 1 and "missing card" in result.stderr


async def test_patrons_import_skips_misshapen_and_repeated_rows_with_their_line_numbers(
    database_url: str, services: Services, tmp_path: Path
) -> None:
    first_pin, typed = pins.new_pin(), [pins.new_pin() for _ in range(3)]
    csv_path = tmp_path / "patrons.csv"
    csv_path.write_text(
        "card,pin,name,email,expires,branch,category,blocked\n"
        f"2999-0000-0000-03,{first_pin},First Line,,2030-01-31,Central,ADULT,\n"
        f"29990000000004,{typed[0]},Short Row\n"
        f"29990000000005,{typed[1]},Okafor, Amara,,2030-01-31,Central,ADULT,\n"
        f"29990000000003,{typed[2]},Repeated Card,,2030-01-31,Central,ADULT,\n",
        encoding="utf-8",
    )
    result = libgate(database_url, "patrons", "import", str(csv_path))
    assert result.returncode == 1, result.stderr
    assert "Imported 1 patron" in result.stdout
    assert "Traceback" not in result.stderr
    assert "line 3: 3 field(s) where the header has 8" in result.stderr
    assert "line 4: 9 field(s) where the header has 8" in result.stderr
    assert "line 5: card 29990000000003 repeats line 2" in result.stderr
    for pin in (first_pin, *typed):
        assert pin not in result.stderr and pin not in result.stdout
    kept = await services.directory.authenticate("29990000000003", first_pin)
    assert isinstance(kept, Patron) and kept.name == "First Line"
    assert await services.directory.lookup("29990000000004") is None
    assert await services.directory.lookup("29990000000005") is None


async def test_patrons_import_refuses_a_file_that_is_not_utf8(
    database_url: str, services: Services, tmp_path: Path
) -> None:
    csv_path = tmp_path / "from-excel.csv"
    csv_path.write_bytes(
        b"card,pin,name,email,expires,branch,category\n"
        + f"29990000000201,{pins.new_pin()},Zo\u00eb Price,,,Central,ADULT\n".encode("cp1252")
    )
    result = libgate(database_url, "patrons", "import", str(csv_path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "from-excel.csv is not UTF-8" in result.stderr and "line 2" in result.stderr
    assert await services.directory.lookup("29990000000201") is None


async def test_lockouts_list_and_clear(
    database_url: str, services: Services, patron: Resident
) -> None:
    for _ in range(10):
        await services.provider.sign_in_to_account(patron.card, pins.new_pin(), "10.0.0.5")
    listed = libgate(database_url, "lockouts", "list")
    assert patron.card in listed.stdout
    cleared = libgate(database_url, "lockouts", "clear", patron.card)
    assert cleared.returncode == 0 and "Cleared" in cleared.stdout
    assert "No active lockouts" in libgate(database_url, "lockouts", "list").stdout


def test_staff_commands_work_while_the_catalogue_index_is_unusable(
    database_url: str, tmp_path: Path
) -> None:
    # Only searching needs the catalogue: a damaged index must not stop the other tasks.
    damaged = tmp_path / "catalogue.db"
    damaged.write_text("not a database at all" * 100)
    listed = libgate(database_url, "lockouts", "list", LIBGATE_SEARCH__LOCAL_INDEX=str(damaged))
    assert listed.returncode == 0, listed.stderr
    assert "No active lockouts" in listed.stdout


async def test_keys_rotate_keeps_the_old_keys_published(
    database_url: str, services: Services
) -> None:
    before = {key["kid"] for key in (await services.keys.jwks())["keys"]}
    result = libgate(database_url, "keys", "rotate")
    assert result.returncode == 0 and "stay published" in result.stdout
    await services.keys.reload()
    after = {key["kid"] for key in (await services.keys.jwks())["keys"]}
    assert before < after and len(after) == 4


def test_a_broken_config_file_is_explained(tmp_path: Path, database_url: str) -> None:
    config = tmp_path / "libgate.toml"
    config.write_text('[throttle]\nlockout_seconds = "soon"\n')
    result = subprocess.run(
        [sys.executable, "-m", "libgate", "migrate", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in libgate_env(database_url, "").items() if k != "LIBGATE_CONFIG"},
    )
    assert result.returncode == 2
    assert "throttle.lockout_seconds" in result.stderr


@pytest.mark.parametrize(
    "command", [["keys", "rotate"], ["sip2", "serve", "--port", "0"], ["audit", "verify"]]
)
async def test_libgate_refuses_a_secret_key_other_than_the_databases(
    database_url: str, services: Services, command: list[str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "libgate", *command],
        env={
            **libgate_env(database_url, "http://libgate.test"),
            "LIBGATE_SECRET_KEY": "a-different-secret",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "secret_key is not the one this database was set up with" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["audit", "verify"], ["migrate"], ["lockouts", "list"]])
def test_a_database_out_of_reach_is_said_in_words_with_exit_code_2(command: list[str]) -> None:
    # Nothing listens on this port: the database is down, not the audit trail broken.
    unreachable = f"postgresql://postgres:not-shown@127.0.0.1:{free_port()}/test"
    result = libgate(unreachable, *command)
    assert result.returncode == 2
    assert result.stderr.startswith("Database problem: libgate could not reach the database")
    assert "not-shown" not in result.stderr
    assert "Traceback" not in result.stderr
