from __future__ import annotations

import base64
import hashlib
import hmac


def _mac(key: bytes, *parts: str) -> bytes:
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).digest()


class Pseudonyms:
    """Stable identifiers that stand for a card number without revealing it.

    ``patron_ref`` is libgate's own internal reference (audit trail, logs); ``pairwise_sub``
    differs for every relying party (sector), so two vendors cannot join their records.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def patron_ref(self, card: str) -> str:
        return _mac(self._key, "patron", card).hex()[:32]

    def pairwise_sub(self, sector: str, card: str) -> str:
        return base64.urlsafe_b64encode(_mac(self._key, "sub", sector, card)).rstrip(b"=").decode()
