"""What the SIP2 gateway costs: messages per second and latency through it, against the
same LMS emulator reached directly, with 1 and 50 concurrent kiosk connections.

    .venv/bin/python bench/sip2_gateway.py [--seconds 5] [--reps 3] [--concurrency 1,50]

Three processes: the LMS emulator (``python -m libgate.testing.sip2_lms``), the gateway
(``libgate sip2 serve`` on a dedicated PostgreSQL database, auditing every exchange) and
this one, the load: closed loops, each on its own connection, sending patron information
(63, card + PIN) and timing each answer. Repetitions alternate direct and gateway runs so
that both see the same machine. Goals: added p50 <= 0.5 ms; gateway throughput >= 80% of
direct.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness import (
    BENCH,
    LineProcess,
    Sampler,
    drop_database,
    libgate_cli,
    postgres_backends,
    postgres_reachable,
    recreate_database,
)
from libgate.sip2 import FrameReader, Message, decode, encode
from libgate.testing.processes import free_port, libgate_env
from libgate.testing.sip2_lms import demo_patrons

LMS_LOGIN = ("libgate", "lms-secret")  # the emulator's own SIP2 account
DATABASE = "libgate_bench_sip2"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Target:
    name: str
    port: int
    login: tuple[str, str]


def _request(code: str, fixed: dict[str, str], *fields: tuple[str, str]) -> bytes:
    return encode(Message.build(code, fixed, fields, sequence=0))


async def _loop(target: Target, card: str, pin: str, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
    frames = FrameReader(reader)
    login = _request(
        "93",
        {"uid_algorithm": "0", "pwd_algorithm": "0"},
        ("CN", target.login[0]),
        ("CO", target.login[1]),
    )
    writer.write(login)
    answer = await frames.read()
    if answer is None or decode(answer).fixed_value("ok") != "1":
        raise RuntimeError(f"{target.name}: login refused")
    ask = _request(
        "63", {"language": "000", "summary": " " * 10}, ("AO", "LIB"), ("AA", card), ("AD", pin)
    )
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(ask)
            if await frames.read() is None:
                raise RuntimeError(f"{target.name} hung up")
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


def measure(target: Target, concurrency: int, seconds: float) -> dict[str, float]:
    patrons = demo_patrons()
    latencies: list[float] = []

    async def run() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *(
                _loop(
                    target,
                    patrons[n % len(patrons)].card,
                    patrons[n % len(patrons)].pin,
                    until,
                    latencies,
                )
                for n in range(concurrency)
            )
        )

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "per_s": len(ordered) / elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
    }


def _config(work: Path, lms_port: int, gateway_port: int) -> Path:
    path = work / "libgate.toml"
    path.write_text(
        f"""
[lms]
host = "127.0.0.1"
port = {lms_port}
tls = false
login_user = "{LMS_LOGIN[0]}"
login_password = "{LMS_LOGIN[1]}"
institution = "LIB"
pool_size = 32
keepalive_seconds = 0

[gateway]
port = {gateway_port}
max_connections = 200

