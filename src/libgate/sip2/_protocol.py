"""SIP2 messages over an asyncio transport, by callbacks rather than streams.

Both of libgate's SIP2 faces use this: the connections to the LMS and the kiosks'
connections to the gateway. A message costs one wake-up of whoever waits for it. Deadlines
are kept by one timer per connection that is moved only when it fires, instead of a timer
set and cancelled for every message: at thousands of messages a second that bookkeeping
would cost more than the forwarding itself.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from typing import cast

from libgate.sip2._codec import DEFAULT_MAX_SIZE
from libgate.sip2._errors import MalformedMessage, Sip2Error
from libgate.sip2._framing import FrameBuffer

# A peer that sends faster than it is answered is paused at this many unanswered messages,
# so its backlog stays small whatever it sends.
_MAX_QUEUED = 16
# Timers may fire this early (the event loop's clock resolution); earlier still is a re-arm.
_EARLY = 0.001


class FrameProtocol(asyncio.Protocol):
    """Whole SIP2 messages in (see :class:`FrameBuffer`), bytes out, flow control both ways.

    ``on_connection_made`` runs once the transport exists, for a server to start serving
    the connection (or refuse it with :meth:`close`).
    """

    def __init__(
        self,
        max_size: int = DEFAULT_MAX_SIZE,
        *,
        on_connection_made: Callable[[FrameProtocol], None] | None = None,
    ) -> None:
        self._frames = FrameBuffer(max_size)
        self._ready: deque[bytes] = deque()
        self._on_connection_made = on_connection_made
        self._loop = asyncio.get_running_loop()  # protocols are made by the running loop
        self._waiter: asyncio.Future[None] | None = None
        self._failure: Exception | None = None
        self._closed = False
        self._reading_paused = False
        self._writable: asyncio.Future[None] | None = None  # exists while writing is paused
        self._deadline = math.inf
        self._message_timeout: float | None = None
        self._partial_since: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None

    # asyncio's side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        if self._on_connection_made is not None:
            self._on_connection_made(self)

    def data_received(self, data: bytes) -> None:
        frames = self._frames
        frames.feed(data)
        try:
            while (frame := frames.take()) is not None:
                self._ready.append(frame)
        except Sip2Error as exc:
            self._failure = exc  # the framing is lost: the owner hangs up on next_frame()
        if not frames.partial:
            self._partial_since = None
        elif self._partial_since is None:
            self._partial_since = self._loop.time()
            self._arm()  # a message timeout may fall before the deadline already set
        if len(self._ready) >= _MAX_QUEUED and not self._reading_paused:
            assert self.transport is not None
            self.transport.pause_reading()
            self._reading_paused = True
        self._wake()

    def eof_received(self) -> bool | None:
        return None  # close our side too: SIP2 has no half-open conversations

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None:
            if not self._writable.done():
                self._writable.set_result(None)
            self._writable = None

    # the owner's side

    @property
    def peer_host(self) -> str:
        peer = self.transport.get_extra_info("peername") if self.transport else None
        return str(peer[0]) if peer else "?"

    async def next_frame(
        self, deadline: float = math.inf, message_timeout: float | None = None
    ) -> bytes | None:
        """The next message; None once the other side has closed the connection cleanly.

        Raises TimeoutError when nothing has come by ``deadline`` (event-loop time), or
        when a message that has begun is not complete ``message_timeout`` seconds after its
        first bytes (a slow sender holding the connection a byte at a time); a Sip2Error
        when the stream cannot be cut into messages.
        """
        while not self._ready:
            if self._failure is not None:
                raise self._failure
            if self._closed:
                if self._frames.partial:
                    raise MalformedMessage("the connection closed in the middle of a message")
                return None
            self._deadline = deadline
            self._message_timeout = message_timeout
            waiter = self._waiter = self._loop.create_future()
            self._arm()
            try:
                await waiter
            finally:
                self._waiter = None
        frame = self._ready.popleft()
        if self._reading_paused and len(self._ready) < _MAX_QUEUED // 2:
            assert self.transport is not None
            self.transport.resume_reading()
            self._reading_paused = False
            if self._frames.partial:  # its sender was kept waiting by us, not the reverse
                self._partial_since = self._loop.time()
        return frame

    @property
    def is_open(self) -> bool:
        """Neither side has closed the connection (as far as this side knows yet)."""
        return not self._closed and self.transport is not None and not self.transport.is_closing()

    @property
    def writable(self) -> bool:
        """False while the peer is not reading what it was sent: await :meth:`drain`."""
        return self._writable is None

    async def drain(self) -> None:
        if self._writable is not None:
            await self._writable

    def send(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("the connection is closed")
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    @property
    def loop_time(self) -> float:
        return self._loop.time()

    # deadlines

    def _due(self) -> float:
        if self._partial_since is not None and self._message_timeout is not None:
            return self._partial_since + self._message_timeout
        return self._deadline

    def _arm(self) -> None:
        if self._waiter is None:
            return
        due = self._due()
        if self._timer is not None:
            if self._timer.when() <= due:
                return  # fires first; it re-checks and moves itself on
            self._timer.cancel()
            self._timer = None
        if due < math.inf:
            self._timer = self._loop.call_at(due, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # nobody waiting: the next wait arms a timer for its own deadline
        if self._loop.time() + _EARLY >= self._due():
            waiter.set_exception(TimeoutError())
        else:
            self._arm()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
