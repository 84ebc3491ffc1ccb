"""libgate's benchmark: ``make bench`` (or ``.venv/bin/python bench/run.py``).

In one run, against baselines measured in the same run, it measures

(a) complete sign-in flows per second with the local patron directory (GET authorize ->
    sign-in page -> POST card + PIN -> consent, clicked the first time and pre-granted
    after -> redirect with a code -> POST /token with PKCE and client_secret_basic ->
    GET /userinfo), each repetition paired with Argon2id verifications per second alone
    (libgate's own PinHasher, in P processes, P = min(concurrency, cores)); the flow cost
    is hash-only rate / flow rate (goal <= 1.25x);
(b) refresh-token grants per second in closed loops that chain the rotated refresh token
    (target >= 1,000/s);

each with 1 and 2 libgate worker processes (``libgate serve --workers N``) on a dedicated
PostgreSQL database, at two concurrency levels, with p50/p99 latencies and the CPU used
by libgate, by its PostgreSQL backends, by the load client and by everything else (read
from /proc), so a reader can tell whether the client or a neighbour was the bottleneck.
(c) When ../shared/peers/oidc-provider exists, the same load runs against that peer
(node-oidc-provider, its login verifying an Argon2id PIN hash) and libgate/peer ratios
are printed; if the peer cannot run, the reason is printed and the run goes on.

The load client is bench/loadgen.mjs (Node, node:http keep-alive, closed loops). Every
loop is bounded in time and count; only 127.0.0.1 is targeted. Results are written as
JSON to bench/results/ (git-ignored). ``--quick`` is a short smoke run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from harness import (
    BENCH,
    NCPU,
    REDIRECT_URI,
    ROOT,
    BenchError,
    HashPool,
    LoadClient,
    PeerServer,
    Sampler,
    bench_accounts,
    default_peer_dir,
    descendants,
    drop_database,
    libgate_server,
    pg_sessions,
    postgres_backends,
    postgres_reachable,
    postgres_version,
    prepare_libgate,
    prepare_peer,
    recreate_database,
)

FLOW_GOAL = 1.25
REFRESH_TARGET = 1000.0
NOISY_OTHER_CORES = 0.3


@dataclass(frozen=True)
class Plan:
    reps: int
    seconds: float
    warmup: float
    hash_seconds: float
    quiet_wait: float
    max_ops: int
    hash_limit: int


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure libgate's sign-in flows and refresh grants (see module doc)."
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run (~2 s per phase)")
    parser.add_argument(
        "--phases", default="flow,refresh", help="comma list of flow, refresh (default both)"
    )
    parser.add_argument("--workers", default="1,2", help="libgate worker counts (default 1,2)")
    parser.add_argument("--flow-concurrency", default="1,8", help="closed loops for flows")
    parser.add_argument("--refresh-concurrency", default="1,16", help="closed loops for refresh")
    parser.add_argument("--reps", type=int, help="timed repetitions per cell (5; quick 1)")
    parser.add_argument("--seconds", type=float, help="seconds per repetition (6; quick 2)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per cell (3; quick 1)")
    parser.add_argument("--hash-seconds", type=float, help="Argon2 baseline seconds (3; quick 1)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        help="wait up to this long for a quiet machine before each repetition (5; quick 0)",
    )
    parser.add_argument("--max-ops", type=int, default=200_000, help="cap per repetition")
    parser.add_argument(
        "--max-minutes", type=float, default=45, help="skip remaining cells after this long"
    )
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL admin URL (loopback only)",
    )
    parser.add_argument("--database", default="libgate_bench", help="dedicated database name")
    parser.add_argument("--keep-database", action="store_true", help="do not drop it at the end")
    parser.add_argument(
        "--log-level", default="info", help="libgate's log level (info is its default)"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip the node-oidc-provider peer")
    parser.add_argument("--peer-dir", type=Path, default=default_peer_dir())
    parser.add_argument("--out", type=Path, help="JSON results file (default bench/results/…)")
    parser.add_argument("--keep-logs", action="store_true", help="keep server/client logs")
    args = parser.parse_args(argv)
    args.phases = [p for p in args.phases.split(",") if p]
    unknown = set(args.phases) - {"flow", "refresh"}
    if unknown:
        parser.error(f"unknown phase(s) {', '.join(sorted(unknown))}")
    args.workers = _ints(args.workers)
    args.flow_concurrency = _ints(args.flow_concurrency)
    args.refresh_concurrency = _ints(args.refresh_concurrency)
    defaults = (1, 2.0, 1.0, 1.0, 0.0) if args.quick else (5, 6.0, 3.0, 3.0, 5.0)
    args.plan = Plan(
        reps=args.reps or defaults[0],
        seconds=args.seconds or defaults[1],
        warmup=args.warmup or defaults[2],
        hash_seconds=args.hash_seconds or defaults[3],
        quiet_wait=args.quiet_wait if args.quiet_wait is not None else defaults[4],
        max_ops=args.max_ops,
        hash_limit=100_000,
    )
    return args


# ---------- measuring one cell ----------


def _median(values: list[float]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


@dataclass
class Target:
    label: str  # "libgate" or "peer"
    workers: int | None
    spec: dict[str, Any]  # what loadgen.mjs needs
    groups: dict[str, Callable[[dict[int, tuple[str, int, int]]], list[int]]]
    counters: Callable[[], dict[str, float]] | None = None


class Bench:
    def __init__(self, args: argparse.Namespace, node: str, work: Path) -> None:
        self.args = args
        self.plan: Plan = args.plan
        self.node = node
        self.work = work
        self.started = time.monotonic()
        self.cells: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.hash_pool: HashPool | None = None

    def out_of_time(self) -> bool:
        return time.monotonic() - self.started > self.args.max_minutes * 60

    def measure(self, target: Target, mode: str, concurrency: int) -> dict[str, Any]:
        name = f"{target.label}{'' if target.workers is None else f' w={target.workers}'}"
        print(f"  … {name} {mode} c={concurrency}", flush=True)
        cell: dict[str, Any] = {
            "target": target.label,
            "workers": target.workers,
            "mode": mode,
            "concurrency": concurrency,
        }
        if self.out_of_time():
            cell["skipped"] = f"over --max-minutes {self.args.max_minutes}"
            self.cells.append(cell)
            return cell
        client = LoadClient(self.node, self.work / f"loadgen-{target.label}.log")
        hashing = mode == "flow" and self.hash_pool is not None
        parallel = min(concurrency, NCPU)
        sampler = Sampler(
            {
                **target.groups,
                "client": lambda _t: [client.pid],
                "hash": lambda _t: self.hash_pool.pids() if self.hash_pool else [],
            },
            counters=target.counters,
        )
        try:
            cell["setup"] = client.setup(target.spec, mode, concurrency)
            cell["warmup"] = client.run(self.plan.warmup, self.plan.max_ops)
            reps = []
            for _ in range(self.plan.reps):
                rep: dict[str, Any] = {}
                if self.plan.quiet_wait > 0:
                    rep["quiet"] = sampler.wait_quiet(self.plan.quiet_wait)
                if hashing:
                    assert self.hash_pool is not None
                    a = sampler.snap()
                    rep["hash"] = self.hash_pool.run(
                        parallel, self.plan.hash_seconds, self.plan.hash_limit
                    )
                    rep["hash"]["cpu"] = Sampler.usage(a, sampler.snap())
                a = sampler.snap()
                result = client.run(self.plan.seconds, self.plan.max_ops)
                result["cpu"] = Sampler.usage(a, sampler.snap())
                rep.update(result)
                cpu = rep["cpu"]
                if rep["ok"]:
                    server_s = (cpu["server"] + cpu.get("pg", 0.0)) * cpu["wall_s"]
                    rep["server_cpu_ms_per_op"] = round(1000 * server_s / rep["ok"], 3)
                    rep["client_cpu_ms_per_op"] = round(1000 * rep["client_cpu_s"] / rep["ok"], 3)
                if hashing and rep["ok"] and rep["hash"]["count"]:
                    rep["cost_ratio"] = round(rep["hash"]["rate"] / rep["rate"], 3)
                    rep["cpu_ratio"] = round(
                        rep["server_cpu_ms_per_op"] / rep["hash"]["cpu_ms_per_verify"], 3
                    )
                reps.append(rep)
            cell["reps"] = reps
            cell.update(summarise(reps, hashing))
            if hashing:
                cell["hash_parallel"] = parallel
        except BenchError as exc:
            cell["error"] = str(exc)
            print(f"    ! {exc}", flush=True)
        finally:
            client.close()
        self.cells.append(cell)
        _progress(cell)
        return cell


def summarise(reps: list[dict[str, Any]], hashing: bool) -> dict[str, Any]:
    def med(key: str) -> float | None:
        return _median([r.get(key) for r in reps])

    def med_cpu(group: str) -> float | None:
        return _median([r["cpu"].get(group) for r in reps])

    rates = [r["rate"] for r in reps]
    middle = sorted(reps, key=lambda r: r["rate"])[len(reps) // 2]
    out: dict[str, Any] = {
        "rate": _median(rates),
        "rate_min": min(rates),
        "rate_max": max(rates),
        "p50_ms": med("p50_ms"),
        "p90_ms": med("p90_ms"),
        "p99_ms": med("p99_ms"),
        "errors": sum(r["errors"] for r in reps),
        "first_error": next((r["first_error"] for r in reps if r["first_error"]), None),
        "cpu": {g: med_cpu(g) for g in ("server", "pg", "client", "other", "pg_exited")},
        "pg_sessions_per_s": _median([r["cpu"].get("pg_sessions_per_s") for r in reps]),
        "server_cpu_ms_per_op": med("server_cpu_ms_per_op"),
        "client_cpu_ms_per_op": med("client_cpu_ms_per_op"),
        "steps_mean_ms": middle.get("steps_mean_ms"),
        "server_by_process": middle["cpu"].get("server_by_process"),
        "consent_clicks": sum(r.get("consent_clicks", 0) for r in reps),
        "rotated": sum(r.get("rotated", 0) for r in reps),
        "chain_restarts": sum(r.get("chain_restarts", 0) for r in reps),
    }
    out["noisy"] = (out["cpu"]["other"] or 0) > NOISY_OTHER_CORES
    if hashing:
        out["hash_rate"] = _median([r["hash"]["rate"] for r in reps])
        out["hash_cpu_ms_per_verify"] = _median([r["hash"]["cpu_ms_per_verify"] for r in reps])
        out["hash_other_cpu"] = _median([r["hash"]["cpu"]["other"] for r in reps])
        out["cost_ratio"] = med("cost_ratio")
        out["cpu_ratio"] = med("cpu_ratio")
    return out


def _progress(cell: dict[str, Any]) -> None:
    if "rate" not in cell:
        return
    line = (
        f"    {cell['rate']:.1f}/s [{cell['rate_min']:.1f}..{cell['rate_max']:.1f}] "
        f"p50 {cell['p50_ms']} ms p99 {cell['p99_ms']} ms errors {cell['errors']}"
    )
    if cell.get("cost_ratio") is not None:
        line += f"; Argon2 alone {cell['hash_rate']:.1f}/s -> cost {cell['cost_ratio']:.2f}x"
    print(line, flush=True)


# ---------- the targets ----------


def _server_errors(log: Path, limit: int = 5) -> list[str]:
    """The last error lines libgate logged, to show next to a failed cell."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line[:400] for line in lines if '"level": "error"' in line][-limit:]


