"""Client authentication at the token, revocation and introspection endpoints
(RFC 6749 §2.3, OpenID Connect Core §9)."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from typing import cast
from urllib.parse import unquote

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from joserfc.jws import extract_compact
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from libgate.db import Database
from libgate.db.tables import client_assertion_jtis
from libgate.oidc._clients import Client, ClientRegistry
from libgate.oidc._errors import InvalidClient, InvalidRequest

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = ["ES256", "RS256", "PS256", "EdDSA"]
_MAX_ASSERTION_LIFETIME = 300


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("malformed Basic authorization header") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed Basic authorization header")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


class ClientAuthenticator:
    def __init__(self, database: Database, registry: ClientRegistry, audiences: set[str]) -> None:
        self._database = database
        self._registry = registry
        self._audiences = audiences

    async def authenticate(self, form: Mapping[str, str], authorization: str | None) -> Client:
        """The client making this request, by the method it registered; else InvalidClient."""
        basic = _basic_credentials(authorization)
        if basic is not None:
            return await self._by_secret(*basic, method="client_secret_basic")
        if form.get("client_assertion_type") or form.get("client_assertion"):
            return await self._by_assertion(form)
        client_id = form.get("client_id")
        if not client_id:
            raise InvalidClient("no client authentication was presented")
        if "client_secret" in form:
            return await self._by_secret(
                client_id, form["client_secret"], method="client_secret_post"
            )
        client = await self._registry.get(client_id)
        if client is None or not client.is_public:
            raise InvalidClient()
        return client

    async def _by_secret(self, client_id: str, secret: str, *, method: str) -> Client:
        client = await self._registry.get(client_id)
        if client is None or not client.secret_matches(secret):
            raise InvalidClient()
        if client.auth_method != method:
            raise InvalidClient(f"this client is registered for {client.auth_method}")
        return client

    async def _by_assertion(self, form: Mapping[str, str]) -> Client:
        if form.get("client_assertion_type") != JWT_BEARER:
            raise InvalidRequest("client_assertion_type must be " + JWT_BEARER)
        assertion = form.get("client_assertion", "")
        try:
            unverified = json.loads(extract_compact(assertion.encode()).payload)
        except (JoseError, ValueError):
            unverified = None
        client_id = unverified.get("sub") if isinstance(unverified, dict) else None
        if not isinstance(client_id, str) or (form.get("client_id") not in (None, client_id)):
            raise InvalidClient("client assertion does not name the client")
        client = await self._registry.get(client_id)
        if client is None or client.auth_method != "private_key_jwt" or not client.jwks:
            raise InvalidClient()
        try:
            token = jwt.decode(
                assertion,
                KeySet.import_key_set(cast(KeySetSerialization, client.jwks)),
                algorithms=ASSERTION_ALGS,
            )
        except (JoseError, ValueError) as exc:
            raise InvalidClient("client assertion signature does not verify") from exc
        claims = token.claims
        now = time.time()
        audience = claims.get("aud")
        audiences = {audience} if isinstance(audience, str) else set(audience or [])
        if claims.get("iss") != client_id or not audiences & self._audiences:
            raise InvalidClient("client assertion has the wrong issuer or audience")
        exp, jti = claims.get("exp"), claims.get("jti")
        if not isinstance(exp, int | float) or exp < now or exp > now + _MAX_ASSERTION_LIFETIME:
            raise InvalidClient("client assertion is expired or lives too long")
        if not isinstance(jti, str) or not jti:
            raise InvalidClient("client assertion has no jti")
        await self._remember_jti(client_id, jti, exp)
        return client

    async def _remember_jti(self, client_id: str, jti: str, exp: float) -> None:
        try:
            async with self._database.transaction() as connection:
                await connection.execute(
                    insert(client_assertion_jtis).values(
                        client_id=client_id, jti=jti, expires_at=exp
                    )
                )
        except IntegrityError as exc:
            raise InvalidClient("client assertion was already used") from exc
