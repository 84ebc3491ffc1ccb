"""Starting real libgate processes on loopback, for tests and benchmarks."""

from __future__ import annotations

import os
import socket


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
