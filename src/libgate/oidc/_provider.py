"""The OpenID Provider: the browser-facing authorization flow and the back-channel
endpoints, composed from the parts in this package. Knows nothing of HTTP frameworks: the
web layer turns requests into calls here and results into responses."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, select

from libgate.config import Settings
from libgate.db import Database, Unit
from libgate.db.tables import auth_requests
from libgate.oidc._authorize import (
    AuthorizationRequest,
    RedirectableError,
    check_authorization_request,
    redirect_with,
)
from libgate.oidc._claims import claims_supported, patron_claims
from libgate.oidc._client_auth import ASSERTION_ALGS, ClientAuthenticator
from libgate.oidc._clients import KNOWN_SCOPES, Client, ClientRegistry
from libgate.oidc._consent import ConsentStore
from libgate.oidc._errors import InvalidRequest, InvalidToken, OAuthError
from libgate.oidc._keys import SUPPORTED_ALGS, KeyStore
from libgate.oidc._sessions import BrowserSession, SessionStore
from libgate.oidc._tokens import TokenService
from libgate.patrons import CardSignIn, DirectoryUnavailable, PatronDirectory, SignInOutcome
from libgate.privacy import AuditTrail, Pseudonyms

_PENDING_SECONDS = 1800
# Instances' clocks may differ by this much: a sign-in on one just after a request was
# made on another still counts as after it.
_CLOCK_SKEW_SECONDS = 5.0
_REMEMBER = insert(auth_requests)
_PENDING = select(auth_requests).where(
    auth_requests.c.id == bindparam("request_id"), auth_requests.c.expires_at > bindparam("now")
)
_FORGET = delete(auth_requests).where(auth_requests.c.id == bindparam("request_id"))


@dataclass(frozen=True)
class RedirectTo:
    """Send the browser to ``url`` (the client's redirect URI, with a code or an error)."""

    url: str


@dataclass(frozen=True)
class ShowSignIn:
    request_id: str
    client: Client


@dataclass(frozen=True)
class ShowConsent:
    request_id: str
    client: Client
    scopes: frozenset[str]


Step = RedirectTo | ShowSignIn | ShowConsent


@dataclass(frozen=True)
class LogoutRequest:
    client: Client | None
    target: str | None
    hint_sid: str | None

    def names_session(self, session: BrowserSession) -> bool:
        """The id_token_hint was issued in this very session (so no need to ask)."""
        return self.hint_sid is not None and self.hint_sid == session.sid


@dataclass(frozen=True)
class SignInResult:
    outcome: SignInOutcome
    step: Step | None = None
    cookie_value: str | None = None


class OpenIDProvider:
    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        clients: ClientRegistry,
        keys: KeyStore,
        tokens: TokenService,
        sessions: SessionStore,
        consents: ConsentStore,
        signin: CardSignIn,
        directory: PatronDirectory,
        audit: AuditTrail,
        pseudonyms: Pseudonyms,
    ) -> None:
        self.issuer = settings.issuer_url
        self.clients = clients
        self.keys = keys
        self.tokens = tokens
        self.sessions = sessions
        self.consents = consents
        self._settings = settings
        self._database = database
        self._signin = signin
        self._directory = directory
        self._audit = audit
        self._pseudonyms = pseudonyms
        self._client_auth = ClientAuthenticator(
            database,
            clients,
            {
                self.issuer,
                self.endpoint("token"),
                self.endpoint("revoke"),
                self.endpoint("introspect"),
            },
        )

    def endpoint(self, name: str) -> str:
        return f"{self.issuer}/{name}"

    def discovery(self) -> dict[str, Any]:
        """OpenID Connect Discovery 1.0 / RFC 8414 metadata."""
        auth_methods = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.endpoint("authorize"),
            "token_endpoint": self.endpoint("token"),
            "userinfo_endpoint": self.endpoint("userinfo"),
            "jwks_uri": self.endpoint("jwks"),
            "revocation_endpoint": self.endpoint("revoke"),
            "introspection_endpoint": self.endpoint("introspect"),
            "end_session_endpoint": self.endpoint("logout"),
            "scopes_supported": list(KNOWN_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["pairwise", "public"],
            "id_token_signing_alg_values_supported": list(SUPPORTED_ALGS),
            "token_endpoint_auth_methods_supported": auth_methods,
            "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_methods_supported": auth_methods,
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "sid",
                *claims_supported(),
            ],
            "prompt_values_supported": ["none", "login", "consent"],
            "authorization_response_iss_parameter_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "claims_parameter_supported": False,
            "frontchannel_logout_supported": False,
            "backchannel_logout_supported": False,
        }

    # ---- the browser flow -------------------------------------------------------------

    async def authorize(self, params: Mapping[str, str], session: BrowserSession | None) -> Step:
        """Check an authorization request and say what happens next. Raises UnsafeRedirect
        when the request cannot safely be answered on its redirect URI."""
        try:
            request = await check_authorization_request(params, self.clients)
        except RedirectableError as exc:
            return self._error_redirect(exc.redirect_uri, exc.error, exc.description, exc.state)
        if session is not None and not self._session_fresh_enough(request, session):
            session = None
        client = await self._client(request)
        if session is None:
            if "none" in request.prompt:
                return self._error_redirect(
                    request.redirect_uri,
                    "login_required",
                    "the resident is not signed in",
                    request.state,
                )
            return ShowSignIn(await self._remember(request), client)
        step = await self._consent_step(request, client, session.card, None)
        if step is not None:
            return step
        async with self._database.unit() as unit:
            return await self._issue_code(unit, request, session, None)

    def _session_fresh_enough(self, request: AuthorizationRequest, session: BrowserSession) -> bool:
        if "login" in request.prompt:
            return False
        return request.max_age is None or time.time() - session.auth_time <= request.max_age

    async def _client(self, request: AuthorizationRequest) -> Client:
        client = await self.clients.get(request.client_id)
        if client is None:
            raise InvalidRequest("the client was removed")
        return client

    async def _remember(self, request: AuthorizationRequest) -> str:
        request_id = secrets.token_urlsafe(24)
        now = time.time()
        async with self._database.unit() as unit:
            await unit.run(
                _REMEMBER,
                {
                    "id": request_id,
                    "client_id": request.client_id,
                    "params": request.to_json(),
                    "expires_at": now + _PENDING_SECONDS,
                },
            )
        return request_id

    async def pending(self, request_id: str) -> tuple[AuthorizationRequest, Client] | None:
        """The stored request a sign-in or consent page is about, if still live."""
        found = await self._pending(request_id)
        return None if found is None else (found[0], found[1])

    async def _pending(self, request_id: str) -> tuple[AuthorizationRequest, Client, float] | None:
        """:meth:`pending`, and when the request was made."""
        async with self._database.unit(atomic=False) as unit:
            row = await unit.row(_PENDING, {"request_id": request_id, "now": time.time()})
        if row is None:
            return None
        request = AuthorizationRequest.from_json(row["params"])
        client = await self.clients.get(request.client_id)
        made_at = row["expires_at"] - _PENDING_SECONDS
        return None if client is None else (request, client, made_at)

    async def may_consent(self, request_id: str, session: BrowserSession) -> bool:
        """Whether ``session`` may answer the consent screen of pending request
        ``request_id``: it has signed in since the request was made, or is as fresh as the
        request asks. Otherwise (prompt=login, max_age) the resident signs in first."""
        found = await self._pending(request_id)
        return found is not None and self._signed_in_for(found[0], found[2], session)

    def _signed_in_for(
        self, request: AuthorizationRequest, made_at: float, session: BrowserSession
    ) -> bool:
        return session.auth_time >= made_at - _CLOCK_SKEW_SECONDS or self._session_fresh_enough(
            request, session
        )

    async def sign_in(
        self,
        request_id: str,
        pending: tuple[AuthorizationRequest, Client],
        card: str,
        pin: str,
        ip: str,
    ) -> SignInResult:
        """Check card + PIN for a pending request (from :meth:`pending`); on success start
        a session and go on to consent or back to the client."""
        request, client = pending
        outcome = await self._signin.sign_in(card, pin, ip=ip, client_id=client.client_id)
        if outcome.patron is None:
            return SignInResult(outcome)
        step = await self._consent_step(request, client, outcome.patron.card, request_id)
        async with self._database.unit() as unit:
            cookie_value, session = await self.sessions.create(unit, outcome.patron.card)
            if step is None:
                step = await self._issue_code(unit, request, session, request_id)
        return SignInResult(outcome, step, cookie_value)

    async def sign_in_to_account(
        self, card: str, pin: str, ip: str
    ) -> tuple[SignInOutcome, str | None]:
        """Sign in at libgate itself (the resident's account page), for no client."""
        outcome = await self._signin.sign_in(card, pin, ip=ip, client_id=None)
        if outcome.patron is None:
            return outcome, None
        async with self._database.unit() as unit:
            cookie_value, _ = await self.sessions.create(unit, outcome.patron.card)
        return outcome, cookie_value

    async def _consent_step(
        self,
        request: AuthorizationRequest,
        client: Client,
        card: str,
        request_id: str | None,
    ) -> Step | None:
        """The consent screen (or consent_required) when the resident has not yet agreed to
        what the client asks; None when a code can be issued straight away."""
        missing = await self.consents.missing(card, client.client_id, request.scopes)
        if "consent" in request.prompt:
            missing = request.scopes - {"openid"}
        if not missing:
            return None
        if "none" in request.prompt:
            return self._error_redirect(
                request.redirect_uri,
                "consent_required",
                "the resident has not consented",
                request.state,
            )
        return ShowConsent(
            request_id or await self._remember(request), client, request.scopes - {"openid"}
        )

    async def decide_consent(
        self, request_id: str, session: BrowserSession, approved: bool, ip: str
    ) -> RedirectTo | None:
        """The resident's answer on the consent screen; None when the request has expired
        or ``session`` may not answer it (see :meth:`may_consent`)."""
        found = await self._pending(request_id)
        if found is None or not self._signed_in_for(found[0], found[2], session):
            return None
        request, client, _ = found
        if not approved:
            await self._forget(request_id)
            return self._error_redirect(
                request.redirect_uri, "access_denied", "the resident declined", request.state
            )
        async with self._database.unit() as unit:
            await self.consents.grant(unit, session.card, client.client_id, request.scopes)
            await self._audit.record(
                unit,
                "consent.given",
                patron_ref=self._pseudonyms.patron_ref(session.card),
                client_id=client.client_id,
                ip=ip,
                scopes=sorted(request.scopes - {"openid"}),
            )
            return await self._issue_code(unit, request, session, request_id)

    async def _forget(self, request_id: str) -> None:
        async with self._database.unit() as unit:
            await unit.run(_FORGET, {"request_id": request_id})

    async def _issue_code(
        self,
        unit: Unit,
        request: AuthorizationRequest,
        session: BrowserSession,
        request_id: str | None,
    ) -> RedirectTo:
        if request_id is not None:  # single use: the pending request goes as the code is made
            await unit.run(_FORGET, {"request_id": request_id})
        code = await self.tokens.issue_code(
            unit,
            request,
            card=session.card,
            sid=session.sid,
            auth_time=session.auth_time,
        )
        return RedirectTo(
            redirect_with(
                request.redirect_uri, {"code": code, "state": request.state, "iss": self.issuer}
            )
        )

    def _error_redirect(
        self, redirect_uri: str, error: str, description: str, state: str | None
    ) -> RedirectTo:
        return RedirectTo(
            redirect_with(
                redirect_uri,
                {
                    "error": error,
                    "error_description": description,
                    "state": state,
                    "iss": self.issuer,
                },
            )
        )

    async def purge_expired(self) -> None:
        """Delete expired codes, tokens, grants, sessions and unfinished sign-ins."""
        await self.tokens.purge_expired()
        await self.sessions.purge_expired()
        async with self._database.transaction() as connection:
            await connection.execute(
                delete(auth_requests).where(auth_requests.c.expires_at < time.time())
            )

    # ---- back channel -----------------------------------------------------------------

    async def token(
        self, form: Mapping[str, str], authorization: str | None, ip: str
    ) -> dict[str, Any]:
        client = await self._client_auth.authenticate(form, authorization)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return await self.tokens.exchange_code(client, form, ip)
        if grant_type == "refresh_token":
            return await self.tokens.refresh(client, form, ip)
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    async def userinfo(self, access_token: str, ip: str) -> dict[str, Any]:
        info = await self.tokens.read_access_token(access_token)
        client = await self.clients.get(info.grant.client_id)
        if client is None:
            raise InvalidToken("the client was removed")
        scopes = frozenset(str(info.claims.get("scope", "")).split())
        try:
            patron = await self._directory.lookup(info.grant.card)
        except DirectoryUnavailable as exc:
            raise OAuthError(
                "temporarily_unavailable", "the library system is not answering", status=503
            ) from exc
        if patron is None:
            raise InvalidToken("the library account no longer exists")
        claims = {"sub": self.tokens.subject(client, patron.card)}
        claims.update(patron_claims(patron, scopes & client.scopes))
        async with self._database.unit() as unit:
            await self._audit.record(
                unit,
                "claims.released",
                patron_ref=self._pseudonyms.patron_ref(patron.card),
                client_id=client.client_id,
                ip=ip,
                endpoint="userinfo",
                claims=sorted(claims),
            )
        return claims

    async def revoke(self, form: Mapping[str, str], authorization: str | None, ip: str) -> None:
        client = await self._client_auth.authenticate(form, authorization)
        token = form.get("token")
        if not token:
            raise InvalidRequest("token is required")
        await self.tokens.revoke(client, token, form.get("token_type_hint"), ip)

    async def introspect(
        self, form: Mapping[str, str], authorization: str | None, ip: str
    ) -> dict[str, Any]:
        client = await self._client_auth.authenticate(form, authorization)
        token = form.get("token")
        if not token:
            raise InvalidRequest("token is required")
        return await self.tokens.introspect(client, token, form.get("token_type_hint"), ip)

    # ---- signing out ------------------------------------------------------------------

    async def logout_request(self, params: Mapping[str, str]) -> LogoutRequest:
        """RP-Initiated Logout 1.0: which client asks, for which session, and where to send
        the browser after. Raises InvalidRequest for a hint that is not ours or a target
        that is not registered."""
        client: Client | None = None
        hint_sid: str | None = None
        hint = params.get("id_token_hint")
        if hint:
            try:
                claims = await self.keys.verify(hint)
            except ValueError as exc:
                raise InvalidRequest("id_token_hint was not issued by this provider") from exc
            if claims.get("iss") != self.issuer:
                raise InvalidRequest("id_token_hint was not issued by this provider")
            client = await self.clients.get(str(claims.get("aud")))
            hint_sid = claims.get("sid")
        client_id = params.get("client_id")
        if client_id:
            named = await self.clients.get(client_id)
            if named is None or (client is not None and named.client_id != client.client_id):
                raise InvalidRequest("client_id does not match id_token_hint")
            client = named
        target = params.get("post_logout_redirect_uri")
        if target is not None:
            if client is None or target not in client.post_logout_redirect_uris:
                raise InvalidRequest("post_logout_redirect_uri is not registered for this client")
            target = redirect_with(target, {"state": params.get("state")})
        return LogoutRequest(client, target, hint_sid)

    async def sign_out(self, cookie_value: str | None, ip: str, client: Client | None) -> None:
        card = await self.sessions.end(cookie_value=cookie_value) if cookie_value else None
        if card is None:
            return
        async with self._database.transaction() as connection:
            await self._audit.record(
                connection,
                "signout",
                patron_ref=self._pseudonyms.patron_ref(card),
                client_id=client.client_id if client else None,
                ip=ip,
            )

    async def withdraw_consent(self, card: str, client_id: str, ip: str) -> bool:
        """The resident stops sharing with a service: consent removed, its tokens revoked."""
        async with self._database.transaction() as connection:
            withdrawn = await self.consents.withdraw(connection, card, client_id)
            await self.tokens.revoke_grants(connection, card=card, client_id=client_id)
            if withdrawn:
                await self._audit.record(
                    connection,
                    "consent.withdrawn",
                    patron_ref=self._pseudonyms.patron_ref(card),
                    client_id=client_id,
                    ip=ip,
                )
        return withdrawn
