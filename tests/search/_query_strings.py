"""Seeded random and mutated strings for fuzzing the query parsers."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence


def fuzz_strings(
    seeds: Sequence[str], pieces: Sequence[str], count: int, seed: int
) -> Iterator[str]:
    """``count`` strings: half built from ``pieces``, half ``seeds`` with random edits."""
    rng = random.Random(seed)
    for n in range(count):
        if n % 2:
            yield "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
            continue
        chars = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            where = rng.randint(0, len(chars))
            edit = rng.random()
            if edit < 0.4:
                chars[where:where] = rng.choice(pieces)
            elif edit < 0.7 and chars:
                del chars[min(where, len(chars) - 1)]
            elif chars:
                chars[min(where, len(chars) - 1)] = chr(rng.randint(0, 0x2FFF))
        yield "".join(chars)
