"""100,000 random and mutated inputs: the codec answers each with a message or a typed
error, never another exception, and round-trips whatever it accepts strictly."""

from __future__ import annotations

import random

from tests.support.sip2 import EXAMPLES, with_error_detection

from libgate.sip2 import Sip2Error, decode, encode

SEEDS = [bytes(with_error_detection(text, n % 10)) for n, text in enumerate(EXAMPLES.values())]
SEEDS += [text.encode("cp850") + b"\r" for text in EXAMPLES.values()]


def mutate(rng: random.Random, data: bytes) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        position = rng.randrange(len(buffer) + 1)
        if choice < 0.3 and buffer:
            buffer[min(position, len(buffer) - 1)] = rng.randrange(256)
        elif choice < 0.5:
            buffer[position:position] = rng.choice([b"|", b"\r", b"\n", b"AY", b"AZ", b"\x00"])
        elif choice < 0.7 and buffer:
            del buffer[position : position + rng.randint(1, 8)]
        elif choice < 0.85:
            buffer[position:position] = rng.randbytes(rng.randint(1, 16))
        else:
            buffer = buffer[:position]
    return bytes(buffer)


def test_100000_random_and_mutated_inputs() -> None:
    rng = random.Random(20261128)
    outcomes = {"message": 0, "error": 0}
    for number in range(100_000):
        if number % 4 == 0:
            data = rng.randbytes(rng.randint(0, 64))
        else:
            data = mutate(rng, rng.choice(SEEDS))
        strict = number % 2 == 0
        encoding = ("cp850", "latin-1", "utf-8")[number % 3]
        try:
            message = decode(data, strict=strict, encoding=encoding)
        except Sip2Error:
            outcomes["error"] += 1
            continue
        outcomes["message"] += 1
        if strict:
            assert encode(message, encoding=encoding) == data
    # Both outcomes are well represented: the mutations are not all rejected or all benign.
    print(outcomes)
    assert outcomes["message"] > 5_000 and outcomes["error"] > 5_000, outcomes
