from __future__ import annotations

import base64
import hashlib
import hmac

_REMEMBERED = 100_000


def _mac(key: bytes, *parts: str) -> bytes:
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).digest()


class Pseudonyms:
    """Stable identifiers that stand for a card number without revealing it.

    ``patron_ref`` is libgate's own internal reference (audit trail, logs); ``pairwise_sub``
    differs for every relying party (sector), so two vendors cannot join their records;
    ``address_ref`` stands for a client's network address where libgate counts what one
    address does without keeping the address.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key
        # Kiosks ask about the same cards over and over; an HMAC per message adds up.
        self._known: dict[tuple[str, ...], str] = {}

    def patron_ref(self, card: str) -> str:
        key = ("patron", card)
        known = self._known.get(key)
        if known is None:
            known = self._remember(key, _mac(self._key, *key).hex()[:32])
        return known

    def pairwise_sub(self, sector: str, card: str) -> str:
        key = ("sub", sector, card)
        known = self._known.get(key)
        if known is None:
            mac = _mac(self._key, *key)
            known = self._remember(key, base64.urlsafe_b64encode(mac).rstrip(b"=").decode())
        return known

    def address_ref(self, address: str) -> str:
        return _mac(self._key, "address", address).hex()[:32]

    def _remember(self, key: tuple[str, ...], pseudonym: str) -> str:
        if len(self._known) >= _REMEMBERED:
            self._known.clear()  # crude but bounded; the busy cards come straight back
        self._known[key] = pseudonym
        return pseudonym
