"""A few logged-in connections to the LMS shared by every request, kept alive with SIP2
status messages, behind a circuit breaker so that a dead LMS costs a fast "unavailable"
instead of a timeout per request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from libgate.sip2._codec import Message
from libgate.sip2._connection import (
    LmsConnection,
    LmsError,
    LmsLink,
    LmsNotReached,
    LmsUnavailable,
)

log = logging.getLogger("libgate.sip2.lms")


class CircuitBreaker:
    """Closed while the LMS answers. After ``threshold`` failures in a row it opens:
    requests fail at once for ``reset_after`` seconds, then one request tries the LMS
    (half-open). Each failed trial doubles the wait, up to ``max_reset``: the back-off for
    reconnecting."""

    def __init__(
        self,
        *,
        threshold: int = 3,
        reset_after: float = 2.0,
        max_reset: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._base_reset = reset_after
        self._max_reset = max_reset
        self._clock = clock
        self._failures = 0
        self._reset = reset_after
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def before_call(self) -> None:
        """Raise LmsUnavailable when calls must not reach the LMS now."""
        if self._opened_at is None:
            return
        waited = self._clock() - self._opened_at
        if waited < self._reset or self._trial_running:
            retry_in = max(self._reset - waited, 0)
            raise LmsNotReached(f"the LMS is not answering; libgate retries in {retry_in:.0f} s")
        self._trial_running = True

    def succeeded(self) -> None:
        if self._opened_at is not None:
            log.info("LMS answering again: circuit closed")
        self._failures = 0
        self._reset = self._base_reset
        self._opened_at = None
        self._trial_running = False

    def failed(self) -> None:
        self._failures += 1
        if self._trial_running:
            self._reset = min(self._reset * 2, self._max_reset)
            self._trial_running = False
            self._opened_at = self._clock()
        elif self._opened_at is None and self._failures >= self._threshold:
            log.warning("LMS not answering: circuit open", extra={"failures": self._failures})
            self._opened_at = self._clock()


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
        self.breaker.before_call()
        async with self._slots:
            try:
                connection = self._idle.pop() if self._idle else await LmsConnection.open(self.link)
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
            except BaseException:
                await connection.close()  # cancelled mid-exchange: its state is unknown
                raise
            self.breaker.succeeded()
            self._idle.append(connection)
            self._start_keeper()
            return answer

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
