"""Running ``libgate`` commands as real processes against a test database."""

from __future__ import annotations

import subprocess
import sys

from libgate.testing.processes import libgate_env


def libgate(database_url: str, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """``libgate ARGS`` as staff run it, on a wide terminal so tables do not wrap;
    ``settings``: LIBGATE_* environment variables."""
    return subprocess.run(
        [sys.executable, "-m", "libgate", *args],
        env={**libgate_env(database_url, "http://libgate.test", **settings), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
