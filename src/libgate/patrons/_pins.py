from __future__ import annotations

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's minimum Argon2id configuration (m=19 MiB, t=2, p=1).
_MEMORY_KIB = 19_456
_TIME_COST = 2
_PARALLELISM = 1


class PinHasher:
    """Argon2id hashing of PINs. Verification runs in a worker thread (argon2 releases the
    GIL), so one slow hash never stalls the event loop."""

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

    def hash(self, pin: str) -> str:
        return str(self._hasher.hash(pin))

    def verify_now(self, pin_hash: str, pin: str) -> bool:
        try:
            return bool(self._hasher.verify(pin_hash, pin))
        except (VerificationError, InvalidHashError):
            return False

    async def verify(self, pin_hash: str | None, pin: str) -> bool:
        if pin_hash is None:
            await anyio.to_thread.run_sync(self.verify_now, self._decoy, pin)
            return False
        return await anyio.to_thread.run_sync(self.verify_now, pin_hash, pin)

    def needs_rehash(self, pin_hash: str) -> bool:
        return bool(self._hasher.check_needs_rehash(pin_hash))
