"""Three real Zebra servers over overlapping slices of the committed Library of Congress
sample, for the federated-search tests, and target settings that reach them.

Without Zebra installed the tests that use them skip with the reason, except under CI
(``CI=true``), where they fail."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from libgate.config import TargetSettings
from libgate.demo import SAMPLE_CATALOGUE
from libgate.search.query import BIB1_ATTRIBUTES, STANDARD_CQL_INDEXES
from libgate.testing.processes import free_port
from libgate.testing.zebra import ZebraServer, start_zebra, zebra_missing

# Records [start, stop) of the sample each server holds: neighbours share 500.
SLICES = ((0, 1000), (500, 1500), (1000, 2000))
_STASH = pytest.StashKey[list[ZebraServer]]()


def require_zebra() -> None:
    """Skip the calling test when Zebra is not installed (fail under CI)."""
    problem = zebra_missing()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Zebra is needed under CI: {problem}")
        pytest.skip(problem)


def marc_records(path: Path = SAMPLE_CATALOGUE) -> list[bytes]:
    """The ISO 2709 records of ``path``, each as its own bytes (the leader gives lengths)."""
    data = path.read_bytes()
    records = []
    while data:
        length = int(data[:5])
        records.append(data[:length])
        data = data[length:]
    return records


def start_sample_zebra(directory: Path, start: int = 0, stop: int = 2000) -> ZebraServer:
    """A Zebra on a free port over records [start, stop) of the sample."""
    directory.mkdir(parents=True, exist_ok=True)
    marc = directory / "records.mrc"
    marc.write_bytes(b"".join(marc_records()[start:stop]))
    return start_zebra(directory / "zebra", free_port(), [marc])


@pytest.fixture(name="zebras", scope="session")
def zebras_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> list[ZebraServer]:
    """The three Zebras, one per SLICES entry, in that order. Started once per test run:
    they are kept in the run's stash, so every module importing this fixture shares them."""
    require_zebra()
    config = request.config
    if _STASH not in config.stash:
        servers = []
        for start, stop in SLICES:
            server = start_sample_zebra(tmp_path_factory.mktemp(f"zebra-{start}"), start, stop)
            config.add_cleanup(server.stop)
            servers.append(server)
        config.stash[_STASH] = servers
    return config.stash[_STASH]


def sru_settings(server: ZebraServer, **overrides: Any) -> TargetSettings:
    """SRU settings for ``server`` (Zebra knows the standard CQL indexes); ``overrides``
    on top."""
    values: dict[str, Any] = {
        "protocol": "sru",
        "url": server.sru_url,
        "sru_version": "1.2",
        "indexes": dict(STANDARD_CQL_INDEXES),
        "timeout_seconds": 10,
    }
    return TargetSettings(**(values | overrides))


def z3950_settings(server: ZebraServer, **overrides: Any) -> TargetSettings:
    """Z39.50 settings for ``server`` (Zebra knows the usual bib-1 use attributes);
    ``overrides`` on top."""
    values: dict[str, Any] = {
        "protocol": "z3950",
        "url": server.z3950_url,
        "indexes": dict(BIB1_ATTRIBUTES),
        "timeout_seconds": 10,
    }
    return TargetSettings(**(values | overrides))
