from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeyParameters, KeySet, RSAKey
from joserfc.jws import extract_compact
from sqlalchemy import insert, select, update

from libgate.db import Database
from libgate.db.tables import signing_keys

SUPPORTED_ALGS = ("ES256", "RS256")
_CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private: ECKey | RSAKey

    def sign(self, claims: dict[str, Any], *, typ: str = "JWT") -> str:
        return jwt.encode({"alg": self.alg, "kid": self.kid, "typ": typ}, claims, self.private)


def _generate(alg: str, kid: str) -> ECKey | RSAKey:
    parameters: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters)
    return RSAKey.generate_key(2048, parameters=parameters)


class KeyStore:
    """Signing keys in the database, private halves sealed with AES-GCM under a key derived
    from the instance secret. One active key per algorithm; after rotation the old key is no
    longer used to sign but stays published (and verifies) for the overlap period."""

    def __init__(self, database: Database, sealing_key: bytes, overlap_seconds: int) -> None:
        self._database = database
        self._aead = AESGCM(sealing_key)
        self._overlap = overlap_seconds
        self._active: dict[str, SigningKey] = {}
        self._public = KeySet([])
        self._public_dicts: list[dict[str, Any]] = []
        self._signature: list[tuple[str, bool]] = []
        self._loaded_at = -_CACHE_SECONDS

    def _seal(self, kid: str, key: ECKey | RSAKey) -> bytes:
        nonce = secrets.token_bytes(12)
        plain = json.dumps(key.as_dict(private=True)).encode()
        return nonce + self._aead.encrypt(nonce, plain, kid.encode())

    def _unseal(self, kid: str, sealed: bytes) -> ECKey | RSAKey:
        data = json.loads(self._aead.decrypt(sealed[:12], sealed[12:], kid.encode()))
        return ECKey.import_key(data) if data["kty"] == "EC" else RSAKey.import_key(data)

    async def _create(self, alg: str, now: float) -> None:
        kid = secrets.token_urlsafe(12)
        key = _generate(alg, kid)
        async with self._database.transaction() as connection:
            await connection.execute(
                insert(signing_keys).values(
                    kid=kid,
                    alg=alg,
                    sealed_private_jwk=self._seal(kid, key),
                    public_jwk=key.as_dict(private=False),
                    created_at=now,
                )
            )

    async def ensure_keys(self) -> None:
        """Create the missing active key of each algorithm (first start)."""
        async with self._database.transaction() as connection:
            active = set(
                (
                    await connection.execute(
                        select(signing_keys.c.alg).where(signing_keys.c.retired_at.is_(None))
                    )
                ).scalars()
            )
        for alg in SUPPORTED_ALGS:
            if alg not in active:
                await self._create(alg, time.time())
        self._loaded_at = -_CACHE_SECONDS

    async def rotate(self) -> list[str]:
        """Retire every active key (still verifying for the overlap) and create new ones."""
        now = time.time()
        async with self._database.transaction() as connection:
            retired = list(
                (
                    await connection.execute(
                        update(signing_keys)
                        .where(signing_keys.c.retired_at.is_(None))
                        .values(retired_at=now, verify_until=now + self._overlap)
                        .returning(signing_keys.c.kid)
                    )
                ).scalars()
            )
        for alg in SUPPORTED_ALGS:
            await self._create(alg, now)
        self._loaded_at = -_CACHE_SECONDS
        return retired

    async def _refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._loaded_at < _CACHE_SECONDS:
            return
        async with self._database.read() as connection:
            rows = (
                await connection.execute(
                    select(signing_keys)
                    .where(
                        (signing_keys.c.verify_until.is_(None))
                        | (signing_keys.c.verify_until > time.time())
                    )
                    .order_by(signing_keys.c.created_at)
                )
            ).all()
        self._loaded_at = now
        signature = [(row.kid, row.retired_at is None) for row in rows]
        if signature == self._signature:
            return
        self._signature = signature
        # Unsealing is slow (an RSA key import), so keys already in hand are kept.
        known = {key.kid: key for key in self._active.values()}
        self._active = {
            row.alg: known.get(row.kid)
            or SigningKey(row.kid, row.alg, self._unseal(row.kid, row.sealed_private_jwk))
            for row in rows
            if row.retired_at is None
        }
        self._public_dicts = [dict(row.public_jwk) for row in rows]
        self._public = KeySet.import_key_set({"keys": self._public_dicts})

    async def reload(self) -> None:
        """Re-read the keys now (after a rotation by another process or command)."""
        await self._refresh(force=True)

    async def jwks(self) -> dict[str, Any]:
        await self._refresh()
        return {"keys": self._public_dicts}

    async def signing_key(self, alg: str) -> SigningKey:
        """The active key for ``alg``. Call it before opening a transaction: loading keys
        needs a connection of its own (SQLite allows one writer)."""
        await self._refresh()
        key = self._active.get(alg)
        if key is None:
            await self._refresh(force=True)
            key = self._active[alg]
        return key

    async def verify(self, token: str, *, typ: str | None = None) -> dict[str, Any]:
        """The claims of a token signed by one of our published keys. Raises ValueError when
        the signature, key or type is wrong; expiry is the caller's check."""
        await self._refresh()
        try:
            kid = extract_compact(token.encode()).headers().get("kid")
        except (JoseError, ValueError) as exc:
            raise ValueError("malformed token") from exc
        if kid not in {k.get("kid") for k in self._public_dicts}:
            await self._refresh(force=True)
        try:
            decoded = jwt.decode(token, self._public, algorithms=list(SUPPORTED_ALGS))
        except (JoseError, ValueError) as exc:
            raise ValueError("signature does not verify") from exc
        if typ is not None and decoded.header.get("typ") != typ:
            raise ValueError("wrong token type")
        return dict(decoded.claims)
