"""Drive the resident's side of a sign-in with an HTTP client, as a browser would."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


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


async def sign_in(
    http: httpx.AsyncClient,
    *,
    client_id: str,
    redirect_uri: str,
    card: str,
    pin: str,
    scope: str = "openid profile",
    consent: bool = True,
    **extra: str,
) -> FlowResult:
    """authorize -> sign-in page -> (consent) -> redirect back with a code."""
    url, verifier, state, nonce = authorize_url(client_id, redirect_uri, scope, **extra)
    response = await http.get(url)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    if location.startswith("/signin/"):
        page = await http.get(location)
        response = await http.post(location, data={"csrf": csrf_of(page), "card": card, "pin": pin})
        assert response.status_code == 303, response.text
        location = response.headers["location"]
    if location.startswith("/consent/"):
        page = await http.get(location)
        decision = "allow" if consent else "deny"
        response = await http.post(location, data={"csrf": csrf_of(page), "decision": decision})
        assert response.status_code == 303, response.text
        location = response.headers["location"]
    assert location.startswith(redirect_uri), location
    return FlowResult(location, verifier, state, nonce)