def run_libgate(bench: Bench) -> None:
    args = bench.args
    loops = max([*args.flow_concurrency, *args.refresh_concurrency, 1])
    accounts = bench_accounts(loops)
    for workers in args.workers:
        print(f"libgate: {workers} worker process(es)", flush=True)
        # A fresh database for each server: equal tables for every worker count, and a
        # schema made by the code that is about to serve it.
        db_url = recreate_database(args.postgres, args.database)
        client = prepare_libgate(db_url, accounts, bench.work)
        log = bench.work / f"libgate-w{workers}.log"
        with libgate_server(db_url, workers, log, log_level=args.log_level) as server:
            target = Target(
                label="libgate",
                workers=workers,
                spec={
                    "issuer": server.issuer,
                    **client,
                    "redirect_uri": REDIRECT_URI,
                    "flow_scope": "openid profile email",
                    "refresh_scope": "openid profile",
                    "accounts": [{"card": a.card, "pin": a.pin} for a in accounts],
                },
                groups={"server": server.tree, "pg": postgres_backends(args.database)},
                counters=lambda: {"pg_sessions": pg_sessions(args.postgres, args.database)},
            )
            for mode in ("flow", "refresh"):
                if mode in args.phases:
                    for concurrency in _concurrency(args, mode):
                        cell = bench.measure(target, mode, concurrency)
                        if "error" in cell or cell.get("errors"):
                            cell["server_errors"] = _server_errors(log)


