"""A bare TCP forwarder (uvloop, asyncio protocols, one upstream connection per client):
no parsing, no policy, no audit. bench/sip2_gateway.py measures it as the floor, the cost
of one more Python process and hop with nothing else done.

    python bench/sip2_proxy.py UPSTREAM_PORT LISTEN_PORT
"""

from __future__ import annotations

import asyncio
import sys
from typing import cast

import uvloop


class _Upstream(asyncio.Protocol):
    def __init__(self, client: asyncio.Transport) -> None:
        self._client = client

    def data_received(self, data: bytes) -> None:
        self._client.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._client.close()


class _Client(asyncio.Protocol):
    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self._upstream: asyncio.BaseTransport | None = None
        self._early: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        upstream, _ = await asyncio.get_running_loop().create_connection(
            lambda: _Upstream(self._transport), "127.0.0.1", self._upstream_port
        )
        self._upstream = upstream
        for data in self._early:
            upstream.write(data)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self._upstream is None:
            self._early.append(data)
        else:
            self._upstream.write(data)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._upstream is not None:
            self._upstream.close()


async def main(upstream_port: int, port: int) -> None:
    loop = asyncio.get_running_loop()
    await loop.create_server(lambda: _Client(upstream_port), "127.0.0.1", port)
    print(f"proxy listening on 127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), int(sys.argv[2])))
