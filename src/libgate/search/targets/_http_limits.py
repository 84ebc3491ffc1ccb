"""Reading an HTTP response body from a search target without trusting its size."""

from __future__ import annotations

import httpx

from libgate.search._model import TargetError

DEFAULT_MAX_BYTES = 20_000_000


async def read_capped(response: httpx.Response, max_bytes: int, title: str) -> bytes:
    """The body of a streamed ``response``, decoded (gzip and the like), or TargetError as
    soon as it grows past ``max_bytes``; the rest is never read."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_big(title, max_bytes)
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise _too_big(title, max_bytes)
    return bytes(body)


def _too_big(title: str, max_bytes: int) -> TargetError:
    return TargetError(
        f"{title} sent more than {max_bytes:,} bytes in one answer, so libgate stopped "
        "reading it; if the target is genuine, lower its records setting"
    )