def _concurrency(args: argparse.Namespace, mode: str) -> list[int]:
    return list(args.flow_concurrency if mode == "flow" else args.refresh_concurrency)


def run_peer(bench: Bench, npm: str | None) -> dict[str, Any]:
    args = bench.args
    info: dict[str, Any] = {"dir": str(args.peer_dir)}
    if args.no_peer:
        info["skipped"] = "--no-peer"
        return info
    if not (args.peer_dir / "server.mjs").exists():
        info["skipped"] = f"no peer at {args.peer_dir}"
        return info
    if npm is None:
        info["skipped"] = "npm not found"
        return info
    print(f"peer: node-oidc-provider from {args.peer_dir} (npm ci in a temp copy)", flush=True)
    try:
        directory, config = prepare_peer(args.peer_dir, bench.work, bench.node, npm)
        package = json.loads((directory / "node_modules/oidc-provider/package.json").read_text())
        info["oidc_provider"] = package["version"]
        peer = PeerServer(directory, bench.node, bench.work / "peer.log")
    except (BenchError, OSError, subprocess.SubprocessError, ValueError, KeyError) as exc:
        info["skipped"] = f"the peer could not run: {exc}"
        return info
    try:
        peer_client = config["CLIENT"]
        pin = str(config.get("ACCOUNT_PIN", "0000"))
        target = Target(
            label="peer",
            workers=None,
            spec={
                "issuer": peer.issuer,
                "client_id": peer_client["client_id"],
                "client_secret": peer_client["client_secret"],
                "redirect_uri": peer_client["redirect_uri"],
                "flow_scope": "openid profile email",
                # Its refresh tokens need offline_access with explicit consent.
                "refresh_scope": "openid offline_access",
                "refresh_prompt": "consent",
                "accounts": [{"card": "peer", "pin": pin}],
            },
            groups={"server": lambda t: descendants(peer.process.pid, t)},
        )
        for mode in ("flow", "refresh"):
            if mode in args.phases:
                for concurrency in _concurrency(args, mode):
                    bench.measure(target, mode, concurrency)
    finally:
        peer.stop()
    return info


