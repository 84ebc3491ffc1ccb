"""Targets that fail or misbehave: a server killed mid-test, one that accepts the connection
and never answers, and SRU responses built to hurt (entity expansion, external entities,
a 100 MB body, broken XML, error pages). Each ends as a clean TargetError in plain words,
or as an answer with notes, never as a hang or a leak."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pymarc
import pytest

from libgate.config import TargetSettings
from libgate.search import TargetAnswer, TargetError
from libgate.search.query import Term
from libgate.search.records import marcxml
from libgate.search.targets._sru import SruTarget
from libgate.search.targets._z3950 import Z3950Target
from tests.support.http_stub import (
    Respond,
    answer,
    http_stub,
    response_head,
    silent_listener,
    sru_at,
)
from tests.support.zebra import (
    marc_records,
    require_zebra,
    sru_settings,
    start_sample_zebra,
    z3950_settings,
)

TARGETS = {"sru": SruTarget, "z3950": Z3950Target}
SRU_1 = "http://www.loc.gov/zing/srw/"
SRU_2 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
HISTORY = Term("history")
MB = 1_000_000


async def search(settings: TargetSettings, **kwargs: Any) -> TargetAnswer:
    target: SruTarget | Z3950Target = TARGETS[settings.protocol]("east", settings, **kwargs)
    try:
        return await target.search(HISTORY, limit=10)
    finally:
        await target.aclose()


async def refusal(settings: TargetSettings, **kwargs: Any) -> str:
    """The message of the TargetError the search ends in."""
    with pytest.raises(TargetError) as refused:
        await search(settings, **kwargs)
    return str(refused.value)


async def stub_refusal(respond: Respond, **kwargs: Any) -> str:
    async with http_stub(respond) as stub:
        return await refusal(sru_at(stub.url, title="East"), **kwargs)


def sru_response(inner: str, namespace: str = SRU_1) -> bytes:
    return f'<searchRetrieveResponse xmlns="{namespace}">{inner}</searchRetrieveResponse>'.encode()


def sru_records(*records: bytes) -> str:
    return (
        "<records>"
        + "".join(
            f"<record><recordSchema>marcxml</recordSchema><recordData>{r.decode()}</recordData>"
            f"<recordPosition>{n}</recordPosition></record>"
            for n, r in enumerate(records, 1)
        )
        + "</records>"
    )


def sample_marcxml(index: int) -> bytes:
    return marcxml(pymarc.Record(data=marc_records()[index]))


@pytest.mark.parametrize("protocol", ["sru", "z3950"])
async def test_a_killed_target_is_an_error_at_once(tmp_path: Path, protocol: str) -> None:
    require_zebra()
    server = await asyncio.to_thread(start_sample_zebra, tmp_path, 0, 50)
    settings = {"sru": sru_settings, "z3950": z3950_settings}[protocol](server, title="East")
    target = TARGETS[protocol]("east", settings)
    try:
        assert (await target.search(HISTORY, limit=10)).hits > 0
        await asyncio.to_thread(server.stop)
        started = time.monotonic()
        with pytest.raises(TargetError) as refused:
            await target.search(HISTORY, limit=10)
        print(f"{protocol}: {refused.value} after {time.monotonic() - started:.3f} s")
    finally:
        await target.aclose()
        await asyncio.to_thread(server.stop)
    # Which of the two depends on whether the kernel had closed the kept-alive connection
    # before the second search went out on it.
    assert str(refused.value).startswith(
        ("could not connect to East (127.0.0.1:", "East broke off the connection")
    )


@pytest.mark.parametrize("protocol", ["sru", "z3950"])
async def test_a_target_that_never_answers_times_out_at_its_timeout(protocol: str) -> None:
    async with silent_listener() as port:
        url = {"sru": f"http://127.0.0.1:{port}/sru", "z3950": f"127.0.0.1:{port}/Default"}
        settings = TargetSettings.model_validate(
            {"protocol": protocol, "url": url[protocol], "title": "East", "timeout_seconds": 0.5}
        )
        started = time.monotonic()
        message = await refusal(settings)
        elapsed = time.monotonic() - started
    print(f"{protocol}: {message} after {elapsed:.3f} s")
    assert message == "East did not answer within 0.5 s"
    assert elapsed < 10  # a hang guard, not a performance figure


async def test_a_target_that_answers_a_byte_at_a_time_times_out_all_the_same() -> None:
    async def trickle(writer: asyncio.StreamWriter) -> None:
        writer.write(response_head())
        for byte in sru_response("<numberOfRecords>0</numberOfRecords>"):
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.05)

    async with http_stub(trickle) as stub:
        started = time.monotonic()
        message = await refusal(sru_at(stub.url, title="East", timeout_seconds="0.5"))
        elapsed = time.monotonic() - started
    print(f"{message} after {elapsed:.3f} s")
    assert message == "East did not answer within 0.5 s"
    assert elapsed < 10  # a hang guard, not a performance figure


def billion_laughs(encoding: str = "utf-8") -> bytes:
    """Ten to the ninth "lol"s from a few hundred bytes, unless entities are refused."""
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)]
    body = sru_response("<numberOfRecords>&lol9;</numberOfRecords>").decode()
    text = f'<?xml version="1.0" encoding="{encoding}"?>\n<!DOCTYPE lolz [{"".join(entities)}]>\n'
    return (text + body).encode(encoding)


EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    + sru_response(
        "<numberOfRecords>1</numberOfRecords>"
        + sru_records(sample_marcxml(0).replace(b"</leader>", b"</leader>&xxe;"))
    )
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (billion_laughs(), "DOCTYPE"),
        (billion_laughs("utf-16"), "DOCTYPE"),
        (EXTERNAL_ENTITY, "DOCTYPE"),
        (b"<searchRetrieveResponse><numberOfRecords>3</numberOf", "not well-formed"),
        (b"", "empty"),
        (b"<html><body><h1>Please sign in</h1></body></html>", "did not answer with SRU"),
    ],
    ids=["billion-laughs", "billion-laughs-utf16", "external-entity", "malformed", "empty", "html"],
)
async def test_hostile_or_broken_xml_is_refused_in_plain_words(body: bytes, expected: str) -> None:
    message = await stub_refusal(answer(body))
    print(message)
    assert message.startswith("East ")
    assert expected in message
    assert "root:" not in message


@pytest.mark.parametrize(
    "body", [b"Internal Server Error\n", b"<html><body>Oops</body></html>", b"<broken"]
)
async def test_an_error_page_instead_of_results_says_so(body: bytes) -> None:
    message = await stub_refusal(answer(body, status=500, content_type="text/html"))
    assert message == "East answered with an error (HTTP 500) instead of search results"


async def test_a_100_mb_body_is_cut_off_at_the_cap_without_reading_the_rest() -> None:
    sent = 0

    async def flood(writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        # No Content-Length: the client only learns the size by reading.
        writer.write(response_head() + f'<searchRetrieveResponse xmlns="{SRU_1}">'.encode())
        chunk = b"<x/>" * (MB // 4)
        while sent < 100 * MB:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)

    started = time.monotonic()
    message = await stub_refusal(flood)
    print(f"{message}; the server got {sent / MB:.1f} MB out in {time.monotonic() - started:.2f} s")
    assert message.startswith("East sent more than 20,000,000 bytes in one answer")
    assert sent < 100 * MB


def sent_packed(packed: bytes, encoding: str = "gzip") -> Respond:
    """An answer of ``packed`` bytes, labelled with ``encoding`` (Content-Encoding)."""

    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(Content_Encoding=encoding, Content_Length=str(len(packed))))
        writer.write(packed)
        await writer.drain()

    return respond


def one_record_answer() -> bytes:
    return sru_response(f"<numberOfRecords>1</numberOfRecords>{sru_records(sample_marcxml(3))}")


async def assert_read_as_sent_plain(respond: Respond) -> None:
    """``respond``'s answer, once unpacked, reads as :func:`one_record_answer` sent plain."""
    async with http_stub(respond) as stub:
        unpacked = await search(sru_at(stub.url, title="East"))
    async with http_stub(answer(one_record_answer())) as stub:
        plain = await search(sru_at(stub.url, title="East"))
    assert len(unpacked.records) == 1
    assert unpacked == plain


