"""HTTP for search targets: one client per target, and response bodies read without
trusting their size."""

from __future__ import annotations

import socket
import zlib
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from libgate.config import TargetSettings
from libgate.search._model import TargetError
from libgate.search.targets._readers import AnswerReaders, ReaderStopped
from libgate.search.targets._unpack import ACCEPTED, NotUnpackable, unpacker_for

T = TypeVar("T")

DEFAULT_MAX_BYTES = 20_000_000
_CAUSES_LOOKED_AT = 10  # exceptions down the chain, looking for why a connection failed


class HttpTarget:
    """What every target reached over HTTP has: its settings, its title for messages, a
    cap on the size of an answer, its own client (connection pool), and the ``readers``
    its answers are read by (shared by the targets of a search; default: in a thread)."""

    def __init__(
        self,
        name: str,
        settings: TargetSettings,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        readers: AnswerReaders | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.title = settings.title or name
        self.max_bytes = max_bytes
        self._client = target_client(settings)
        self._readers = readers or AnswerReaders(0)

    async def _get(self, url: str, params: dict[str, str] | None = None) -> tuple[int, bytes]:
        return await get_capped(
            self._client, url, params=params, max_bytes=self.max_bytes, title=self.title
        )

    async def _read(self, read: Callable[..., T], *args: Any) -> T:
        """``read(*args)`` run by the answer readers: a module-level function and plain
        values, as they may travel to another process."""
        try:
            return await self._readers.run(read, *args)
        except ReaderStopped:
            raise TargetError(
                f"{self.title}'s answer could not be read: libgate's reading process stopped "
                "(see the system log)"
            ) from None

    async def aclose(self) -> None:
        await self._client.aclose()


def target_client(settings: TargetSettings) -> httpx.AsyncClient:
    """The HTTP client (and connection pool) of one target: its credentials, its timeout,
    at most ``max_concurrent`` connections, a few redirects followed."""
    return httpx.AsyncClient(
        auth=httpx.BasicAuth(settings.username, settings.password) if settings.username else None,
        timeout=settings.timeout_seconds,
        limits=httpx.Limits(
            max_connections=settings.max_concurrent,
            max_keepalive_connections=settings.max_concurrent,
        ),
        follow_redirects=True,
        max_redirects=3,
        headers={"Accept-Encoding": ACCEPTED},
    )


async def read_capped(response: httpx.Response, max_bytes: int, title: str) -> bytes:
    """The body of a streamed ``response``, unpacked (gzip, deflate), or TargetError as soon
    as it grows past ``max_bytes``; the rest is never read. Each piece is unpacked only as
    far as the room left under the cap."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_big(title, max_bytes)
    try:
        unpacker = unpacker_for(response.headers.get("content-encoding", ""))
    except NotUnpackable as exc:
        raise TargetError(
            f"{title} answered compressed as {str(exc)[:40]}, which libgate cannot unpack; "
            f"it asks for {ACCEPTED} or none"
        ) from None
    body = bytearray()
    received = 0
    try:
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > max_bytes:  # as sent: unpacking would only make it bigger
                raise _too_big(title, max_bytes)
            if unpacker is None:
                body += chunk
            else:
                body += unpacker.unpack(chunk, max_bytes + 1 - len(body))
                while unpacker.pending and len(body) <= max_bytes:
                    body += unpacker.unpack(b"", max_bytes + 1 - len(body))
            if len(body) > max_bytes:
                raise _too_big(title, max_bytes)
        if unpacker is not None:
            body += unpacker.rest()
    except zlib.error:
        raise TargetError(f"{title} sent a compressed answer that could not be unpacked") from None
    if len(body) > max_bytes:
        raise _too_big(title, max_bytes)
    return bytes(body)


def _too_big(title: str, max_bytes: int) -> TargetError:
    return TargetError(
        f"{title} sent more than {max_bytes:,} bytes in one answer, so libgate stopped "
        "reading it; if the target is genuine, lower its records setting"
    )


async def get_capped(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: dict[str, str] | None = None,
    max_bytes: int,
    title: str,
) -> tuple[int, bytes]:
    """GET ``url``: the status and the body (see :func:`read_capped`). Raises TimeoutError
    when the target is too slow, TargetError in plain words for everything else."""
    try:
        async with client.stream("GET", url, params=params) as response:
            return response.status_code, await read_capped(response, max_bytes, title)
    except httpx.TimeoutException:
        raise TimeoutError from None
    except httpx.ConnectError as exc:
        raise TargetError(
            f"could not connect to {title} ({_host_of(url)}): {_connect_failure(exc)}"
        ) from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        raise TargetError(
            f"{title} has no usable address: its url setting must be an http:// or https:// URL"
        ) from None
    except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
        raise TargetError(f"{title} broke off the connection before answering") from None
    except httpx.HTTPError as exc:
        raise TargetError(f"{title} could not be searched ({type(exc).__name__})") from None


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).netloc.rpartition("@")[2]  # never the credentials
    except ValueError:
        return ""


def _connect_failure(error: httpx.ConnectError) -> str:
    cause: BaseException | None = error
    for _ in range(_CAUSES_LOOKED_AT):
        if cause is None:
            break
        if isinstance(cause, ConnectionRefusedError):
            return "the connection was refused; is it running?"
        if isinstance(cause, socket.gaierror):
            return "its host name could not be found"
        cause = cause.__cause__ or cause.__context__
    return "the connection failed"
