"""A JSON search service (Open Library's search API shape) as a target: plain words out,
records in through the configured paths, and every way such a service can go wrong ends in
a plain TargetError."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from libgate.config import TargetSettings
from libgate.search import TargetError
from libgate.search.query import parse
from libgate.search.targets import AnswerReaders, JsonTarget

OPEN_LIBRARY_FIELDS = {
    "records": "docs",
    "hits": "numFound",
    "id": "key",
    "title": "title",
    "authors": "author_name",
    "isbns": "isbn",
    "year": "first_publish_year",
    "publisher": "publisher",
    "subjects": "subject",
    "language": "language",
}
ANSWER = {
    "numFound": 1234,
    "docs": [
        {
            "key": "/works/OL27482W",
            "title": "The Hobbit",
            "author_name": ["J.R.R. Tolkien"],
            "isbn": ["0261102214", "978-0-261-10221-7", "not an isbn"],
            "first_publish_year": 1937,
            "publisher": ["Allen & Unwin"],
            "subject": ["Fantasy", "Dragons"],
            "language": ["eng"],
        },
        {"key": "/works/OL1W", "title": "", "author_name": []},  # no title: left out
        "not a record",
    ],
}


class _Service(BaseHTTPRequestHandler):
    body: bytes = json.dumps(ANSWER).encode()
    status = 200
    seen: list[dict[str, list[str]]] = []  # noqa: RUF012 - shared with the test, on purpose

    def do_GET(self) -> None:
        type(self).seen.append(parse_qs(urlsplit(self.path).query))
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def service(body: bytes | None = None, status: int = 200) -> Iterator[tuple[str, type[_Service]]]:
    """A JSON search service on 127.0.0.1; yields its URL template and its handler class,
    whose ``seen`` lists the query parameters of every request."""
    handler = type("Handler", (_Service,), {"status": status, "seen": []})
    if body is not None:
        handler.body = body
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/search.json?q={{searchTerms}}&limit={{count}}"
        yield url, handler
    finally:
        server.shutdown()
        server.server_close()


def target(url: str, readers: AnswerReaders | None = None, **extra: object) -> JsonTarget:
    settings = TargetSettings(
        protocol="json", url=url, json_fields=OPEN_LIBRARY_FIELDS, timeout_seconds=5, **extra
    )
    return JsonTarget("openlibrary", settings, readers=readers)


async def test_records_come_back_in_the_common_model() -> None:
    with service() as (url, _):
        found = target(url)
        try:
            answer = await found.search(parse("hobbit"), limit=10)
        finally:
            await found.aclose()
    assert answer.hits == 1234
    [hobbit] = answer.records
    assert hobbit.title == "The Hobbit"
    assert hobbit.source == "openlibrary"
    assert hobbit.native_id == "/works/OL27482W"
    assert hobbit.authors == ("J.R.R. Tolkien",)
    assert hobbit.isbns == ("9780261102217",)  # both forms of one ISBN, the junk dropped
    assert hobbit.year == 1937
    assert hobbit.subjects == ("Fantasy", "Dragons")


async def test_the_query_goes_as_plain_words_with_a_note_for_what_was_left_out() -> None:
    with service() as (url, handler):
        found = target(url)
        try:
            answer = await found.search(parse('title:"the hobbit" OR smaug'), limit=7)
        finally:
            await found.aclose()
    [asked] = handler.seen
    assert asked == {"q": ['"the hobbit"'], "limit": ["7"]}
    assert answer.diagnostics == ("this source takes plain words only: OR, fields left out",)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"<html>Service unavailable</html>", 503, "HTTP status 503"),
        (b"{not json", 200, "valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, 200, "valid JSON"),  # nesting bomb
        (json.dumps({"numFound": 1}).encode(), 200, "no list of records"),
    ],
)
async def test_a_broken_answer_is_a_plain_error(body: bytes, status: int, words: str) -> None:
    with service(body, status) as (url, _):
        found = target(url)
        try:
            with pytest.raises(TargetError, match=words):
                await found.search(parse("hobbit"), limit=10)
        finally:
            await found.aclose()


async def test_an_oversized_answer_is_refused_without_reading_it_all() -> None:
    with service(b" " * 3_000_000 + b"{}") as (url, _):
        found = JsonTarget(
            "big",
            TargetSettings(protocol="json", url=url, json_fields=OPEN_LIBRARY_FIELDS),
            max_bytes=1_000_000,
        )
        try:
            with pytest.raises(TargetError, match="more than"):
                await found.search(parse("hobbit"), limit=10)
        finally:
            await found.aclose()


async def test_an_unreachable_service_is_a_plain_error() -> None:
    with service() as (url, _):
        dead = url  # the server stops when the block ends
    found = target(dead)
    try:
        with pytest.raises(TargetError, match="connection was refused"):
            await found.search(parse("hobbit"), limit=10)
    finally:
        await found.aclose()


async def test_answers_read_in_worker_processes_are_those_read_in_a_thread() -> None:
    readers = AnswerReaders(1)
    try:
        with service() as (url, _):
            in_thread, in_process = target(url), target(url, readers=readers)
            try:
                expected = await in_thread.search(parse("hobbit"), limit=10)
                found = await in_process.search(parse("hobbit"), limit=10)
                with service(b"[" * 100_000 + b"]" * 100_000) as (bomb_url, _):
                    bomb = target(bomb_url, readers=readers)
                    with pytest.raises(TargetError, match="did not answer with valid JSON"):
                        await bomb.search(parse("hobbit"), limit=10)
                    await bomb.aclose()
            finally:
                await in_thread.aclose()
                await in_process.aclose()
    finally:
        readers.close()
    assert expected.records
    assert found == expected