async def test_a_compressed_100_mb_body_is_cut_off_at_the_cap() -> None:
    gzip = zlib.compressobj(9, zlib.DEFLATED, wbits=31)
    chunk = b"<x/>" * (MB // 4)
    bomb = b"".join(gzip.compress(chunk) for _ in range(100)) + gzip.flush()
    message = await stub_refusal(sent_packed(bomb))
    print(f"{len(bomb):,} bytes of gzip: {message}")
    assert message.startswith("East sent more than 20,000,000 bytes in one answer")


@pytest.mark.parametrize("after", [b"", zlib.compress(b"<x/>", wbits=31)], ids=["alone", "second"])
async def test_a_gzip_bomb_is_unpacked_no_further_than_the_cap(after: bytes) -> None:
    # 50 MB of zeros pack into about 50 kB: one read from the socket. Unpacked in one go,
    # it would take 50 MB of memory before the cap could be checked. (Also as the second
    # member of an answer in several.)
    bomb = zlib.compressobj(9, zlib.DEFLATED, wbits=31)
    packed = after + bomb.compress(bytes(50 * MB)) + bomb.flush()
    tracemalloc.start()
    try:
        message = await stub_refusal(sent_packed(packed), max_bytes=MB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"{len(packed):,} bytes of gzip; memory at its peak {peak / MB:.1f} MB: {message}")
    assert message.startswith("East sent more than 1,000,000 bytes in one answer")
    assert peak < 10 * MB


# Content-Encoding, and zlib's wbits for packing the body that way (None: not packed).
READABLE_ENCODINGS = [
    ("gzip", 31),
    ("deflate", 15),  # with its zlib header, as the standard says
    ("deflate", -15),  # bare, as some servers send it
    ("utf-8", None),  # a misconfigured server's label, which is no compression
    ("identity", None),
]


@pytest.mark.parametrize(("encoding", "wbits"), READABLE_ENCODINGS)
async def test_an_answer_is_unpacked_as_its_content_encoding_says(
    encoding: str, wbits: int | None
) -> None:
    packed = one_record_answer()
    if wbits is not None:
        packer = zlib.compressobj(wbits=wbits)
        packed = packer.compress(packed) + packer.flush()
    await assert_read_as_sent_plain(sent_packed(packed, encoding))


async def test_an_answer_gzipped_in_several_members_is_read_whole() -> None:
    body = one_record_answer()
    thirds = (body[: len(body) // 3], body[len(body) // 3 : -9], body[-9:])
    packed = b"".join(zlib.compress(third, wbits=31) for third in thirds)
    second_member_at = len(zlib.compress(thirds[0], wbits=31))

    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(Content_Encoding="gzip", Content_Length=str(len(packed))))
        # Cut inside the second member's two-byte signature, in separate packets.
        for piece in (packed[: second_member_at + 1], packed[second_member_at + 1 :]):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.05)

    await assert_read_as_sent_plain(respond)


async def test_what_follows_the_last_gzip_member_is_ignored() -> None:
    packed = zlib.compress(one_record_answer(), wbits=31) + bytes(1000) + b"\x1f\x8b" * 1000
    await assert_read_as_sent_plain(sent_packed(packed))


async def test_an_answer_in_thousands_of_empty_gzip_members_is_refused() -> None:
    packed = zlib.compress(one_record_answer(), wbits=31) + zlib.compress(b"", wbits=31) * 5000
    message = await stub_refusal(sent_packed(packed))
    assert message == "East sent a compressed answer that could not be unpacked"


@pytest.mark.parametrize(
    ("encoding", "packed", "expected"),
    [
        ("br", b"\x1b\x00", "East answered compressed as br, which libgate cannot unpack"),
        ("gzip, gzip", b"\x1f\x8b", "East answered compressed as gzip, gzip, which libgate"),
        ("gzip", b"not gzip at all", "East sent a compressed answer that could not be unpacked"),
    ],
)
async def test_an_answer_that_cannot_be_unpacked_says_so(
    encoding: str, packed: bytes, expected: str
) -> None:
    assert (await stub_refusal(sent_packed(packed, encoding))).startswith(expected)


async def test_a_declared_100_mb_body_is_refused_before_reading_it() -> None:
    async def declare(writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(Content_Length=str(100 * MB)) + b"<x>" * 1000)
        await writer.drain()

    message = await stub_refusal(declare, max_bytes=20 * MB)
    assert message.startswith("East sent more than 20,000,000 bytes in one answer")


@pytest.mark.parametrize("namespace", [SRU_1, SRU_2])
async def test_a_fatal_sru_diagnostic_fails_the_search_with_its_message(namespace: str) -> None:
    diagnostic = (
        "<diagnostics><diagnostic xmlns='http://www.loc.gov/zing/srw/diagnostic/'>"
        "<uri>info:srw/diagnostic/1/16</uri><details>dc.subject</details>"
        "<message>Unsupported index</message></diagnostic></diagnostics>"
    )
    body = sru_response(f"<numberOfRecords>0</numberOfRecords>{diagnostic}", namespace)
    message = await stub_refusal(answer(body))
    assert message == "East could not run the search: Unsupported index: dc.subject"


async def test_a_non_fatal_diagnostic_comes_with_the_results() -> None:
    diagnostic = (
        "<diagnostics><diagnostic xmlns='http://docs.oasis-open.org/ns/search-ws/diagnostic'>"
        "<uri>info:srw/diagnostic/1/68</uri><message>Too many records requested</message>"
        "</diagnostic></diagnostics>"
    )
    body = sru_response(
        f"<numberOfRecords>40</numberOfRecords>{sru_records(sample_marcxml(1))}{diagnostic}",
        SRU_2,
    )
    async with http_stub(answer(body)) as stub:
        result = await search(sru_at(stub.url, sru_version="2.0"))
    assert result.hits == 40
    assert [record.title for record in result.records] != [""]
    assert len(result.records) == 1
    assert result.diagnostics == ("Too many records requested",)


async def test_a_record_that_cannot_be_read_is_left_out_with_a_note() -> None:
    unreadable = b'<collection xmlns="http://www.loc.gov/MARC21/slim"/>'
    odd = b'<mods xmlns="http://www.loc.gov/mods/v3"><title>?</title></mods>'
    body = sru_response(
        "<numberOfRecords>3</numberOfRecords>" + sru_records(sample_marcxml(2), odd, unreadable)
    )
    async with http_stub(answer(body)) as stub:
        result = await search(sru_at(stub.url))
    print(result.records)
    assert result.hits == 3
    assert len(result.records) == 1
    assert result.diagnostics == ("2 of its records could not be read and were left out",)
