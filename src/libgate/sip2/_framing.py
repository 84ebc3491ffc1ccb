"""Cutting a byte stream into SIP2 messages, with a bound on memory."""

from __future__ import annotations

import asyncio

from libgate.sip2._codec import DEFAULT_MAX_SIZE
from libgate.sip2._errors import MalformedMessage, MessageTooLarge

_TERMINATORS = b"\r\n"
_CHUNK = 4096


class FrameBuffer:
    """Bytes as they arrive in, whole messages (terminator included) out. A message may
    end with CR, CRLF or LF; empty lines between messages are skipped. At most
    ``max_size`` bytes are held: a longer message raises MessageTooLarge, after which the
    stream's framing is lost and the connection should be closed."""

    def __init__(self, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self._max_size = max_size
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def partial(self) -> bool:
        """Part of a message has arrived, but not its end (asked after take() gave None,
        which leaves no terminators at the front)."""
        return bool(self._buffer)

    def take(self) -> bytes | None:
        """The next whole message, or None until one has arrived."""
        start = 0
        while start < len(self._buffer) and self._buffer[start] in _TERMINATORS:
            start += 1  # the LF of a CRLF that arrived late, or an empty line
        if start:
            del self._buffer[:start]
        end = _first_terminator(self._buffer)
        if end < 0:
            if len(self._buffer) > self._max_size:
                raise MessageTooLarge(f"no message terminator within {self._max_size} bytes")
            return None
        if self._buffer[end : end + 2] == b"\r\n":
            end += 1
        frame = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        if len(frame) > self._max_size:
            raise MessageTooLarge(f"a message longer than {self._max_size} bytes")
        return frame


class FrameReader:
    """Whole messages from an asyncio stream (see :class:`FrameBuffer`)."""

    def __init__(self, reader: asyncio.StreamReader, *, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self._reader = reader
        self._frames = FrameBuffer(max_size)

    async def read(
        self, *, idle_timeout: float | None = None, message_timeout: float | None = None
    ) -> bytes | None:
        """The next message, or None when the other side closed the connection cleanly.
        Raises TimeoutError when no message begins within ``idle_timeout`` seconds, or one
        that has begun is not complete ``message_timeout`` seconds later (a slow sender
        holding a connection open a byte at a time)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(idle_timeout) as deadline:
            begun = False
            while True:
                frame = self._frames.take()
                if frame is not None:
                    return frame
                if self._frames.partial and not begun and message_timeout is not None:
                    begun = True
                    deadline.reschedule(loop.time() + message_timeout)
                chunk = await self._reader.read(_CHUNK)
                if not chunk:
                    if self._frames.partial:
                        raise MalformedMessage("the connection closed in the middle of a message")
                    return None
                self._frames.feed(chunk)


def _first_terminator(buffer: bytearray) -> int:
    positions = [p for p in (buffer.find(b"\r"), buffer.find(b"\n")) if p >= 0]
    return min(positions) if positions else -1
