from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's minimum Argon2id configuration (m=19 MiB, t=2, p=1).
_MEMORY_KIB = 19_456
_TIME_COST = 2
_PARALLELISM = 1


class PinHasher:
    """Argon2id hashing of PINs. Verification runs in a worker thread (argon2 releases the
    GIL), so one slow hash never stalls the event loop.

    The threads are the hasher's own, one per core: more hashes at once than cores would
    only queue for the CPU while each holds its 19 MiB, and a few long-lived threads keep
    that memory mapped rather than faulting it in afresh (a general pool's short-lived
    threads paid about 4,000 page faults a hash)."""

    def __init__(
        self,
        memory_kib: int = _MEMORY_KIB,
        time_cost: int = _TIME_COST,
        parallelism: int = _PARALLELISM,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Verified against when a card is unknown, so that both answers take as long.
        self._decoy = self._hasher.hash("decoy-pin-for-unknown-cards")
        self._threads = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="pin-hash")

    def hash(self, pin: str) -> str:
        return str(self._hasher.hash(pin))

    def verify_now(self, pin_hash: str, pin: str) -> bool:
        try:
            return bool(self._hasher.verify(pin_hash, pin))
        except (VerificationError, InvalidHashError):
            return False

    async def verify(self, pin_hash: str | None, pin: str) -> bool:
        loop = asyncio.get_running_loop()
        if pin_hash is None:
            await loop.run_in_executor(self._threads, self.verify_now, self._decoy, pin)
            return False
        return await loop.run_in_executor(self._threads, self.verify_now, pin_hash, pin)

    def needs_rehash(self, pin_hash: str) -> bool:
        return bool(self._hasher.check_needs_rehash(pin_hash))
