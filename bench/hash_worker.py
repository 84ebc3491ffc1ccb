"""One process of the Argon2 baseline: verifies a PIN with libgate's own PinHasher (so with
exactly the parameters libgate signs residents in with), in a tight loop, when told to.

Protocol (driven by bench/run.py): prints ``ready`` once the hash exists; then for each
``run SECONDS MAX`` line on stdin it verifies until either bound is reached and prints one
JSON line ``{"count", "seconds", "cpu_s"}``; ``quit`` or end of input stops it.
"""

from __future__ import annotations

import json
import os
import sys
import time

from libgate.patrons import PinHasher

PIN = "7391"


def main() -> None:
    hasher = PinHasher()
    pin_hash = hasher.hash(PIN)
    for _ in range(2):  # warm the allocator
        hasher.verify_now(pin_hash, PIN)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        seconds, limit = float(words[1]), int(words[2])
        count = 0
        cpu0, t0 = os.times(), time.perf_counter()
        deadline = t0 + seconds
        while count < limit and time.perf_counter() < deadline:
            if not hasher.verify_now(pin_hash, PIN):
                raise SystemExit("Argon2 verification failed")
            count += 1
        elapsed = time.perf_counter() - t0
        cpu1 = os.times()
        cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        print(json.dumps({"count": count, "seconds": elapsed, "cpu_s": cpu}), flush=True)


if __name__ == "__main__":
    main()
