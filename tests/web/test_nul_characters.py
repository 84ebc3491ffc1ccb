"""A NUL character in an address, a form or a JSON body: PostgreSQL's text can neither hold
nor be compared with one, so each used to be a server error there. Now each is an ordinary
answer: no such client, no such search, a query that finds what it finds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.conftest import RegisteredClient

NUL = "a\x00b"

Request = Callable[[httpx.AsyncClient, RegisteredClient], Awaitable[httpx.Response]]

REQUESTS: dict[str, tuple[Request, int]] = {
    "authorize for a client_id": (
        lambda http, portal: http.get(
            "/authorize",
            params={
                "client_id": NUL,
                "redirect_uri": portal.redirect_uri,
                "response_type": "code",
                "scope": "openid",
            },
        ),
        400,
    ),
    "token for a client_id": (
        lambda http, _: http.post(
            "/token",
            data={"grant_type": "authorization_code", "client_id": NUL, "client_secret": "x"},
        ),
        401,
    ),
    "a search's results": (lambda http, _: http.get("/api/search/a%00b"), 404),
    "a sign-in page": (lambda http, _: http.get("/signin/a%00b"), 404),
    "a search for it": (
        lambda http, _: http.post("/api/search", json={"q": f"history {NUL}"}),
        201,
    ),
}


@pytest.mark.parametrize("name", list(REQUESTS))
async def test_a_nul_character_gets_an_ordinary_answer(
    http: httpx.AsyncClient, portal: RegisteredClient, name: str
) -> None:
    send, status = REQUESTS[name]
    response = await send(http, portal)
    assert response.status_code == status, response.text[:200]
