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


def run_libgate(
    database_url: str, *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> str:
    """Run ``libgate ARGS`` as an operator would (``env``: else :func:`libgate_env` for
    ``database_url``); its output, or RuntimeError with what it printed when it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "libgate", *args],
        env=env or libgate_env(database_url, "http://127.0.0.1:8080"),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"libgate {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def register_client_by_cli(
    database_url: str, name: str, redirect_uri: str, scopes: list[str]
) -> dict[str, Any]:
    """Register a client the way an operator does, ``libgate clients add --json``; returns
    its printed registration (client_secret included)."""
    options = ["--name", name, "--redirect-uri", redirect_uri, "--json"]
    for scope in scopes:
        options += ["--scope", scope]
    registered: dict[str, Any] = json.loads(
        run_libgate(database_url, "clients", "add", *options, timeout=120)
    )
    return registered