# ---------- the report ----------


def _f(value: float | None, width: int, digits: int = 1) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def _cpu_cols(cell: dict[str, Any]) -> str:
    cpu = cell["cpu"]
    return " ".join(_f(cpu.get(g), 5, 2) for g in ("server", "pg", "client", "other"))


def _who(cell: dict[str, Any]) -> str:
    return f"{cell['target']:<8}{'' if cell['workers'] is None else cell['workers']:>3}"


def report(result: dict[str, Any]) -> None:
    cells = [c for c in result["cells"] if "rate" in c]
    broken = [c for c in result["cells"] if "rate" not in c]
    plan = result["plan"]
    print()
    print("=" * 100)
    print(
        f"libgate bench: {result['machine']['nproc']} cores, PostgreSQL "
        f"{result['machine']['postgres']}, node {result['machine']['node']}, "
        f"{plan['reps']} rep(s) x {plan['seconds']}s after {plan['warmup']}s warm-up"
        f"{' (QUICK)' if result['quick'] else ''}; libgate {result['machine']['commit']}, "
        f"log level {result['machine']['log_level']}"
    )
    print(
        "Medians over repetitions. CPU columns are cores in use during the timed window: "
        "server = libgate's processes (or the peer's), pg = libgate's PostgreSQL backends, "
        "client = the load client, other = everything else on the machine (other tenants, "
        f"PostgreSQL's WAL writer, kernel). '~' marks other > {NOISY_OTHER_CORES} cores."
    )
    flows = [c for c in cells if c["mode"] == "flow"]
    if flows:
        print()
        print(
            "(a) Sign-in flows (authorize, sign-in page, card+PIN, consent, code, /token PKCE, "
            "/userinfo) vs Argon2id alone"
        )
        print(
            "    cost = Argon2-alone rate / flow rate (goal <= 1.25x), Argon2 alone = libgate's "
            "PinHasher in P = min(c, cores) processes, paired rep by rep;"
        )
        print(
            "    cpu x = (server + pg CPU per flow) / (CPU per Argon2 verification): cost "
            "without the load client or neighbours"
        )
        print(
            f"    {'target':<8}{'wrk':>3}{'c':>4}{'flows/s':>9}{'p50 ms':>8}{'p99 ms':>8}"
            f" | {'Argon2/s':>8}{'P':>2}{'cost':>7}{'cpu x':>7} | "
            f"{'srv':>5} {'pg':>5} {'cli':>5} {'other':>5} |{'err':>4}"
        )
        for c in flows:
            goal = "" if c.get("cost_ratio") is None else (" ok" if c["cost_ratio"] <= 1.25 else "")
            print(
                f"    {_who(c)}{c['concurrency']:>4}{_f(c['rate'], 9)}{_f(c['p50_ms'], 8)}"
                f"{_f(c['p99_ms'], 8)} | {_f(c.get('hash_rate'), 8)}"
                f"{c.get('hash_parallel', ''):>2}{_f(c.get('cost_ratio'), 6, 2)}x"
                f"{_f(c.get('cpu_ratio'), 6, 2)}x | {_cpu_cols(c)} |{c['errors']:>4}"
                f"{'~' if c['noisy'] else ''}{goal}"
            )
        clicks = sum(c["consent_clicks"] + c["warmup"].get("consent_clicks", 0) for c in flows)
        print(
            f"    consent was clicked {clicks} time(s) (each card's first flow, mostly in "
            "warm-up) and pre-granted after"
        )
        for c in flows:
            if c["concurrency"] == min(x["concurrency"] for x in flows) and c["steps_mean_ms"]:
                steps = ", ".join(f"{k} {v:.1f}" for k, v in c["steps_mean_ms"].items())
                print(f"    steps (mean ms), {_who(c).strip()} c={c['concurrency']}: {steps}")
    refresh = [c for c in cells if c["mode"] == "refresh"]
    if refresh:
        print()
        print(
            "(b) Refresh-token grants (closed loops, each chaining the rotated refresh token), "
            f"target >= {REFRESH_TARGET:.0f}/s"
        )
        print(
            f"    {'target':<8}{'wrk':>3}{'c':>4}{'grants/s':>9}{'p50 ms':>8}{'p99 ms':>8}"
            f"{'/target':>8}{'srv ms/op':>10}{'cli ms/op':>10} | "
            f"{'srv':>5} {'pg':>5} {'cli':>5} {'other':>5} |{'err':>4}{'rotated':>9}"
            f"{'pg conn/s':>10}"
        )
        for c in refresh:
            print(
                f"    {_who(c)}{c['concurrency']:>4}{_f(c['rate'], 9)}{_f(c['p50_ms'], 8)}"
                f"{_f(c['p99_ms'], 8)}{_f(c['rate'] / REFRESH_TARGET, 7, 2)}x"
                f"{_f(c['server_cpu_ms_per_op'], 10, 2)}{_f(c['client_cpu_ms_per_op'], 10, 3)} | "
                f"{_cpu_cols(c)} |{c['errors']:>4}{c['rotated']:>9}"
                f"{_f(c.get('pg_sessions_per_s'), 10)}{'~' if c['noisy'] else ''}"
            )
        print(
            "    pg conn/s = new PostgreSQL sessions per second on the benchmark database "
            "(a pool that churns opens connections under load)"
        )
    spread = [c for c in cells if (c["workers"] or 1) > 1 and c.get("server_by_process")]
    if spread:
        print()
        print("    CPU per libgate process (cores, busiest first: the spread over workers):")
        for c in spread:
            shares = " / ".join(f"{v:.2f}" for v in c["server_by_process"])
            print(f"      w={c['workers']} {c['mode']:<8} c={c['concurrency']:<3} {shares}")
    peer = [c for c in cells if c["target"] == "peer"]
    print()
    if peer:
        print("(c) libgate / node-oidc-provider peer (same load client, same run; >1 = faster)")
        for pc in peer:
            ours = [
                c
                for c in cells
                if c["target"] == "libgate"
                and c["mode"] == pc["mode"]
                and c["concurrency"] == pc["concurrency"]
            ]
            ratios = ", ".join(
                f"{c['workers']} worker(s) {c['rate']:.1f}/s = {c['rate'] / pc['rate']:.2f}x"
                for c in ours
                if pc["rate"]
            )
            print(
                f"    {pc['mode']:<8} c={pc['concurrency']:<3} peer {pc['rate']:.1f}/s; "
                f"libgate {ratios or '-'}"
            )
        peer_flows = [c for c in peer if c.get("cost_ratio") is not None]
        for c in peer_flows:
            print(
                f"    peer flow cost vs the same Argon2 baseline, c={c['concurrency']}: "
                f"{c['cost_ratio']:.2f}x (its Argon2 is the Node binding)"
            )
    else:
        print(f"(c) peer: {result['peer'].get('skipped', 'no peer cells')}")
    for c in broken:
        print(
            f"    ! {c['target']} w={c['workers']} {c['mode']} c={c['concurrency']}: "
            f"{c.get('error') or c.get('skipped')}"
        )
    for c in result["cells"]:
        if c.get("first_error") and "rate" in c:
            print(
                f"    ! {c['target']} w={c['workers']} {c['mode']} c={c['concurrency']}: "
                f"{c['errors']} error(s), first: {c['first_error']}"
            )
        for line in c.get("server_errors", []):
            print(f"      server log: {line}")
    for note in result["notes"]:
        print(f"    note: {note}")
    print("=" * 100)


