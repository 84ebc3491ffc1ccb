"""What federation costs: time to first results and to complete for one query sent to 10
Zebra catalogues over SRU, next to two baselines measured in the same run — the slowest
single target alone, and a bare concurrent fetch + parse of the same 10 targets with no
merging (the floor on this machine, where the 10 Zebras share its cores).

    .venv/bin/python bench/search.py [--quick] [--file RECORDS.mrc] [--reps 3]

Targets: 10 Zebras of ``--per-target`` records (8,000) from the Library of Congress file,
neighbours sharing ``--shared`` (4,000); 100 records fetched from each. Queries: the 20
one-word queries of the issue. (a) per query: first results and complete, median and p90;
goal complete <= 1.15x the bare fan-out; libgate's extra time split into what it does after
the last answer has come and how much later that answer came (its merging shares the cores
with the targets), with this process's CPU per search on each path. (b) 10 concurrent
clients x the 20 queries: searches/s, p90 and worst. Then the process's RSS (and its
answer readers'), and again after 200 searches more.

libgate's path is the product's own engine, in this process: the Federation (per-target
limits, timeouts, breakers), each target's records merged as they arrive (``Gathered``,
as the search service does), then ranked and faceted (``present``). The bare fan-out calls
the same SRU targets (fetch + parse) and stops there. Both read answers as libgate does,
in ``--reader-processes`` worker processes (search.reader_processes, default 2; 0: in
threads). Not included: the search session's database writes and the HTTP API around them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple

from pymarc import MARCReader, MARCWriter

from libgate.config import TargetSettings
from libgate.demo import SAMPLE_CATALOGUE
from libgate.gc_tuning import tune_garbage_collection
from libgate.search import Federation, Gathered, SessionState, TargetState, present
from libgate.search.query import STANDARD_CQL_INDEXES, parse
from libgate.search.targets import AnswerReaders, SruTarget
from libgate.testing.processes import free_port
from libgate.testing.zebra import ZebraServer, start_zebra
from search_queries import QUERIES

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIG_FILE = BENCH / "data" / "loc-books-250k.mrc"


def _slices(source: Path, work: Path, targets: int, per_target: int, shared: int) -> list[Path]:
    """Target i holds records [i*(per-shared), i*(per-shared)+per): neighbours share
    ``shared`` records."""
    step = per_target - shared
    needed = step * (targets - 1) + per_target
    records = []
    with source.open("rb") as handle:
        for record in MARCReader(handle, to_unicode=True, force_utf8=True):
            if record is not None:
                records.append(record)
            if len(records) == needed:
                break
    if len(records) < needed:
        raise SystemExit(f"bench: {source} has {len(records)} records; {needed} are needed")
    files = []
    for number in range(targets):
        path = work / f"slice-{number}.mrc"
        with path.open("wb") as out:
            writer = MARCWriter(out)
            for record in records[number * step : number * step + per_target]:
                writer.write(record)
        files.append(path)
    return files


def _targets(
    servers: list[ZebraServer], fetch: int, readers: AnswerReaders
) -> dict[str, tuple[SruTarget, TargetSettings]]:
    targets = {}
    for number, server in enumerate(servers):
        settings = TargetSettings(
            protocol="sru",
            url=server.sru_url,
            indexes=dict(STANDARD_CQL_INDEXES),
            records=fetch,
            timeout_seconds=60,
            max_concurrent=10,
        )
        target = SruTarget(f"zebra{number}", settings, readers=readers)
        targets[f"zebra{number}"] = (target, settings)
    return targets


class Timings(NamedTuple):
    """Seconds from the start of one search."""

    first: float  # the first presentable results
    last_answer: float  # the last target's records in hand (merged or not)
    complete: float  # the complete presentation


async def federated(federation: Federation, word: str) -> Timings:
    """When the first results, the last answer and the complete presentation were ready,
    merging each target's records as they arrive, as the search service does."""
    query = parse(word)
    started = time.perf_counter()
    results: dict[str, TargetState] = {}
    gathered = Gathered(query)
    first: float | None = None
    last_answer = 0.0
    async for outcome in federation.search(query):
        last_answer = time.perf_counter() - started
        results[outcome.target] = TargetState.from_outcome(outcome)
        gathered.add(outcome.target, outcome.records)
        if first is None and outcome.records:
            present(_state(word, results), gathered=gathered, weights=federation.weights())
            first = time.perf_counter() - started
    present(_state(word, results), gathered=gathered, weights=federation.weights())
    complete = time.perf_counter() - started
    return Timings(complete if first is None else first, last_answer, complete)


