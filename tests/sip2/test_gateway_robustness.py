"""Hostile and broken input at the gateway's socket: 100,000 random and mutated messages,
a sender that trickles bytes, and one that never ends its message. The gateway answers or
hangs up on each, never crashes or stalls, and keeps serving everyone else."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.support import pins
from tests.support.gateway import RunningGateway, add_vendor, gateway_running, gateway_settings
from tests.support.sip2 import EXAMPLES, connected, with_error_detection

from libgate.db import upgrade_to_latest
from libgate.sip2 import decode
from libgate.sip2.gateway import _server as gateway_server
from libgate.testing.sip2_lms import EmulatedPatron, LmsEmulator

CARD, PIN = "29990000000031", pins.new_pin()
SEEDS = [with_error_detection(text, n % 10) for n, text in enumerate(EXAMPLES.values())]
MESSAGES = 100_000
CONNECTIONS = 4


def mutated(rng: random.Random) -> bytes:
    return _not_blank(_mutation(rng)) + b"\r"


def _not_blank(body: bytes) -> bytes:
    # Blank lines between messages are skipped, and nothing would ever answer one.
    return body if body.strip(b"\r\n") else b"?"


def _mutation(rng: random.Random) -> bytes:
    if rng.random() < 0.2:
        return rng.randbytes(rng.randint(1, 80))
    message = bytearray(rng.choice(SEEDS)[:-1])
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(len(message) + 1)
        action = rng.random()
        if action < 0.4 and message:
            message[min(position, len(message) - 1)] = rng.randrange(256)
        elif action < 0.7:
            message[position:position] = rng.choice([b"|", b"AY", b"AZ", b"\x00", b"\n"])
        else:
            del message[position : position + rng.randint(1, 6)]
    return bytes(message).replace(b"\r", b"")


@contextlib.asynccontextmanager
async def gateway_with(tmp_path: Path, **limits: Any) -> AsyncIterator[tuple[RunningGateway, str]]:
    """A gateway in front of an LMS emulator with these [gateway] settings, and the password
    of its vendor "fuzzer"."""
    async with LmsEmulator(patrons=[EmulatedPatron(CARD, PIN, "Ada")]) as lms:
        settings = gateway_settings(f"sqlite:///{tmp_path / 'gateway.db'}", lms, **limits)
        await upgrade_to_latest(settings.database_url)
        password = await add_vendor(settings, "fuzzer", "validation")
        async with gateway_running(settings) as running:
            yield running, password


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[tuple[RunningGateway, str]]:
    async with gateway_with(
        tmp_path, message_timeout_seconds=1, idle_timeout_seconds=30, max_message_size=4096
    ) as running:
        yield running


async def fuzz(port: int, password: str, seed: int, count: int) -> int:
    """Send ``count`` mutated messages, reconnecting whenever the gateway hangs up;
    return how many hang-ups there were."""
    rng = random.Random(seed)
    hangups = 0
    sent = 0
    while sent < count:
        async with connected("127.0.0.1", port) as client:
            await client.login(password, user="fuzzer")
            while sent < count:
                sent += 1
                if not await client.raw(mutated(rng)):
                    hangups += 1
                    break
    return hangups


@pytest.mark.slow
async def test_100000_hostile_messages_while_a_library_keeps_working(
    gateway: tuple[RunningGateway, str],
) -> None:
    running, password = gateway
    answered = 0

    async def library_member() -> None:
        nonlocal answered
        async with connected("127.0.0.1", running.port) as client:
            await client.login(password, user="fuzzer")
            while True:
                answer = await client.patron(CARD, PIN)
                assert answer.get("BL") in ("Y", None)  # answered (or rate-limited), never lost
                answered += 1
                await asyncio.sleep(0.05)

    member = asyncio.create_task(library_member())
    started = time.monotonic()
    per_connection = MESSAGES // CONNECTIONS
    hangups = await asyncio.gather(
        *(fuzz(running.port, password, seed, per_connection) for seed in range(CONNECTIONS))
    )
    elapsed = time.monotonic() - started
    assert not member.done(), member
    member.cancel()
    print(f"{MESSAGES} messages in {elapsed:.1f} s, {sum(hangups)} hang-ups, member {answered}")
    assert answered > elapsed * 5  # the member was served all along
    async with connected("127.0.0.1", running.port) as client:  # and still is
        assert (await client.login(password, user="fuzzer")).fixed_value("ok") == "1"


async def test_a_sender_that_trickles_bytes_is_cut_off(gateway: tuple[RunningGateway, str]) -> None:
    running, password = gateway
    async with connected("127.0.0.1", running.port) as client:
        await client.login(password, user="fuzzer")

        async def trickle() -> None:
            for byte in b"63001" * 100:
                client.writer.write(bytes([byte]))
                await asyncio.sleep(0.05)

        sender = asyncio.create_task(trickle())
        started = time.monotonic()
        async with asyncio.timeout(5):
            hung_up = await client.frames.read()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sender
    assert hung_up is None
    assert time.monotonic() - started < 3  # message_timeout_seconds is 1


async def test_an_endless_message_is_cut_off(gateway: tuple[RunningGateway, str]) -> None:
    running, password = gateway
    async with connected("127.0.0.1", running.port) as client:
        await client.login(password, user="fuzzer")
        assert await client.raw(b"63001" + b"X" * 10_000 + b"\r") == b""
    async with connected("127.0.0.1", running.port) as client:
        answer = decode(await client.raw(b"9300CNfuzzer|COwrong|\r"))
        assert answer.code == "94"


async def test_a_silent_connection_is_closed_after_the_idle_timeout(tmp_path: Path) -> None:
    async with (
        gateway_with(tmp_path, idle_timeout_seconds=0.5) as (running, password),
        connected("127.0.0.1", running.port) as talker,
        connected("127.0.0.1", running.port) as silent,
    ):
        await talker.login(password, user="fuzzer")
        await silent.login(password, user="fuzzer")
        for _ in range(5):  # 1.5 s: three idle timeouts
            await asyncio.sleep(0.3)
            assert (await talker.patron(CARD, PIN)).get("BL") == "Y"
        async with asyncio.timeout(5):
            assert await silent.frames.read() is None  # hung up on, long ago


async def answered_again(port: int) -> bool:
    """Whether a new connection is answered again within a few seconds of trying."""
    for _ in range(50):
        async with connected("127.0.0.1", port) as later:
            if await later.raw(b"9300CNfuzzer|COwhatever|\r"):
                return True
        await asyncio.sleep(0.05)
    return False


async def test_connections_beyond_the_limit_are_refused_and_the_others_served(
    tmp_path: Path,
) -> None:
    async with gateway_with(tmp_path, max_connections=2) as (running, password):
        async with (
            connected("127.0.0.1", running.port) as first,
            connected("127.0.0.1", running.port) as second,
        ):
            await first.login(password, user="fuzzer")
            await second.login(password, user="fuzzer")
            async with connected("127.0.0.1", running.port) as third:
                assert await third.raw(b"9300CNfuzzer|COwhatever|\r") == b""
            assert (await first.patron(CARD, PIN)).get("BL") == "Y"
            assert (await second.patron(CARD, PIN)).get("BL") == "Y"
        # The two slots free up as soon as their connections end.
        assert await answered_again(running.port), "no new connection after the others ended"


async def test_one_address_may_not_take_more_than_its_share_of_connections(
    tmp_path: Path,
) -> None:
    async with gateway_with(tmp_path, max_connections_per_address=2) as (running, password):
        async with (
            connected("127.0.0.1", running.port) as first,
            connected("127.0.0.1", running.port) as second,
        ):
            async with connected("127.0.0.1", running.port) as third:
                assert await third.raw(b"9300CNfuzzer|COwhatever|\r") == b""
            async with connected("127.0.0.1", running.port, source="127.0.0.2") as elsewhere:
                assert (await elsewhere.login(password, user="fuzzer")).fixed_value("ok") == "1"
            await first.login(password, user="fuzzer")
            assert (await second.login(password, user="fuzzer")).fixed_value("ok") == "1"
        # The address's places free up as its connections end.
        assert await answered_again(running.port), "no new connection from the address again"


async def test_connections_that_never_log_in_give_their_places_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_server, "LOGIN_SECONDS", 0.5)
    async with gateway_with(tmp_path, max_connections=2) as (running, password):
        async with (
            connected("127.0.0.1", running.port) as idle,
            connected("127.0.0.1", running.port) as chatty,
        ):
            assert await chatty.raw(b"zz\r")  # answered (96), but still not logged in
            await asyncio.sleep(0.7)
            assert await idle.raw(b"9900302.00\r") == b""  # hung up on, both of them
            assert await chatty.raw(b"zz\r") == b""
        async with connected("127.0.0.1", running.port) as kiosk:
            assert (await kiosk.login(password, user="fuzzer")).fixed_value("ok") == "1"
            await asyncio.sleep(0.7)
            assert (await kiosk.patron(CARD, PIN)).get("BL") == "Y"  # logged in: no deadline


async def test_a_kiosk_that_sends_without_reading_gets_every_answer_in_order(
    gateway: tuple[RunningGateway, str],
) -> None:
    running, password = gateway
    async with connected("127.0.0.1", running.port) as client:
        await client.login(password, user="fuzzer")
        # Half a megabyte at once: more than one read of the socket, and far more than the
        # gateway queues for one connection, so it must stop reading and start again.
        status = [with_error_detection("9900302.00", n % 10) for n in range(40)]
        misplaced = SEEDS[list(EXAMPLES).index("98")]  # an answer sent as a request: 96
        burst = [message for n in range(40) for message in [status[n]] + [misplaced] * 100]
        client.writer.write(b"".join(burst))
        async with asyncio.timeout(30):
            answers = [decode(await client.frames.read() or b"") for _ in burst]
    expected = [pair for n in range(40) for pair in [("98", n % 10)] + [("96", None)] * 100]
    assert [(answer.code, answer.sequence) for answer in answers] == expected
