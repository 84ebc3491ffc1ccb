"""Garbage collection for a long-running libgate process.

A search's results are tens of thousands of small objects, and libgate keeps caches of
normalised catalogue text: with Python's default thresholds, full collections come often
and each scans every cached entry, pausing a search for up to a tenth of a second. What
exists once a process has started lives as long as it does, so it is frozen out of
collection, and collections run less often.
"""

from __future__ import annotations

import gc

_THRESHOLDS = (50_000, 20, 100)  # Python's defaults: (700, 10, 10)


def tune_garbage_collection() -> None:
    gc.freeze()
    gc.set_threshold(*_THRESHOLDS)
