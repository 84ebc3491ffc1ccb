"""A circuit breaker for any outside system libgate calls (the LMS, search targets), so
that a dead one costs a fast "unavailable" instead of a timeout per request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("libgate.breaker")


class CircuitBreaker:
    """Closed while the system answers. After ``threshold`` failures in a row it opens:
    calls are refused for ``reset_after`` seconds, then one call tries again (half-open).
    Each failed trial doubles the wait, up to ``max_reset``: the back-off for reconnecting.
    ``name`` says which system in the log."""

    def __init__(
        self,
        name: str = "LMS",
        *,
        threshold: int = 3,
        reset_after: float = 2.0,
        max_reset: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name = name
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

    def refusal(self) -> float | None:
        """None when a call may go ahead now; otherwise the seconds until the next try."""
        if self._opened_at is None:
            return None
        waited = self._clock() - self._opened_at
        if waited < self._reset or self._trial_running:
            return max(self._reset - waited, 0.0)
        self._trial_running = True
        return None

    def trial(self) -> bool:
        """Whether a call :meth:`refusal` lets through now is the half-open trial: it
        must end in :meth:`succeeded`, :meth:`failed` or :meth:`abandoned`."""
        return self._opened_at is not None

    def abandoned(self) -> None:
        """The trial ended without telling whether the system answers (cancelled, or its
        request could not even be sent): the next call may try instead. Otherwise no call
        would ever be let through again."""
        self._trial_running = False

    def succeeded(self) -> None:
        if self._opened_at is not None:
            log.info("answering again: circuit closed", extra={"system": self._name})
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
            log.warning(
                "not answering: circuit open",
                extra={"system": self._name, "failures": self._failures},
            )
            self._opened_at = self._clock()