[gateway.policies.bench]
messages = ["99", "63"]
fields = ["AO", "AA", "BL", "CQ"]
rate_per_second = 1000000.0
""",
        encoding="utf-8",
    )
    return path


def _ready(process: LineProcess, words: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if words in process.read(timeout=60):
            return
    raise RuntimeError(f"{process.log.name} never said {words!r}")


def _stop(process: LineProcess) -> None:
    process.process.terminate()
    process.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--concurrency", default="1,50")
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument(
        "--gateways", type=int, default=1, help="gateway processes sharing the port"
    )
    parser.add_argument("--quick", action="store_true", help="1 rep of 1.5 s")
    parser.add_argument("--database", default=DATABASE, help="dedicated database name")
    parser.add_argument("--out", type=Path, help="JSON results file (default bench/results/…)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.reps = 1.5, 1
    problem = postgres_reachable(args.postgres)
    if problem:
        sys.exit(f"bench: {problem}")
    levels = [int(c) for c in args.concurrency.split(",")]
    results_dir = BENCH / "results"
    results_dir.mkdir(exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="libgate-sip2-bench-") as scratch:
        work = Path(scratch)
        lms_port, gateway_port, proxy_port = free_port(), free_port(), free_port()
        db_url = recreate_database(args.postgres, args.database)
        env = libgate_env(
            db_url,
            "http://127.0.0.1:8080",
            LIBGATE_LOG_LEVEL="warning",
            LIBGATE_CONFIG=str(_config(work, lms_port, gateway_port)),
        )
        lms = LineProcess(
            [sys.executable, "-m", "libgate.testing.sip2_lms", "--port", str(lms_port)],
            work / "lms.log",
        )
        gateways: list[LineProcess] = []
        proxy = LineProcess(
            [sys.executable, str(BENCH / "sip2_proxy.py"), str(lms_port), str(proxy_port)],
            work / "proxy.log",
        )
        try:
            _ready(lms, "listening")
            _ready(proxy, "listening")
            libgate_cli(db_url, "migrate")
            vendor = json.loads(
                libgate_cli(
                    db_url,
                    "sip2",
                    "vendors",
                    "add",
                    "bench-kiosk",
                    "--policy",
                    "bench",
                    "--json",
                    env=env,
                )
            )
            for number in range(args.gateways):
                gateways.append(
                    LineProcess(
                        [sys.executable, "-m", "libgate", "sip2", "serve"],
                        work / f"gateway-{number}.log",
                        env=env,
                    )
                )
                _ready(gateways[-1], "listening")
            targets = [
                Target("direct", lms_port, LMS_LOGIN),
                Target("proxy", proxy_port, LMS_LOGIN),
                Target("gateway", gateway_port, (vendor["login"], vendor["password"])),
            ]
            sampler = Sampler(
                groups={
                    "lms": lambda table: [lms.pid],
                    "gateway": lambda table: [process.pid for process in gateways],
                    "proxy": lambda table: [proxy.pid],
                    "pg": postgres_backends(args.database),
                }
            )
            report = run_levels(targets, levels, args, sampler)
        finally:
            for process in gateways:
                _stop(process)
            _stop(proxy)
            _stop(lms)
            drop_database(args.postgres, args.database)
    print_report(report, args)
    out = args.out or results_dir / f"sip2-gateway-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"results in {out}")


def run_levels(
    targets: list[Target], levels: list[int], args: argparse.Namespace, sampler: Sampler
) -> dict[str, dict[str, list[dict[str, float]]]]:
    report: dict[str, dict[str, list[dict[str, float]]]] = {}
    for concurrency in levels:
        for target in targets:  # warm-up: pools filled, code paths hot
            measure(target, concurrency, 1.0)
        for rep in range(args.reps):
            for target in targets if rep % 2 == 0 else list(reversed(targets)):
                before = sampler.snap()
                result = measure(target, concurrency, args.seconds)
                result.update(Sampler.usage(before, sampler.snap()))
                report.setdefault(str(concurrency), {}).setdefault(target.name, []).append(result)
                print(
                    f"  c={concurrency:<3} {target.name:<8} {result['per_s']:8.0f}/s "
                    f"p50 {result['p50_ms']:.3f} ms p99 {result['p99_ms']:.3f} ms",
                    flush=True,
                )
    return report


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = [key for key, value in runs[0].items() if isinstance(value, float | int)]
    return {key: statistics.median(run[key] for run in runs) for key in keys}


def print_report(
    report: dict[str, dict[str, list[dict[str, float]]]], args: argparse.Namespace
) -> None:
    print()
    print(
        f"SIP2 gateway vs direct to the LMS emulator: {args.reps} rep(s) x {args.seconds:g} s, "
        "medians; patron information (63) with card + PIN, closed loops"
    )
    print("  c  target      msgs/s   p50 ms   p99 ms |  lms   gw proxy  pg other (cores)")
    for concurrency, by_target in report.items():
        medians = {name: _medians(runs) for name, runs in by_target.items()}
        for name, m in medians.items():
            groups = ("lms", "gateway", "proxy", "pg", "other")
            cpu = " ".join(f"{m.get(group, 0):4.2f}" for group in groups)
            print(
                f"{concurrency:>3}  {name:<8} {m['per_s']:9.0f} {m['p50_ms']:8.3f} "
                f"{m['p99_ms']:8.3f} | {cpu}"
            )
        direct, through, floor = medians["direct"], medians["gateway"], medians["proxy"]
        added = through["p50_ms"] - direct["p50_ms"]
        ratio = through["per_s"] / direct["per_s"]
        added_verdict = "met" if added <= 0.5 else "NOT met"
        ratio_verdict = "met" if ratio >= 0.8 else "NOT met"
        print(f"     added p50 {added:.3f} ms (goal <= 0.5 ms: {added_verdict})")
        print(f"     throughput {ratio:.2f}x direct (goal >= 0.80x: {ratio_verdict})")
        print(
            f"     floor: a bare forwarding proxy does {floor['per_s'] / direct['per_s']:.2f}x "
            f"direct, adding {floor['p50_ms'] - direct['p50_ms']:.3f} ms p50"
        )


if __name__ == "__main__":
    main()
