"""Codes, grants and tokens: the authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636),
refresh with rotation and reuse detection (RFC 9700 §4.14), revocation (RFC 7009),
introspection (RFC 7662) and the tokens' contents (OpenID Connect Core §2, RFC 9068)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import bindparam, delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from libgate.config import TokenSettings
from libgate.db import Database, Row, Unit, as_unit
from libgate.db.tables import (
    auth_codes,
    client_assertion_jtis,
    grants,
    refresh_tokens,
    revoked_access_tokens,
)
from libgate.oidc._authorize import AuthorizationRequest
from libgate.oidc._clients import Client
from libgate.oidc._errors import InvalidGrant, InvalidRequest, InvalidToken, OAuthError
from libgate.oidc._keys import SUPPORTED_ALGS, KeyStore, SigningKey
from libgate.patrons import DirectoryUnavailable, PatronDirectory
from libgate.privacy import AuditTrail, Pseudonyms

log = logging.getLogger("libgate.oidc")

ACCESS_TOKEN_TYPE = "at+jwt"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _left_half_hash(value: str) -> str:
    """at_hash (OpenID Connect Core §3.1.3.6) for SHA-256 based algorithms."""
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def _pkce_matches(verifier: str, challenge: str) -> bool:
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return hmac.compare_digest(computed.decode(), challenge)


@dataclass(frozen=True)
class GrantInfo:
    id: str
    client_id: str
    card: str
    sid: str | None
    scopes: frozenset[str]
    auth_time: float
    created_at: float


@dataclass(frozen=True)
class AccessTokenInfo:
    claims: dict[str, Any]
    grant: GrantInfo


@dataclass(frozen=True)
class SigningKeys:
    """The keys a token response is signed with, fetched before the transaction opens."""

    default: SigningKey
    by_alg: dict[str, SigningKey]

    def for_client(self, client: Client) -> SigningKey:
        return self.by_alg[client.id_token_alg] if client.id_token_alg else self.default


# Statements on the hot paths are built once, so SQLAlchemy reuses their cache key and
# compiled SQL instead of rebuilding both on every request.
_LIVE_GRANT = select(grants).where(
    grants.c.id == bindparam("grant_id"), grants.c.revoked_at.is_(None)
)
_NEW_REFRESH_TOKEN = insert(refresh_tokens)
_NEW_GRANT = insert(grants)
_NEW_CODE = insert(auth_codes)
_USE_REFRESH_TOKEN = (
    update(refresh_tokens)
    .where(
        refresh_tokens.c.token_hash == bindparam("presented_hash"),
        refresh_tokens.c.client_id == bindparam("presenting_client"),
        refresh_tokens.c.used_at.is_(None),
        refresh_tokens.c.expires_at >= bindparam("now"),
        select(grants)
        .where(grants.c.id == refresh_tokens.c.grant_id, grants.c.revoked_at.is_(None))
        .exists(),
    )
    .values(used_at=bindparam("marked_at"))
    .returning(refresh_tokens.c.grant_id)
)
_LIVE_GRANT_OF_ACCESS_TOKEN = select(grants).where(
    grants.c.id == bindparam("grant_id"),
    grants.c.revoked_at.is_(None),
    ~exists().where(revoked_access_tokens.c.jti == bindparam("jti")),
)
_REVOKE_GRANT = (
    update(grants)
    .where(grants.c.id == bindparam("revoked_grant"), grants.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("revoked_time"))
)
_CODE_FOR_UPDATE = (
    select(auth_codes).where(auth_codes.c.code_hash == bindparam("code_hash")).with_for_update()
)
_USE_CODE = (
    update(auth_codes)
    .where(auth_codes.c.code_hash == bindparam("used_code"))
    .values(used_at=bindparam("used_time"))
)
_REFRESH_TOKEN_STATE = (
    select(refresh_tokens, grants.c.revoked_at)
    .join(grants, grants.c.id == refresh_tokens.c.grant_id, isouter=True)
    .where(refresh_tokens.c.token_hash == bindparam("token_hash"))
)


def _grant_info(row: Row) -> GrantInfo:
    return GrantInfo(
        row["id"],
        row["client_id"],
        row["card"],
        row["sid"],
        frozenset(row["scopes"]),
        row["auth_time"],
        row["created_at"],
    )


class TokenService:
    def __init__(
        self,
        *,
        database: Database,
        keys: KeyStore,
        audit: AuditTrail,
        pseudonyms: Pseudonyms,
        settings: TokenSettings,
        issuer: str,
        directory: PatronDirectory,
    ) -> None:
        self._directory = directory
        self._database = database
        self._keys = keys
        self._audit = audit
        self._pseudonyms = pseudonyms
        self._settings = settings
        self._issuer = issuer

    def subject(self, client: Client, card: str) -> str:
        """Pairwise by default, so two services cannot match up residents; a "public"
        client gets libgate's own stable pseudonym, never the card number."""
        if client.subject_type == "pairwise":
            return self._pseudonyms.pairwise_sub(client.sector, card)
        return self._pseudonyms.patron_ref(card)

    async def issue_code(
        self,
        unit: Unit,
        request: AuthorizationRequest,
        *,
        card: str,
        sid: str,
        auth_time: float,
    ) -> str:
        now = time.time()
        grant_id = secrets.token_urlsafe(16)
        code = secrets.token_urlsafe(32)
        await unit.run(
            _NEW_GRANT,
            {
                "id": grant_id,
                "client_id": request.client_id,
                "card": card,
                "sid": sid,
                "scopes": sorted(request.scopes),
                "auth_time": auth_time,
                "created_at": now,
            },
        )
        await unit.run(
            _NEW_CODE,
            {
                "code_hash": _digest(code),
                "grant_id": grant_id,
                "client_id": request.client_id,
                "redirect_uri": request.redirect_uri,
                "code_challenge": request.code_challenge,
                "nonce": request.nonce,
                "expires_at": now + self._settings.code_ttl,
            },
        )
        return code

    async def _load_grant(self, unit: Unit, grant_id: str) -> GrantInfo | None:
        row = await unit.row(_LIVE_GRANT, {"grant_id": grant_id})
        return None if row is None else _grant_info(row)

    async def _revoke_grant(self, connection: Unit | AsyncConnection, grant_id: str) -> None:
        await as_unit(connection).run(
            _REVOKE_GRANT, {"revoked_grant": grant_id, "revoked_time": time.time()}
        )

    async def _tokens(
        self,
        unit: Unit,
        client: Client,
        grant: GrantInfo,
        keys: SigningKeys,
        *,
        scopes: frozenset[str],
        nonce: str | None,
        with_refresh: bool,
    ) -> dict[str, Any]:
        now = int(time.time())
        sub = self.subject(client, grant.card)
        access_token = keys.default.sign(
            {
                "iss": self._issuer,
                "sub": sub,
                "aud": self._issuer,
                "client_id": client.client_id,
                "scope": " ".join(sorted(scopes)),
                "jti": secrets.token_urlsafe(16),
                "gid": grant.id,
                "iat": now,
                "exp": now + self._settings.access_token_ttl,
                "auth_time": int(grant.auth_time),
            },
            typ=ACCESS_TOKEN_TYPE,
        )
        id_claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": sub,
            "aud": client.client_id,
            "iat": now,
            "exp": now + self._settings.id_token_ttl,
            "auth_time": int(grant.auth_time),
            "at_hash": _left_half_hash(access_token),
        }
        if nonce:
            id_claims["nonce"] = nonce
        if grant.sid:
            id_claims["sid"] = grant.sid
        response: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self._settings.access_token_ttl,
            "scope": " ".join(sorted(scopes)),
            "id_token": keys.for_client(client).sign(id_claims),
        }
        if with_refresh:
            refresh_token = secrets.token_urlsafe(32)
            await unit.run(
                _NEW_REFRESH_TOKEN,
                {
                    "token_hash": _digest(refresh_token),
                    "grant_id": grant.id,
                    "client_id": client.client_id,
                    "expires_at": min(
                        now + self._settings.refresh_token_ttl,
                        grant.created_at + self._settings.grant_lifetime,
                    ),
                },
            )
            response["refresh_token"] = refresh_token
        return response

    async def _signing_keys(self) -> SigningKeys:
        by_alg = {alg: await self._keys.signing_key(alg) for alg in SUPPORTED_ALGS}
        return SigningKeys(by_alg[self._settings.signing_alg], by_alg)

    def _offers_refresh(self, client: Client, scopes: frozenset[str]) -> bool:
        # Public clients (in a browser or app) get refresh tokens only when they ask for
        # offline access; confidential clients always, as rotation limits the damage.
        return not client.is_public or "offline_access" in scopes

    async def _end_misused_grant(self, misuse: _Misuse, client: Client, ip: str) -> None:
        await self._end_grant(misuse.grant_id, misuse.event, client, ip)

    async def _end_grant(
        self, grant_id: str, event: str, client: Client, ip: str, **detail: Any
    ) -> None:
        async with self._database.unit() as unit:
            await self._revoke_grant(unit, grant_id)
            await self._audit.record(
                unit, event, client_id=client.client_id, ip=ip, grant=grant_id, **detail
            )

    async def exchange_code(
        self, client: Client, form: Mapping[str, str], ip: str
    ) -> dict[str, Any]:
        try:
            return await self._exchange_code(client, form, ip)
        except _Misuse as misuse:
            await self._end_misused_grant(misuse, client, ip)
            raise misuse.error from None

    async def refresh(self, client: Client, form: Mapping[str, str], ip: str) -> dict[str, Any]:
        try:
            response, grant = await self._refresh(client, form, ip)
        except _Misuse as misuse:
            await self._end_misused_grant(misuse, client, ip)
            raise misuse.error from None
        # Asked after the refresh is committed, so that no transaction waits on the LMS;
        # ending the grant revokes the tokens just made before they leave libgate.
        standing = await self._card_standing(grant.card)
        if standing is not None:
            await self._end_grant(
                grant.id,
                "token.refresh_refused",
                client,
                ip,
                patron_ref=self._pseudonyms.patron_ref(grant.card),
                card_standing=standing,
            )
            raise InvalidGrant(
                "the library card behind this sign-in can no longer be used: "
                "the resident must sign in again"
            )
        return response

    async def _card_standing(self, card: str) -> str | None:
        """Why the card behind a grant may no longer refresh it ("unknown", "blocked",
        "expired"); None while it is in good standing, or when the LMS cannot say: an LMS
        outage must not sign every resident out."""
        try:
            patron = await self._directory.lookup(card)
        except DirectoryUnavailable:
            log.warning("refresh allowed without checking the card: the LMS is not answering")
            return None
        if patron is None:
            return "unknown"
        status = patron.status()
        return None if status == "active" else status

    async def _exchange_code(
        self, client: Client, form: Mapping[str, str], ip: str
    ) -> dict[str, Any]:
        code = form.get("code")
        if not code:
            raise InvalidRequest("code is required")
        now = time.time()
        keys = await self._signing_keys()
        async with self._database.unit() as unit:
            row = await unit.row(_CODE_FOR_UPDATE, {"code_hash": _digest(code)})
            if row is None:
                raise InvalidGrant("the authorization code is not valid")
            if row["used_at"] is not None:
                # A replayed code means it leaked: stop everything issued from it (RFC 6749 §4.1.2).
                raise _Misuse(
                    row["grant_id"],
                    "token.code_replay",
                    InvalidGrant("the authorization code was already used"),
                )
            if row["client_id"] != client.client_id:
                raise InvalidGrant("the authorization code was issued to another client")
            if row["expires_at"] < now:
                raise InvalidGrant("the authorization code has expired")
            if form.get("redirect_uri") != row["redirect_uri"]:
                raise InvalidGrant("redirect_uri does not match the authorization request")
            verifier = form.get("code_verifier")
            if row["code_challenge"] is not None:
                if not verifier or not _pkce_matches(verifier, row["code_challenge"]):
                    raise InvalidGrant("code_verifier does not match the code_challenge")
            elif verifier is not None:
                raise InvalidGrant("code_verifier sent but no code_challenge was used")
            await unit.run(_USE_CODE, {"used_code": row["code_hash"], "used_time": now})
            grant = await self._load_grant(unit, row["grant_id"])
            if grant is None:
                raise InvalidGrant("the grant behind this code was revoked")
            response = await self._tokens(
                unit,
                client,
                grant,
                keys,
                scopes=grant.scopes,
                nonce=row["nonce"],
                with_refresh=self._offers_refresh(client, grant.scopes),
            )
            await self._audit.record(
                unit,
                "token.issued",
                patron_ref=self._pseudonyms.patron_ref(grant.card),
                client_id=client.client_id,
                ip=ip,
                grant=grant.id,
                grant_type="authorization_code",
                scopes=sorted(grant.scopes),
                claims_released=["sub"],
                refresh_token="refresh_token" in response,
            )
        return response

    async def _refresh(
        self, client: Client, form: Mapping[str, str], ip: str
    ) -> tuple[dict[str, Any], GrantInfo]:
        presented = form.get("refresh_token")
        if not presented:
            raise InvalidRequest("refresh_token is required")
        now = time.time()
        keys = await self._signing_keys()
        token_hash = _digest(presented)
        async with self._database.unit() as unit:
            # The usual case: mark the token used (locking it) and read its live grant.
            # Anything unusual is looked into afterwards, on the slow path.
            grant_id = await unit.scalar(
                _USE_REFRESH_TOKEN,
                {
                    "presented_hash": token_hash,
                    "presenting_client": client.client_id,
                    "now": now,
                    "marked_at": now,
                },
            )
            grant = None if grant_id is None else await self._load_grant(unit, grant_id)
            if grant is None:
                await self._refusal(unit, token_hash, client)
            scopes = grant.scopes
            if "scope" in form:
                asked = frozenset(form["scope"].split())
                if not asked <= grant.scopes:
                    raise OAuthError("invalid_scope", "a refresh cannot widen the scope")
                scopes = asked
            response = await self._tokens(
                unit, client, grant, keys, scopes=scopes, nonce=None, with_refresh=True
            )
            await self._audit.record(
                unit,
                "token.refreshed",
                patron_ref=self._pseudonyms.patron_ref(grant.card),
                client_id=client.client_id,
                ip=ip,
                grant=grant.id,
                scopes=sorted(scopes),
                claims_released=["sub"],  # in the new ID token
            )
        return response, grant

    @staticmethod
    async def _refusal(unit: Unit, token_hash: str, client: Client) -> NoReturn:
        """Why a refresh token was not accepted, raised as the right error."""
        row = await unit.row(_REFRESH_TOKEN_STATE, {"token_hash": token_hash})
        if row is None:
            raise InvalidGrant("the refresh token is not valid")
        if row["client_id"] != client.client_id:
            raise InvalidGrant("the refresh token was issued to another client")
        if row["used_at"] is not None:
            # Reuse of a rotated token: someone holds a stolen copy. End the whole grant.
            raise _Misuse(
                row["grant_id"],
                "token.refresh_reuse",
                InvalidGrant("the refresh token was already used"),
            )
        if row["revoked_at"] is not None:
            raise InvalidGrant("the grant behind this refresh token was revoked")
        raise InvalidGrant("the refresh token has expired")

    async def read_access_token(self, token: str) -> AccessTokenInfo:
        """Claims and live grant of a bearer token; InvalidToken when it is not usable."""
        try:
            claims = await self._keys.verify(token, typ=ACCESS_TOKEN_TYPE)
        except ValueError as exc:
            raise InvalidToken() from exc
        if claims.get("iss") != self._issuer or float(claims.get("exp", 0)) < time.time():
            raise InvalidToken("the access token has expired")
        async with self._database.unit(atomic=False) as unit:
            row = await unit.row(
                _LIVE_GRANT_OF_ACCESS_TOKEN,
                {"grant_id": str(claims.get("gid")), "jti": str(claims.get("jti"))},
            )
        if row is None:
            raise InvalidToken("the access token was revoked")
        return AccessTokenInfo(claims, _grant_info(row))

    async def revoke(self, client: Client, token: str, hint: str | None, ip: str) -> None:
        """RFC 7009: revoke a refresh token (and its whole grant) or an access token. Unknown
        tokens are not an error; another client's token is refused."""
        async with self._database.transaction() as connection:
            if hint != "access_token":
                row = (
                    await connection.execute(
                        select(refresh_tokens).where(refresh_tokens.c.token_hash == _digest(token))
                    )
                ).first()
                if row is not None:
                    if row.client_id != client.client_id:
                        raise OAuthError(
                            "unauthorized_client", "this token belongs to another client"
                        )
                    await self._revoke_grant(connection, row.grant_id)
                    await self._audit.record(
                        connection,
                        "token.revoked",
                        client_id=client.client_id,
                        ip=ip,
                        grant=row.grant_id,
                        token_type="refresh_token",
                    )
                    return
        try:
            info = await self.read_access_token(token)
        except InvalidToken:
            return
        if info.claims.get("client_id") != client.client_id:
            raise OAuthError("unauthorized_client", "this token belongs to another client")
        async with self._database.transaction() as connection:
            await connection.execute(
                insert(revoked_access_tokens).values(
                    jti=info.claims["jti"], expires_at=float(info.claims["exp"])
                )
            )
            await self._audit.record(
                connection,
                "token.revoked",
                client_id=client.client_id,
                ip=ip,
                grant=info.grant.id,
                token_type="access_token",
            )

    async def introspect(
        self, client: Client, token: str, hint: str | None, ip: str
    ) -> dict[str, Any]:
        """RFC 7662. Only the client a token was issued to learns anything about it, and
        what it learns about the resident (``sub``) is recorded like any other release."""
        found = await self._introspected(client, token, hint)
        if found is None:
            return {"active": False}
        answer, card = found
        async with self._database.unit() as unit:
            await self._audit.record(
                unit,
                "claims.released",
                patron_ref=self._pseudonyms.patron_ref(card),
                client_id=client.client_id,
                ip=ip,
                endpoint="introspect",
                claims=["sub"],
            )
        return answer

    async def _introspected(
        self, client: Client, token: str, hint: str | None
    ) -> tuple[dict[str, Any], str] | None:
        """The answer for an active token of ``client``'s, and whose card it is; else None."""
        if hint != "access_token":
            async with self._database.unit(atomic=False) as unit:
                row = await unit.row(_REFRESH_TOKEN_STATE, {"token_hash": _digest(token)})
                grant = await self._load_grant(unit, row["grant_id"]) if row else None
            if row is not None:
                if (
                    grant is None
                    or row["client_id"] != client.client_id
                    or row["used_at"] is not None
                    or row["expires_at"] < time.time()
                ):
                    return None
                refresh_token = {
                    "active": True,
                    "token_type": "refresh_token",
                    "client_id": row["client_id"],
                    "scope": " ".join(sorted(grant.scopes)),
                    "sub": self.subject(client, grant.card),
                    "exp": int(row["expires_at"]),
                    "iss": self._issuer,
                }
                return refresh_token, grant.card
        try:
            info = await self.read_access_token(token)
        except InvalidToken:
            return None
        if info.claims.get("client_id") != client.client_id:
            return None
        claims = info.claims
        access_token = {
            "active": True,
            "token_type": "Bearer",
            **{
                k: claims[k]
                for k in ("client_id", "scope", "sub", "exp", "iat", "iss", "aud", "jti")
            },
        }
        return access_token, info.grant.card

    async def revoke_grants(
        self, connection: AsyncConnection, *, card: str, client_id: str | None = None
    ) -> None:
        condition = (grants.c.card == card) & grants.c.revoked_at.is_(None)
        if client_id is not None:
            condition &= grants.c.client_id == client_id
        await connection.execute(update(grants).where(condition).values(revoked_at=time.time()))

    async def purge_expired(self) -> None:
        """Delete what can no longer be used. Codes are kept an hour past expiry so that a
        late replay is still recognised (and revokes its grant)."""
        now = time.time()
        async with self._database.transaction() as connection:
            await connection.execute(delete(auth_codes).where(auth_codes.c.expires_at < now - 3600))
            await connection.execute(
                delete(refresh_tokens).where(refresh_tokens.c.expires_at < now)
            )
            await connection.execute(
                delete(revoked_access_tokens).where(revoked_access_tokens.c.expires_at < now)
            )
            await connection.execute(
                delete(client_assertion_jtis).where(client_assertion_jtis.c.expires_at < now)
            )
            await connection.execute(
                delete(grants).where(
                    (grants.c.revoked_at < now - self._settings.access_token_ttl)
                    | (grants.c.created_at < now - self._settings.grant_lifetime)
                )
            )


class _Misuse(Exception):
    """A replayed code or reused refresh token: the grant is revoked (in a transaction of
    its own, after the one that found it rolled back) before the client is refused."""

    def __init__(self, grant_id: str, event: str, error: OAuthError) -> None:
        super().__init__(str(error))
        self.grant_id = grant_id
        self.event = event
        self.error = error