def _state(word: str, results: dict[str, TargetState]) -> SessionState:
    return SessionState(
        id="bench",
        query=word,
        targets=list(results),
        created_at=0,
        deadline_at=0,
        results=dict(results),
    )


async def bare(targets: list[SruTarget], word: str, fetch: int) -> tuple[float, float]:
    query = parse(word)
    started = time.perf_counter()
    finished: list[float] = []

    async def one(target: SruTarget) -> None:
        await target.search(query, limit=fetch)
        finished.append(time.perf_counter() - started)

    await asyncio.gather(*(one(target) for target in targets))
    return min(finished), max(finished)


async def slowest_alone(targets: list[SruTarget], word: str, fetch: int) -> float:
    query = parse(word)
    slowest = 0.0
    for target in targets:
        started = time.perf_counter()
        await target.search(query, limit=fetch)
        slowest = max(slowest, time.perf_counter() - started)
    return slowest


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


async def measure_queries(
    federation: Federation, targets: list[SruTarget], fetch: int, reps: int
) -> dict[str, list[float]]:
    rows: dict[str, list[float]] = {
        key: []
        for key in (
            *("first", "last_answer", "complete", "cpu"),
            *("bare_first", "bare_complete", "bare_cpu", "alone"),
        )
    }
    for word in QUERIES:  # warm-up: connections open, Zebra caches warm
        await bare(targets, word, fetch)
    for rep in range(reps):
        for word in QUERIES:

            async def ours(word: str = word) -> None:
                cpu = time.process_time()
                timings = await federated(federation, word)
                rows["cpu"].append(time.process_time() - cpu)
                rows["first"].append(timings.first)
                rows["last_answer"].append(timings.last_answer)
                rows["complete"].append(timings.complete)

            async def floor(word: str = word) -> None:
                cpu = time.process_time()
                first, complete = await bare(targets, word, fetch)
                rows["bare_cpu"].append(time.process_time() - cpu)
                rows["bare_first"].append(first)
                rows["bare_complete"].append(complete)

            # Alternate the order so neither path always runs on a warmer machine.
            runs: list[Callable[[], Awaitable[None]]] = (
                [ours, floor] if rep % 2 == 0 else [floor, ours]
            )
            for run in runs:
                await run()
            rows["alone"].append(await slowest_alone(targets, word, fetch))
    return rows


async def concurrent_clients(federation: Federation, clients: int) -> dict[str, float]:
    latencies: list[float] = []

    async def client(offset: int) -> None:
        for index in range(len(QUERIES)):
            word = QUERIES[(index + offset) % len(QUERIES)]
            started = time.perf_counter()
            await federated(federation, word)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "searches_per_s": len(latencies) / elapsed,
        "p90_s": _p90(latencies),
        "worst_s": max(latencies),
    }


def _rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _readers_rss_mb() -> float:
    """The answer readers' RSS: this process's children started by multiprocessing (the
    Zebras are children too)."""
    children = [
        pid
        for tasks in Path("/proc/self/task").iterdir()
        for pid in (tasks / "children").read_text().split()
    ]
    return sum(
        _rss_mb(pid)
        for pid in children
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )


