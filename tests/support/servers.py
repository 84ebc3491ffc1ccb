"""Real libgate processes for tests that need a socket: a browser, a Node client, or two
instances sharing one database."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from libgate.testing.processes import free_port, libgate_env


class LiveServer:
    def __init__(self, base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.base_url = base_url
        self.process = process
        self.log = log


@contextmanager
def live_server(
    database_url: str, log_dir: Path, *, workers: int = 1, **overrides: str
) -> Iterator[LiveServer]:
    """Run ``libgate serve`` on a free port until the block ends; its log goes to log_dir."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = log_dir / f"server-{port}-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "libgate",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=libgate_env(database_url, base_url, **overrides),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"libgate exited early:\n{log.read_text()}")
            try:
                if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"libgate did not become ready:\n{log.read_text()}")
            time.sleep(0.1)
        yield LiveServer(base_url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
