"""A few logged-in connections to the LMS shared by every request, kept alive with SIP2
status messages, behind a circuit breaker so that a dead LMS costs a fast "unavailable"
instead of a timeout per request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from libgate.breaker import CircuitBreaker
from libgate.sip2._codec import Message
from libgate.sip2._connection import (
    LmsConnection,
    LmsError,
    LmsLink,
    LmsNotReached,
    LmsUnavailable,
)
from libgate.sip2._errors import Sip2Error

log = logging.getLogger("libgate.sip2.lms")


class LmsPool:
    """Up to ``size`` connections; a request borrows one for one exchange."""

    def __init__(
        self,
        link: LmsLink,
        *,
        size: int = 4,
        keepalive_seconds: float = 60.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.link = link
        self._size = size
        self._keepalive = keepalive_seconds
        self.breaker = breaker or CircuitBreaker()
        self._idle: list[LmsConnection] = []
        self._slots = asyncio.Semaphore(size)
        self._keeper: asyncio.Task[None] | None = None

    async def exchange(self, request: Message) -> Message:
        """The LMS's answer to ``request``. Raises LmsUnavailable (LMS down, slow, or the
        breaker open) or another LmsError."""
        trial = self.breaker.trial()
        retry_in = self.breaker.refusal()
        if retry_in is not None:
            raise LmsNotReached(f"the LMS is not answering; libgate retries in {retry_in:.0f} s")
        try:
            return await self._exchange(request)
        finally:
            if trial:
                self.breaker.abandoned()  # no-op once it succeeded or failed

    async def _exchange(self, request: Message) -> Message:
        async with self._slots:
            try:
                connection = self._idle_connection() or await LmsConnection.open(self.link)
            except LmsUnavailable as exc:
                self.breaker.failed()
                raise LmsNotReached(str(exc)) from exc  # the login's failure, not the request's
            except LmsError:
                self.breaker.failed()
                raise
            try:
                answer = await connection.exchange(request)
            except LmsError:
                await connection.close()
                self.breaker.failed()
                raise
            except Sip2Error:
                self._idle.append(connection)  # the request could not be written: none sent
                raise
            except BaseException:
                await connection.close()  # cancelled mid-exchange: its state is unknown
                raise
            self.breaker.succeeded()
            self._idle.append(connection)
            self._start_keeper()
            return answer

    def _idle_connection(self) -> LmsConnection | None:
        """An idle connection still open: those the LMS closed while idle (it restarted,
        or a firewall cut them) are dropped rather than failing a request."""
        while self._idle:
            connection = self._idle.pop()
            if connection.is_open:
                return connection
        return None

    def _start_keeper(self) -> None:
        if self._keeper is None and self._keepalive > 0:
            self._keeper = asyncio.get_running_loop().create_task(self._keep_alive())

    async def _keep_alive(self) -> None:
        """SIP2 status (99) on connections idle for ``keepalive_seconds``, so that firewalls
        and LMS idle timeouts do not cut them while nobody signs in."""
        while True:
            await asyncio.sleep(self._keepalive / 2)
            now = time.monotonic()
            for connection in [c for c in self._idle if now - c.last_used >= self._keepalive]:
                self._idle.remove(connection)
                try:
                    await connection.exchange(status_request())
                except LmsError:
                    await connection.close()
                    continue
                self._idle.append(connection)

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


def status_request() -> Message:
    """SC status: the kiosk is fine, prints 80 columns, speaks SIP2 2.00."""
    return Message.build(
        "99", {"status_code": "0", "max_print_width": "080", "protocol_version": "2.00"}
    )