async def run(args: argparse.Namespace, servers: list[ZebraServer]) -> dict[str, Any]:
    tune_garbage_collection()  # as libgate serve does once started
    # As libgate does: answers read by worker processes (search.reader_processes).
    readers = AnswerReaders(args.reader_processes)
    configured = _targets(servers, args.fetch, readers)
    federation = Federation(configured, readers=readers)
    targets = [target for target, _ in configured.values()]
    try:
        rows = await measure_queries(federation, targets, args.fetch, args.reps)
        load = await concurrent_clients(federation, args.clients)
        rss_before, readers_before = _rss_mb(), _readers_rss_mb()
        for _ in range(10):  # 200 searches more: does memory stay flat?
            for word in QUERIES:
                await federated(federation, word)
        rss_after, readers_after = _rss_mb(), _readers_rss_mb()
    finally:
        await federation.aclose()
    return {
        "rows": rows,
        "load": load,
        "rss_mb": rss_before,
        "rss_mb_after_200": rss_after,
        "readers_rss_mb": readers_before,
        "readers_rss_mb_after_200": readers_after,
    }


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    rows = result["rows"]

    def cell(key: str) -> str:
        return f"{statistics.median(rows[key]) * 1000:8.1f} {_p90(rows[key]) * 1000:8.1f}"

    print()
    print(
        f"Federated search: {args.targets} Zebra targets over SRU, {args.per_target} records "
        f"each ({args.shared} shared by neighbours), {args.fetch} fetched per target, "
        f"{len(QUERIES)} queries x {args.reps} rep(s)"
    )
    print("                                   median ms   p90 ms")
    print(f"  libgate: first results          {cell('first')}")
    print(f"  libgate: complete               {cell('complete')}")
    print(f"  bare fan-out: first answer      {cell('bare_first')}")
    print(f"  bare fan-out: complete          {cell('bare_complete')}")
    print(f"  slowest single target alone     {cell('alone')}")
    ratio = statistics.median(rows["complete"]) / statistics.median(rows["bare_complete"])
    verdict = "met" if ratio <= 1.15 else "NOT met"
    print(f"  complete / bare fan-out: {ratio:.2f}x (goal <= 1.15x: {verdict})")
    # The same ratio for each repetition of the queries alone: how far it moves run to run.
    per_rep = [
        statistics.median(rows["complete"][start : start + len(QUERIES)])
        / statistics.median(rows["bare_complete"][start : start + len(QUERIES)])
        for start in range(0, len(rows["complete"]), len(QUERIES))
    ]
    print(f"    each repetition alone: {', '.join(f'{r:.2f}x' for r in per_rep)}")
    # Where libgate's extra time goes: the work left once the last answer is in, and
    # before that, its merging competing with the targets and readers for the cores.
    after_last = statistics.median(
        [done - last for done, last in zip(rows["complete"], rows["last_answer"], strict=True)]
    )
    drift = statistics.median(rows["last_answer"]) - statistics.median(rows["bare_complete"])
    print(
        f"  of libgate's extra: {after_last * 1000:.1f} ms after the last answer (its merge, "
        f"rank, facets), {drift * 1000:.1f} ms later last answer"
    )
    print(
        f"  this process's CPU per search: libgate {statistics.median(rows['cpu']) * 1000:.1f} ms, "
        f"bare fan-out {statistics.median(rows['bare_cpu']) * 1000:.1f} ms"
    )
    load = result["load"]
    print(
        f"  {args.clients} concurrent clients x {len(QUERIES)} queries: "
        f"{load['searches_per_s']:.1f} searches/s, p90 {load['p90_s']:.2f} s, "
        f"worst {load['worst_s']:.2f} s"
    )
    print(
        f"  RSS {result['rss_mb']:.0f} MB after the runs above, "
        f"{result['rss_mb_after_200']:.0f} MB after 200 searches more "
        f"(and the {args.reader_processes} answer readers: {result['readers_rss_mb']:.0f} MB, "
        f"then {result['readers_rss_mb_after_200']:.0f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, help="MARC records (default: the 250k LoC file)")
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--per-target", type=int, default=8000)
    parser.add_argument("--shared", type=int, default=4000)
    parser.add_argument("--fetch", type=int, default=100)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument(
        "--reader-processes",
        type=int,
        default=2,
        help="answer readers, as search.reader_processes (0: in threads)",
    )
    parser.add_argument("--quick", action="store_true", help="the committed 2,000-record sample")
    parser.add_argument("--out", type=Path, help="JSON results file")
    args = parser.parse_args()
    if args.quick:
        args.file, args.per_target, args.shared, args.reps = SAMPLE_CATALOGUE, 360, 180, 1
    source = args.file or BIG_FILE
    if not source.exists():
        subprocess.run([sys.executable, str(BENCH / "get_loc_books.py")], check=True)
    with tempfile.TemporaryDirectory(prefix="libgate-search-bench-") as scratch:
        work = Path(scratch)
        files = _slices(source, work, args.targets, args.per_target, args.shared)
        servers = []
        try:
            for number, path in enumerate(files):
                servers.append(start_zebra(work / f"zebra-{number}", free_port(), [path]))
            result = asyncio.run(run(args, servers))
        finally:
            for server in servers:
                server.stop()
    report(result, args)
    out = args.out or BENCH / "results" / f"search-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"results in {out}")


if __name__ == "__main__":
    main()
