"""The benchmarks still run: ``bench/run.py --quick``, refresh phase only, one libgate worker,
on PostgreSQL, produces refresh rates and latencies; ``bench/sip2_gateway.py --quick`` produces
gateway and direct rates. Without PostgreSQL (or Node, which runs the first one's load
client) they skip, except under CI (``CI=true``), where they fail."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("LIBGATE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


async def _ping(url: str) -> None:
    connection = await asyncpg.connect(url, timeout=5)
    await connection.close()


def _run_bench(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``bench/SCRIPT ARGS`` on this run's PostgreSQL server, in a database of its own."""
    try:
        asyncio.run(_ping(POSTGRES_URL))
    except Exception as exc:
        _unavailable(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    finished = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / script),
            *args,
            "--postgres",
            POSTGRES_URL,
            "--database",
            f"libgate_bench_smoke_{Path(script).stem}_{os.getpid()}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-4000:]
    return finished


@pytest.mark.slow
def test_quick_refresh_bench_produces_numbers(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        _unavailable("node not found: the benchmark's load client (bench/loadgen.mjs) needs it")
    out = tmp_path / "bench.json"
    finished = _run_bench(
        "run.py", "--quick", "--phases", "refresh", "--workers", "1", "--no-peer", "--out", str(out)
    )
    assert "(b) Refresh-token grants" in finished.stdout

    result = json.loads(out.read_text())
    cells = result["cells"]
    assert {c["concurrency"] for c in cells} == {1, 16}
    for cell in cells:
        assert cell["target"] == "libgate" and cell["workers"] == 1 and cell["mode"] == "refresh"
        assert cell["errors"] == 0, cell.get("first_error")
        assert cell["rate"] > 0
        assert 0 < cell["p50_ms"] <= cell["p99_ms"]
        assert cell["rotated"] > 0  # each loop chained the refresh tokens it was given
        assert cell["cpu"]["server"] > 0 and cell["cpu"]["client"] > 0
    assert result["peer"]["skipped"] == "--no-peer"


@pytest.mark.slow
def test_quick_sip2_gateway_bench_produces_numbers(tmp_path: Path) -> None:
    out = tmp_path / "sip2.json"
    finished = _run_bench("sip2_gateway.py", "--quick", "--concurrency", "1", "--out", str(out))
    assert "added p50" in finished.stdout and "throughput" in finished.stdout
    runs = json.loads(out.read_text())["1"]
    for target in ("direct", "gateway"):
        (run,) = runs[target]
        assert run["per_s"] > 0 and 0 < run["p50_ms"] <= run["p99_ms"]
