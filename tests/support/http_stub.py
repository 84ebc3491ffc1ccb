"""Misbehaving servers on 127.0.0.1 for target tests: an HTTP server that answers with
whatever bytes a test writes, and a listener that accepts connections and never answers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from libgate.config import TargetSettings

Respond = Callable[[asyncio.StreamWriter], Awaitable[None]]
_MAX_HEAD = 65_536


@dataclass
class Stub:
    """A running stub: where it listens, and the request heads it received."""

    port: int
    requests: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sru"


def sru_at(url: str, **values: str) -> TargetSettings:
    """Settings for an SRU target at ``url``; ``values`` as in the configuration file."""
    return TargetSettings.model_validate({"protocol": "sru", "url": url, **values})


def response_head(status: int = 200, content_type: str = "text/xml", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} Stub", f"Content-Type: {content_type}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(body: bytes, status: int = 200, content_type: str = "text/xml") -> Respond:
    """A response of ``body`` with its length."""

    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(status, content_type, Content_Length=str(len(body))) + body)
        await writer.drain()

    return respond


@contextlib.asynccontextmanager
async def http_stub(respond: Respond) -> AsyncIterator[Stub]:
    """An HTTP/1.1 server that reads each request's head, then lets ``respond`` write the
    response and closes the connection."""

    stub = Stub(port=0)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            stub.requests.append(await reader.readuntil(b"\r\n\r\n"))
            await respond(writer)
        writer.close()

    async with _serving(serve) as port:
        stub.port = port
        yield stub


@contextlib.asynccontextmanager
async def silent_listener() -> AsyncIterator[int]:
    """A port that accepts connections, reads what arrives and never says a word."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(65_536):
                pass
        writer.close()

    async with _serving(serve) as port:
        yield port


@contextlib.asynccontextmanager
async def _serving(
    serve: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[int]:
    connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections[task] = writer
        await serve(reader, writer)

    server = await asyncio.start_server(tracked, "127.0.0.1", 0, limit=_MAX_HEAD)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        # Python 3.11's wait_closed does not close connections still open: close them here.
        for writer in connections.values():
            writer.close()
        if connections:
            await asyncio.wait(connections, timeout=5)
        await server.wait_closed()
