from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, insert, select, update

from libgate.db import Database
from libgate.db.tables import consents, grants, oidc_clients
from libgate.oidc._keys import SUPPORTED_ALGS

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
KNOWN_SCOPES = ("openid", "profile", "email", "library", "offline_access")
_CACHE_SECONDS = 2.0


class ClientRegistrationError(ValueError):
    """A client registration that libgate refuses, in words for the operator."""


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    auth_method: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    scopes: frozenset[str]
    sector: str
    subject_type: str = "pairwise"
    secret_hash: str | None = None
    jwks: dict[str, Any] | None = field(default=None, compare=False)
    id_token_alg: str | None = None

    @property
    def is_public(self) -> bool:
        return self.auth_method == "none"

    def secret_matches(self, presented: str) -> bool:
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(self.secret_hash, _hash_secret(presented))

    def as_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_name": self.name,
            "token_endpoint_auth_method": self.auth_method,
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "scope": " ".join(sorted(self.scopes)),
            "subject_type": self.subject_type,
            "sector_identifier": self.sector,
            "id_token_signed_response_alg": self.id_token_alg,
        }


def _hash_secret(secret: str) -> str:
    # Client secrets are 256-bit random values, so a fast hash is enough (no dictionary to try).
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_redirect_uri(uri: str) -> None:
    parts = urlsplit(uri)
    if parts.fragment:
        raise ClientRegistrationError(f"redirect URI {uri} may not contain a #fragment")
    if parts.scheme == "https" and parts.netloc:
        return
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return
    raise ClientRegistrationError(
        f"redirect URI {uri} must be https (http only for localhost / 127.0.0.1)"
    )


def _row_to_client(row: Any) -> Client:
    return Client(
        client_id=row.client_id,
        name=row.name,
        auth_method=row.auth_method,
        redirect_uris=tuple(row.redirect_uris),
        post_logout_redirect_uris=tuple(row.post_logout_redirect_uris),
        scopes=frozenset(row.scopes),
        sector=row.sector,
        subject_type=row.subject_type,
        secret_hash=row.secret_hash,
        jwks=row.jwks,
        id_token_alg=row.id_token_alg,
    )


class ClientRegistry:
    """The relying parties libgate knows: council portal, CRM, e-resource platforms."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._cache: dict[str, tuple[float, Client | None]] = {}

    async def add(
        self,
        *,
        name: str,
        redirect_uris: list[str],
        scopes: list[str],
        auth_method: str = "client_secret_basic",
        post_logout_redirect_uris: list[str] | None = None,
        jwks: dict[str, Any] | None = None,
        sector: str | None = None,
        subject_type: str = "pairwise",
        client_id: str | None = None,
        id_token_alg: str | None = None,
    ) -> tuple[Client, str | None]:
        """Register a client; returns it and its secret (shown once, stored only hashed)."""
        if auth_method not in AUTH_METHODS:
            raise ClientRegistrationError(
                f"auth method {auth_method!r} is not one of {', '.join(AUTH_METHODS)}"
            )
        if not redirect_uris:
            raise ClientRegistrationError("a client needs at least one redirect URI")
        for uri in [*redirect_uris, *(post_logout_redirect_uris or [])]:
            _check_redirect_uri(uri)
        unknown = set(scopes) - set(KNOWN_SCOPES)
        if unknown:
            raise ClientRegistrationError(
                f"unknown scope(s) {', '.join(sorted(unknown))}; known: {', '.join(KNOWN_SCOPES)}"
            )
        if auth_method == "private_key_jwt" and not jwks:
            raise ClientRegistrationError("private_key_jwt needs the client's public keys (JWKS)")
        if subject_type not in ("pairwise", "public"):
            raise ClientRegistrationError("subject type must be pairwise or public")
        if id_token_alg not in (None, *SUPPORTED_ALGS):
            raise ClientRegistrationError(f"ID token algorithm must be one of {SUPPORTED_ALGS}")
        hosts = {urlsplit(uri).hostname or "" for uri in redirect_uris}
        if sector is None:
            if len(hosts) > 1:
                raise ClientRegistrationError(
                    "redirect URIs on several hosts need an explicit --sector for pairwise subjects"
                )
            sector = hosts.pop()
        secret = None if auth_method in ("none", "private_key_jwt") else secrets.token_urlsafe(32)
        client = Client(
            # Hex: an ID that began with "-" (one in 64 of URL-safe ones) would be read as an
            # option by `libgate clients remove ID`.
            client_id=client_id or secrets.token_hex(16),
            name=name,
            auth_method=auth_method,
            redirect_uris=tuple(redirect_uris),
            post_logout_redirect_uris=tuple(post_logout_redirect_uris or ()),
            scopes=frozenset({"openid", *scopes}),
            sector=sector,
            subject_type=subject_type,
            secret_hash=_hash_secret(secret) if secret else None,
            jwks=jwks,
            id_token_alg=id_token_alg,
        )
        async with self._database.transaction() as connection:
            await connection.execute(
                insert(oidc_clients).values(
                    client_id=client.client_id,
                    name=client.name,
                    secret_hash=client.secret_hash,
                    auth_method=client.auth_method,
                    redirect_uris=list(client.redirect_uris),
                    post_logout_redirect_uris=list(client.post_logout_redirect_uris),
                    scopes=sorted(client.scopes),
                    jwks=client.jwks,
                    sector=client.sector,
                    subject_type=client.subject_type,
                    id_token_alg=client.id_token_alg,
                    created_at=time.time(),
                )
            )
        return client, secret

    async def get(self, client_id: str) -> Client | None:
        now = time.monotonic()
        cached = self._cache.get(client_id)
        if cached and now - cached[0] < _CACHE_SECONDS:
            return cached[1]
        async with self._database.read() as connection:
            row = (
                await connection.execute(
                    select(oidc_clients).where(oidc_clients.c.client_id == client_id)
                )
            ).first()
        client = None if row is None else _row_to_client(row)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[client_id] = (now, client)
        return client

    async def list(self) -> list[Client]:
        async with self._database.read() as connection:
            rows = (
                await connection.execute(select(oidc_clients).order_by(oidc_clients.c.name))
            ).all()
        return [_row_to_client(r) for r in rows]

    async def remove(self, client_id: str) -> bool:
        """Forget a client: its tokens stop working and residents' consents to it go."""
        async with self._database.transaction() as connection:
            result = await connection.execute(
                delete(oidc_clients).where(oidc_clients.c.client_id == client_id)
            )
            await connection.execute(delete(consents).where(consents.c.client_id == client_id))
            await connection.execute(
                update(grants)
                .where(grants.c.client_id == client_id, grants.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
        self._cache.pop(client_id, None)
        return bool(result.rowcount)
