"""Periodic jobs each instance runs alongside its work (audit sealing, housekeeping)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

log = logging.getLogger("libgate.background")


async def every(seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    """Run ``job`` every ``seconds`` (with jitter, so instances spread out) until cancelled."""
    while True:
        await asyncio.sleep(seconds * random.uniform(0.8, 1.2))
        try:
            await job()
        except Exception:  # one failed run must not stop the service; the next one retries
            log.exception("%s failed", name)
