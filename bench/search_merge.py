"""What merging costs a federated search: merge + rank + facets over 1,000 and 10,000
records, as ten targets with overlapping holdings would send them.

    .venv/bin/python bench/search_merge.py [--reps 15] [--sizes 1000,10000] [--profile]

Records are Library of Congress records (the test sample, or ``--marc FILE``) spread over
ten pretend sources with overlapping holdings, so that every record arrives from at
least two sources (five, for 10,000 from the 2,000 of the sample) and merging has real
work to do. Each repetition starts cold
(the key caches emptied) and times, on this one process (one core): merging, ranking for
a one-word query (the 20 of the search benchmark, in turn), facets, and the summaries of
the first page of 20, which is what one poll of a search costs. Goal: <= 30 ms for 1,000.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import json
import pstats
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pymarc

from libgate.demo import SAMPLE_CATALOGUE
from libgate.search import Merger, Record, _facets, _keys, summary
from libgate.search._facets import facets
from libgate.search._rank import rank
from libgate.search.query import parse
from libgate.search.records import record_from_marc
from search_queries import QUERIES

ROOT = Path(__file__).resolve().parents[1]
SOURCES = 10
GOAL_MS = 30.0


def load(path: Path) -> list[Record]:
    with path.open("rb") as stream:
        reader = pymarc.MARCReader(stream, to_unicode=True, force_utf8=True)
        return [record_from_marc(marc, source="loc") for marc in reader if marc is not None]


def spread(records: list[Record], total: int) -> tuple[list[list[Record]], int]:
    """``total`` records as SOURCES targets send them: each target a run of total/SOURCES
    consecutive records, the runs overlapping so that each record comes from at least
    two targets (more when the file is too small for that)."""
    per_source = total // SOURCES
    distinct = min(len(records), total // 2)
    stride = distinct // SOURCES
    answers = [
        [
            dataclasses.replace(records[(i * stride + n) % distinct], source=f"lib{i}")
            for n in range(per_source)
        ]
        for i in range(SOURCES)
    ]
    return answers, distinct


def one_poll(answers: list[list[Record]], query: str) -> dict[str, float]:
    """One search's view, stage by stage (ms)."""
    parsed = parse(query)
    times: dict[str, float] = {}
    wall = time.perf_counter()
    started = time.process_time()
    merger = Merger()
    for answer in answers:
        merger.add(answer)
    clusters = merger.clusters()
    times["merge"] = time.process_time()
    ranked = rank(clusters, parsed)
    times["rank"] = time.process_time()
    facets(
        ranked,
        hits_by_source={f"lib{i}": 10 * len(a) for i, a in enumerate(answers)},
        fetched_by_source={f"lib{i}": len(a) for i, a in enumerate(answers)},
    )
    times["facets"] = time.process_time()
    for cluster in ranked[:20]:
        summary(cluster)
    times["page"] = time.process_time()
    previous, result = started, {}
    for stage, moment in times.items():
        result[stage] = (moment - previous) * 1000
        previous = moment
    result["total"] = (previous - started) * 1000
    result["wall"] = (time.perf_counter() - wall) * 1000
    result["clusters"] = len(clusters)
    return result


def clear_caches() -> None:
    for module in (_keys, _facets):
        for name in dir(module):
            cache_clear: Callable[[], None] | None = getattr(
                getattr(module, name), "cache_clear", None
            )
            if cache_clear is not None:
                cache_clear()


def measure(answers: list[list[Record]], reps: int, cold: bool) -> dict[str, float]:
    polls = []
    one_poll(answers, QUERIES[0])  # imports, first-call costs
    for rep in range(reps):
        if cold:
            clear_caches()
        polls.append(one_poll(answers, QUERIES[rep % len(QUERIES)]))
    return {stage: statistics.median(p[stage] for p in polls) for stage in polls[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument(
        "--marc", type=Path, default=SAMPLE_CATALOGUE, help="MARC 21 file of records"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the largest size")
    parser.add_argument("--out", type=Path, help="JSON results file")
    args = parser.parse_args()
    records = load(args.marc)
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"{len(records)} records from {args.marc.name}; {SOURCES} sources; {args.reps} reps")
    print("                                       CPU ms (one core)                 |")
    print("    records distinct clusters  cache |  merge   rank facets   page  total |  wall ms")
    report = []
    for size in sizes:
        answers, distinct = spread(records, size)
        for cold in (True, False):
            figures = measure(answers, args.reps, cold)
            report.append({"records": size, "cold": cold, **figures})
            print(
                f"    {size:7d} {distinct:8d} {int(figures['clusters']):8d}"
                f"  {'cold' if cold else 'warm':>5} | {figures['merge']:6.1f} "
                f"{figures['rank']:6.1f} {figures['facets']:6.1f} {figures['page']:6.1f} "
                f"{figures['total']:6.1f} | {figures['wall']:8.1f}"
            )
    cold_1000 = next((r for r in report if r["records"] == 1000 and r["cold"]), None)
    if cold_1000 is not None:
        verdict = "met" if cold_1000["total"] <= GOAL_MS else "NOT met"
        print(
            f"    1,000 records, cold: {cold_1000['total']:.1f} ms CPU"
            f" (goal <= {GOAL_MS:.0f} ms: {verdict})"
        )
    if args.out:
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    if args.profile:
        answers, _ = spread(records, max(sizes))
        clear_caches()
        profiler = cProfile.Profile()
        profiler.runcall(one_poll, answers, QUERIES[0])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
