"""Drive the resident's side of a sign-in with an HTTP client, as a browser would, and the
relying party's side of the token endpoint and userinfo, as a service would."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Client(Protocol):
    """A registered relying party (``tests.conftest.RegisteredClient``)."""

    @property
    def client_id(self) -> str: ...

    @property
    def redirect_uri(self) -> str: ...

    @property
    def auth(self) -> tuple[str, str]:
        """Its client_secret_basic credentials."""
        ...


class Patron(Protocol):
    """A resident who can sign in (``tests.conftest.Resident``)."""

    @property
    def card(self) -> str: ...

    @property
    def pin(self) -> str: ...


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, f"no CSRF token on {page.url}: {page.status_code}"
    return found.group(1)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class FlowResult:
    redirect: str
    verifier: str
    state: str
    nonce: str

    @property
    def params(self) -> dict[str, str]:
        return query_of(self.redirect)

    @property
    def code(self) -> str:
        return self.params["code"]


def authorize_url(
    client_id: str, redirect_uri: str, scope: str, **extra: str
) -> tuple[str, str, str, str]:
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"/authorize?{urlencode(params)}", verifier, state, nonce


async def submit_card(http: httpx.AsyncClient, signin: str, card: str, pin: str) -> httpx.Response:
    """Open the sign-in page at ``signin`` and post a card number and PIN from it."""
    page = await http.get(signin)
    return await http.post(signin, data={"csrf": csrf_of(page), "card": card, "pin": pin})


async def attempt_pin(
    http: httpx.AsyncClient, client: Client, card: str, pin: str
) -> httpx.Response:
    """authorize -> sign-in page -> post ``card`` and ``pin``; libgate's answer to the post."""
    url, *_ = authorize_url(client.client_id, client.redirect_uri, "openid")
    signin = (await http.get(url)).headers["location"]
    return await submit_card(http, signin, card, pin)


async def sign_in(
    http: httpx.AsyncClient,
    client: Client,
    patron: Patron,
    *,
    scope: str = "openid profile",
    consent: bool = True,
    **extra: str,
) -> FlowResult:
    """authorize -> sign-in page -> (consent) -> redirect back with a code."""
    url, verifier, state, nonce = authorize_url(
        client.client_id, client.redirect_uri, scope, **extra
    )
    response = await http.get(url)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    if location.startswith("/signin/"):
        response = await submit_card(http, location, patron.card, patron.pin)
        assert response.status_code == 303, response.text
        location = response.headers["location"]
    if location.startswith("/consent/"):
        page = await http.get(location)
        decision = "allow" if consent else "deny"
        response = await http.post(location, data={"csrf": csrf_of(page), "decision": decision})
        assert response.status_code == 303, response.text
        location = response.headers["location"]
    assert location.startswith(client.redirect_uri), location
    return FlowResult(location, verifier, state, nonce)


def code_grant(client: Client, flow: FlowResult, **changes: str | None) -> dict[str, str]:
    """The form a client posts to /token to redeem the code ``flow`` brought back.
    ``changes`` add or replace fields; a change to None leaves that field out."""
    data: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": flow.code,
        "redirect_uri": client.redirect_uri,
        "code_verifier": flow.verifier,
        **changes,
    }
    return {name: value for name, value in data.items() if value is not None}


async def redeem(
    http: httpx.AsyncClient, client: Client, flow: FlowResult, **changes: str | None
) -> httpx.Response:
    """The client redeems the code at /token with client_secret_basic (see ``code_grant``)."""
    return await http.post("/token", auth=client.auth, data=code_grant(client, flow, **changes))


async def tokens_from(http: httpx.AsyncClient, client: Client, flow: FlowResult) -> dict[str, Any]:
    """What a successful ``redeem`` returns: ID, access and (usually) refresh tokens."""
    response = await redeem(http, client, flow)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def tokens_for(
    http: httpx.AsyncClient,
    client: Client,
    patron: Patron,
    scope: str = "openid profile",
    **extra: str,
) -> dict[str, Any]:
    """``patron`` signs in to ``client`` (consenting), and the client redeems the code."""
    flow = await sign_in(http, client, patron, scope=scope, consent=True, **extra)
    return await tokens_from(http, client, flow)


async def refresh(
    http: httpx.AsyncClient, client: Client, refresh_token: str, **extra: str
) -> httpx.Response:
    """The client uses a refresh token at /token with client_secret_basic."""
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return await http.post("/token", auth=client.auth, data=data)


async def userinfo(http: httpx.AsyncClient, access_token: str) -> httpx.Response:
    """The userinfo endpoint, asked with ``access_token`` as a Bearer token."""
    return await http.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})
