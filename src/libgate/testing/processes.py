"""Starting real libgate processes on loopback, for tests and benchmarks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import Any


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def libgate_env(database_url: str, issuer: str, **overrides: str) -> dict[str, str]:
    """The environment for a libgate process: this machine's, less any LIBGATE_* variable,
    with no configuration file, the given database and issuer, and ``overrides`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBGATE_")}
    env.update(
        LIBGATE_DATABASE_URL=database_url,
        LIBGATE_ISSUER=issuer,
        LIBGATE_CONFIG=os.devnull,
        LIBGATE_LOG_LEVEL="info",
    )
    env.update(overrides)
    return env


def register_client_by_cli(
    database_url: str, name: str, redirect_uri: str, scopes: list[str]
) -> dict[str, Any]:
    """Register a client the way an operator does, ``libgate clients add --json``; returns
    its printed registration (client_secret included)."""
    command = [
        sys.executable,
        "-m",
        "libgate",
        "clients",
        "add",
        "--name",
        name,
        "--redirect-uri",
        redirect_uri,
        "--json",
    ]
    for scope in scopes:
        command += ["--scope", scope]
    result = subprocess.run(
        command,
        env=libgate_env(database_url, "http://127.0.0.1:8080"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"libgate clients add failed:\n{result.stdout}\n{result.stderr}")
    registered: dict[str, Any] = json.loads(result.stdout)
    return registered
