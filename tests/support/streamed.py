"""A request body streamed without a length, as a client that sends far too much would."""

from __future__ import annotations

from collections.abc import AsyncIterator

MB = 1024 * 1024


class StreamedBody:
    """``start``, then ``megabytes`` of "a", one megabyte at a time; ``sent`` counts the
    megabytes the server has taken so far (less than all: it stopped reading)."""

    def __init__(self, start: bytes, megabytes: int) -> None:
        self.start, self.megabytes, self.sent = start, megabytes, 0

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self.start
        for _ in range(self.megabytes):
            self.sent += 1
            yield b"a" * MB

    @property
    def read_to_the_end(self) -> bool:
        return self.sent == self.megabytes
