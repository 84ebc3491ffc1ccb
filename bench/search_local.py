"""The local catalogue index at scale: import 250,000 Library of Congress records, then
time the 20 benchmark words (top 100 by BM25 each, several rounds). Goal: p50 <= 10 ms.

    .venv/bin/python bench/search_local.py              # the 250k file, fetched once into
                                                        # bench/data (or --data DIR)
    .venv/bin/python bench/search_local.py --quick      # its first 10,000 records
    .venv/bin/python bench/search_local.py --file X.mrc # any MARC 21 / MARCXML file

Prints import time (records per second), size on disk and query latency p50 / p99, and
writes them to bench/results/search-local-*.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from get_loc_books import BENCH, loc_books
from libgate.search.index import LocalIndex
from libgate.search.query import Term
from search_queries import QUERIES

GOAL_P50_MS = 10.0
QUICK_RECORDS = 10_000
THREADS = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, help="MARC file to import (default: 250k LoC)")
    parser.add_argument("--quick", action="store_true", help="the first 10,000 records only")
    parser.add_argument(
        "--data", type=Path, default=BENCH / "data", help="where the 250k file is kept"
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of the 20 words")
    parser.add_argument("--limit", type=int, default=100, help="records fetched per query")
    args = parser.parse_args()
    if args.file:
        source = args.file
    else:
        source = loc_books(args.data)
        if args.quick:
            source = _head(source, QUICK_RECORDS)

    with tempfile.TemporaryDirectory() as scratch:
        index = LocalIndex(Path(scratch) / "catalogue.db")
        started = time.perf_counter()
        report = index.import_marc(source)
        seconds = time.perf_counter() - started
        records = index.count()
        size = index.size_on_disk()
        print(f"{source.name}: {records:,} records imported in {seconds:.1f} s")
        print(f"  {report.added:,} added, {report.skipped:,} skipped")
        print(f"  {records / seconds:,.0f} records/s, {size / 1e6:.0f} MB on disk")

        hits = {word: index.search(Term(word), limit=args.limit)[0] for word in QUERIES}  # warm-up
        words = QUERIES * args.rounds
        latencies = [_timed(index, word, args.limit) for word in words]
        # As the web server runs them: in worker threads, each with its own connection.
        started = time.perf_counter()
        with ThreadPoolExecutor(THREADS) as pool:
            parallel = list(pool.map(lambda word: _timed(index, word, args.limit), words))
        parallel_rate = len(words) / (time.perf_counter() - started)
        index.close()

    p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
    print(f"  {len(latencies)} queries (top {args.limit}): p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(f"  goal p50 <= {GOAL_P50_MS:.0f} ms: {'met' if p50 <= GOAL_P50_MS else 'NOT met'}")
    print(
        f"  {THREADS} threads at once: {parallel_rate:,.0f} queries/s, "
        f"p50 {_percentile(parallel, 50):.2f} ms, p99 {_percentile(parallel, 99):.2f} ms"
    )
    print("  hits: " + ", ".join(f"{word} {count:,}" for word, count in hits.items()))
    _save(
        {
            "file": str(source),
            "records": records,
            "import_seconds": round(seconds, 2),
            "records_per_second": round(records / seconds),
            "size_bytes": size,
            "query_p50_ms": round(p50, 3),
            "query_p99_ms": round(p99, 3),
            "mean_ms": round(statistics.fmean(latencies), 3),
            "threads": THREADS,
            "threads_queries_per_second": round(parallel_rate, 1),
            "hits": hits,
        }
    )


def _timed(index: LocalIndex, word: str, limit: int) -> float:
    started = time.perf_counter()
    index.search(Term(word), limit=limit)
    return (time.perf_counter() - started) * 1000


def _head(path: Path, records: int) -> Path:
    """A file of the first ``records`` records of ``path`` (ISO 2709), made once."""
    head = path.with_name(f"{path.stem}-first-{records}{path.suffix}")
    if head.exists():
        return head
    with path.open("rb") as source, head.open("wb") as out:
        for _ in range(records):
            length = source.read(5)
            if len(length) < 5:
                break
            out.write(length + source.read(int(length) - 5))
    return head


def _percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def _save(result: dict[str, object]) -> None:
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    path = results / f"search-local-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"  written to {path.relative_to(BENCH.parent)}")


if __name__ == "__main__":
    main()
