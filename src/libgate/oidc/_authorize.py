"""The authorization endpoint's request checks (OpenID Connect Core §3.1.2, RFC 7636,
RFC 9207), each a small named step run in order, like node-oidc-provider's action table."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from libgate.oidc._clients import Client, ClientRegistry
from libgate.oidc._errors import OAuthError, UnsafeRedirect

_PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43,128}$")
_PROMPTS = frozenset({"none", "login", "consent", "select_account"})
_MAX_PARAM = 2048


@dataclass(frozen=True)
class AuthorizationRequest:
    """A checked request, safe to store while the resident signs in and consents."""

    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    prompt: frozenset[str] = field(default_factory=frozenset)
    max_age: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scopes": sorted(self.scopes),
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.code_challenge,
            "prompt": sorted(self.prompt),
            "max_age": self.max_age,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuthorizationRequest:
        return cls(
            client_id=data["client_id"],
            redirect_uri=data["redirect_uri"],
            scopes=frozenset(data["scopes"]),
            state=data["state"],
            nonce=data["nonce"],
            code_challenge=data["code_challenge"],
            prompt=frozenset(data["prompt"]),
            max_age=data["max_age"],
        )


class RedirectableError(OAuthError):
    """An error the client learns about on its redirect URI (§3.1.2.6)."""

    def __init__(self, error: str, description: str, redirect_uri: str, state: str | None) -> None:
        super().__init__(error, description)
        self.redirect_uri = redirect_uri
        self.state = state


def redirect_with(redirect_uri: str, params: Mapping[str, str | None]) -> str:
    """``redirect_uri`` with ``params`` added to its query, keeping any query it had."""
    parts = urlsplit(redirect_uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


@dataclass
class _Context:
    params: Mapping[str, str]
    client: Client
    redirect_uri: str
    scopes: frozenset[str] = frozenset()
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None

    def fail(self, error: str, description: str) -> RedirectableError:
        return RedirectableError(error, description, self.redirect_uri, self.params.get("state"))


def _check_response_type(ctx: _Context) -> None:
    if ctx.params.get("response_type") != "code":
        raise ctx.fail("unsupported_response_type", "only response_type=code is supported")
    if ctx.params.get("response_mode", "query") != "query":
        raise ctx.fail("invalid_request", "only response_mode=query is supported")


def _check_request_objects(ctx: _Context) -> None:
    if "request" in ctx.params:
        raise ctx.fail("request_not_supported", "request objects are not supported")
    if "request_uri" in ctx.params:
        raise ctx.fail("request_uri_not_supported", "request_uri is not supported")


def _check_lengths(ctx: _Context) -> None:
    for name in ("state", "nonce", "scope", "code_challenge"):
        if len(ctx.params.get(name, "")) > _MAX_PARAM:
            raise ctx.fail("invalid_request", f"{name} is too long")


def _check_scope(ctx: _Context) -> None:
    requested = frozenset(ctx.params.get("scope", "").split())
    if "openid" not in requested:
        raise ctx.fail("invalid_scope", "the openid scope is required")
    # A client asking for more than its registration allows simply gets less (RFC 6749 §3.3).
    ctx.scopes = requested & ctx.client.scopes


def _check_pkce(ctx: _Context) -> None:
    challenge = ctx.params.get("code_challenge")
    method = ctx.params.get("code_challenge_method")
    if challenge is None:
        if ctx.client.is_public:
            raise ctx.fail("invalid_request", "public clients must use PKCE (code_challenge)")
        if method is not None:
            raise ctx.fail("invalid_request", "code_challenge_method without code_challenge")
        return
    if method != "S256":
        raise ctx.fail("invalid_request", "code_challenge_method must be S256")
    if not _PKCE_CHALLENGE.match(challenge):
        raise ctx.fail("invalid_request", "code_challenge is not a valid S256 challenge")


def _check_prompt(ctx: _Context) -> None:
    prompt = frozenset(ctx.params.get("prompt", "").split())
    if prompt - _PROMPTS:
        raise ctx.fail("invalid_request", "unknown prompt value")
    if "none" in prompt and len(prompt) > 1:
        raise ctx.fail("invalid_request", "prompt=none cannot be combined with other values")
    ctx.prompt = prompt


def _check_max_age(ctx: _Context) -> None:
    raw = ctx.params.get("max_age")
    if raw is None:
        return
    # ASCII digits only (str.isdigit also takes "²"), and few enough for int() to read.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise ctx.fail("invalid_request", "max_age must be a whole number of seconds")
    ctx.max_age = int(raw)


_CHECKS: tuple[Callable[[_Context], None], ...] = (
    _check_response_type,
    _check_request_objects,
    _check_lengths,
    _check_scope,
    _check_pkce,
    _check_prompt,
    _check_max_age,
)


async def check_authorization_request(
    params: Mapping[str, str], clients: ClientRegistry
) -> AuthorizationRequest:
    """Raise :class:`UnsafeRedirect` when the client or redirect URI cannot be trusted, a
    :class:`RedirectableError` for anything else wrong, else return the checked request."""
    client_id = params.get("client_id", "")
    client = await clients.get(client_id) if client_id else None
    if client is None:
        raise UnsafeRedirect("This service is not registered with the library.")
    redirect_uri = params.get("redirect_uri", "")
    # Exact string matching only (OAuth 2.0 Security BCP, RFC 9700 §4.1.3).
    if redirect_uri not in client.redirect_uris:
        raise UnsafeRedirect("The address this service asked to return to is not registered.")
    ctx = _Context(params=params, client=client, redirect_uri=redirect_uri)
    for check in _CHECKS:
        check(ctx)
    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scopes=ctx.scopes,
        state=params.get("state"),
        nonce=params.get("nonce"),
        code_challenge=params.get("code_challenge"),
        prompt=ctx.prompt,
        max_age=ctx.max_age,
    )
