"""Profile libgate under refresh-grant or sign-in-flow load with py-spy (sampling, no code change).

    .venv/bin/pip install py-spy        # not a project dependency
    .venv/bin/python bench/profile_refresh.py [--mode refresh|flow] [--seconds 20] \
        [--concurrency 16]

Starts ``libgate serve`` (1 worker) on a dedicated PostgreSQL database, drives refresh
grants (or complete sign-in flows) with bench/loadgen.mjs, samples the worker with py-spy
while it does, and prints where the worker's CPU goes: by library area, by function (self
and inclusive) and by libgate source line. The collapsed stacks are kept in bench/results/
for flame graphs.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from harness import (
    BENCH,
    BenchError,
    LoadClient,
    bench_accounts,
    drop_database,
    libgate_server,
    postgres_reachable,
    prepare_libgate,
    recreate_database,
)

# First match wins, looking from the leaf upwards: what part of the stack a sample is in.
AREAS = [
    ("PIN hash (argon2)", re.compile(r"argon2/|_pins\.py")),
    ("logging (JSON access log)", re.compile(r"logging/|observability\.py.*format|json/encoder")),
    ("JWT signing (joserfc + cryptography)", re.compile(r"joserfc/|cryptography/")),
    ("SQL compile / result (SQLAlchemy)", re.compile(r"sqlalchemy/")),
    ("PostgreSQL driver (asyncpg)", re.compile(r"asyncpg/")),
    ("audit trail", re.compile(r"privacy/_audit\.py")),
    ("token service (libgate)", re.compile(r"oidc/_tokens\.py")),
    ("client auth (libgate)", re.compile(r"oidc/_client_auth\.py|oidc/_clients\.py")),
    ("metrics (prometheus_client)", re.compile(r"prometheus_client/")),
    ("HTTP framework (starlette)", re.compile(r"starlette/")),
    ("HTTP server (uvicorn/httptools)", re.compile(r"uvicorn/|httptools/")),
    ("event loop (asyncio/uvloop)", re.compile(r"asyncio/|uvloop/")),
]
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def parse_collapsed(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for raw in path.read_text().splitlines():
        stack, _, count = raw.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def _short(frame: str) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    file = m["file"]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m['func']} ({file}{':' + m['line'] if m['line'] else ''})"


def _function(frame: str) -> str:
    return re.sub(r":\d+\)$", ")", _short(frame))


def summarise(stacks: list[tuple[list[str], int]], top: int) -> str:
    total = sum(n for _, n in stacks) or 1
    areas: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    lines: collections.Counter[str] = collections.Counter()
    for frames, n in stacks:
        leaf = frames[-1]
        self_time[_function(leaf)] += n
        for name in {_function(f) for f in frames}:
            inclusive[name] += n
        for frame in {f for f in frames if "libgate/" in f}:
            lines[_short(frame)] += n
        area = "other"
        for frame in reversed(frames):
            hit = next((label for label, rx in AREAS if rx.search(frame)), None)
            if hit:
                area = hit
                break
        areas[area] += n
    out = [f"{total} samples of the worker on CPU (py-spy, non-idle)", "", "By area (leaf-most):"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in areas.most_common()]
    out += ["", f"Top {top} functions by self time:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in self_time.most_common(top)]
    out += ["", f"Top {top} functions by inclusive time:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    out += ["", f"Top {top} libgate lines (inclusive):"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in lines.most_common(top)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("refresh", "flow"), default="refresh")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="libgate_bench_profile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    node = shutil.which("node")
    if not Path(py_spy).exists() or node is None:
        print("profile: needs py-spy (.venv/bin/pip install py-spy) and node")
        return 2
    problem = postgres_reachable(args.postgres)
    if problem:
        print(f"profile: PostgreSQL not reachable: {problem}")
        return 2
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = BENCH / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    collapsed = out_dir / f"profile-{args.mode}-{stamp}.txt"
    db_url = recreate_database(args.postgres, args.database)
    try:
        with tempfile.TemporaryDirectory(prefix="libgate-profile-") as tmp:
            work = Path(tmp)
            accounts = bench_accounts(args.concurrency)
            client = prepare_libgate(db_url, accounts, work)
            with libgate_server(db_url, 1, work / "server.log", log_level=args.log_level) as srv:
                load = LoadClient(node, work / "loadgen.log")
                try:
                    spec: dict[str, Any] = {
                        "issuer": srv.issuer,
                        **client,
                        "redirect_uri": "http://127.0.0.1:9/bench/callback",
                        "flow_scope": "openid profile",
                        "refresh_scope": "openid profile",
                        "accounts": [{"card": a.card, "pin": a.pin} for a in accounts],
                    }
                    load.setup(spec, args.mode, args.concurrency)
                    load.run(2, 100_000)  # warm-up
                    result: dict[str, Any] = {}
                    runner = threading.Thread(
                        target=lambda: result.update(load.run(args.seconds + 2, 1_000_000))
                    )
                    runner.start()
                    subprocess.run(
                        [
                            py_spy,
                            "record",
                            "--pid",
                            str(srv.process.pid),
                            "--duration",
                            str(int(args.seconds)),
                            "--rate",
                            str(args.rate),
                            "--format",
                            "raw",
                            "--output",
                            str(collapsed),
                            "--nonblocking",
                        ],
                        check=True,
                        timeout=args.seconds + 60,
                        capture_output=True,
                    )
                    runner.join(timeout=args.seconds + 120)
                finally:
                    load.close()
    except (BenchError, subprocess.SubprocessError) as exc:
        print(f"profile: {exc}")
        return 1
    finally:
        drop_database(args.postgres, args.database)
    print(
        f"{args.mode} load while sampled: {result.get('rate')}/s, p50 {result.get('p50_ms')} ms, "
        f"errors {result.get('errors')} (c={args.concurrency}, log level {args.log_level})"
    )
    print(summarise(parse_collapsed(collapsed), args.top))
    print(f"\ncollapsed stacks: {collapsed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