# ---------- main ----------


def _tool_version(argv: list[str]) -> str:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def _git_commit() -> str:
    commit = _tool_version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]) or "?"
    dirty = _tool_version(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"])
    return f"{commit}{' + uncommitted changes in src/' if dirty else ''}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        print("bench: node not found; the load client (bench/loadgen.mjs) needs Node >= 18")
        return 2
    problem = postgres_reachable(args.postgres)
    if problem:
        print(f"bench: PostgreSQL not reachable at {args.postgres}: {problem}")
        return 2
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or BENCH / "results" / f"bench-{stamp}{'-quick' if args.quick else ''}.json"
    result: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "argv": sys.argv[1:] if argv is None else argv,
        "plan": {**args.plan.__dict__},
        "phases": args.phases,
        "workers": args.workers,
        "machine": {
            "nproc": NCPU,
            "cpu": _cpu_model(),
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
            "python": platform.python_version(),
            "node": _tool_version([node, "--version"]),
            "postgres": postgres_version(args.postgres),
            "libgate": version("libgate"),
            "argon2_cffi": version("argon2-cffi"),
            "uvicorn": version("uvicorn"),
            "commit": _git_commit(),
            "log_level": args.log_level,
        },
    }
    keep = BENCH / "results" / f"logs-{stamp}" if args.keep_logs else None
    with tempfile.TemporaryDirectory(prefix="libgate-bench-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        bench = Bench(args, node, work)
        print(
            f"bench: {'quick ' if args.quick else ''}run, phases {','.join(args.phases)}, "
            f"workers {args.workers}; database {args.database}",
            flush=True,
        )
        try:
            if "flow" in args.phases:
                size = min(max(args.flow_concurrency), NCPU)
                bench.hash_pool = HashPool(size, work / "hash.log")
            try:
                run_libgate(bench)
                result["peer"] = run_peer(bench, npm)
            finally:
                if bench.hash_pool:
                    bench.hash_pool.close()
        except (BenchError, OSError, subprocess.SubprocessError) as exc:
            bench.notes.append(f"run stopped: {exc}")
            traceback.print_exc()
        finally:
            if not args.keep_database:
                drop_database(args.postgres, args.database)
        result.setdefault("peer", {"skipped": "not reached"})
        result["cells"] = bench.cells
        result["notes"] = bench.notes
        result["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        result["minutes"] = round((time.monotonic() - bench.started) / 60, 1)
    report(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"bench: results in {out}")
    measured = [c for c in result["cells"] if "rate" in c]
    failed = [c for c in result["cells"] if c["target"] == "libgate" and "error" in c]
    return 0 if measured and not failed and not result["notes"] else 1


if __name__ == "__main__":
    sys.exit(main())
