"""What the provider refuses, and with which error, per RFC 6749, RFC 7636 and the OAuth
2.0 Security BCP (RFC 9700)."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import update

from libgate.db.tables import auth_codes, patrons
from libgate.services import Services
from tests.conftest import RegisteredClient, Resident, register
from tests.support.flow import (
    authorize_url,
    code_grant,
    query_of,
    redeem,
    refresh,
    sign_in,
    tokens_for,
    userinfo,
)


def _error(response: httpx.Response) -> str:
    return str(response.json()["error"])


async def test_an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect(
    http: httpx.AsyncClient, portal: RegisteredClient
) -> None:
    url, *_ = authorize_url(portal.client_id, "https://evil.example.net/callback", "openid")
    response = await http.get(url)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "not registered" in response.text


async def test_a_redirect_uri_that_only_starts_like_the_registered_one_is_refused(
    http: httpx.AsyncClient, portal: RegisteredClient
) -> None:
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri + "/../x", "openid")
    response = await http.get(url)
    assert response.status_code == 400 and "location" not in response.headers


async def test_an_unknown_client_gets_an_error_page(http: httpx.AsyncClient) -> None:
    url, *_ = authorize_url("nobody", "https://portal.example.org/callback", "openid")
    response = await http.get(url)
    assert response.status_code == 400 and "location" not in response.headers


async def test_a_replayed_code_is_refused_and_revokes_the_tokens_from_its_first_use(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    flow = await sign_in(http, portal, patron)
    first = await redeem(http, portal, flow)
    assert first.status_code == 200
    tokens = first.json()

    replay = await redeem(http, portal, flow)
    assert replay.status_code == 400 and _error(replay) == "invalid_grant"

    details = await userinfo(http, tokens["access_token"])
    assert details.status_code == 401
    assert 'error="invalid_token"' in details.headers["www-authenticate"]
    refreshed = await refresh(http, portal, tokens["refresh_token"])
    assert refreshed.status_code == 400 and _error(refreshed) == "invalid_grant"


async def test_a_wrong_pkce_verifier_is_refused(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    flow = await sign_in(http, portal, patron)
    response = await redeem(http, portal, flow, code_verifier="x" * 50)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


async def test_a_missing_pkce_verifier_is_refused(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    flow = await sign_in(http, portal, patron)
    response = await redeem(http, portal, flow, code_verifier=None)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


async def test_a_plain_pkce_challenge_is_refused_at_the_authorization_endpoint(
    http: httpx.AsyncClient, portal: RegisteredClient
) -> None:
    url, *_ = authorize_url(
        portal.client_id,
        portal.redirect_uri,
        "openid",
        code_challenge="a" * 43,
        code_challenge_method="plain",
    )
    response = await http.get(url)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(portal.redirect_uri) and "error=invalid_request" in location


@pytest.mark.parametrize(
    "max_age", ["\u00b2", "1" * 5000, "-1"], ids=["superscript", "huge", "negative"]
)
async def test_a_max_age_that_is_not_a_number_of_seconds_is_sent_back_as_invalid_request(
    http: httpx.AsyncClient, portal: RegisteredClient, max_age: str
) -> None:
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid", max_age=max_age)
    response = await http.get(url)
    assert response.status_code == 303
    answer = query_of(response.headers["location"])
    assert answer["error"] == "invalid_request" and answer["iss"]


async def test_a_wrong_client_secret_is_refused_with_invalid_client(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    flow = await sign_in(http, portal, patron)
    data = code_grant(portal, flow)
    response = await http.post("/token", auth=(portal.client_id, "not-the-secret"), data=data)
    assert response.status_code == 401 and _error(response) == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    # The code is still good for the real client: a wrong guess must not burn it.
    assert (await redeem(http, portal, flow)).status_code == 200


async def test_an_expired_code_is_refused(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    flow = await sign_in(http, portal, patron)
    async with services.database.transaction() as connection:
        await connection.execute(update(auth_codes).values(expires_at=0))
    response = await redeem(http, portal, flow)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


async def test_a_code_is_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    flow = await sign_in(http, portal, patron)
    response = await redeem(http, portal, flow, redirect_uri="https://portal.example.org/other")
    assert response.status_code == 400 and _error(response) == "invalid_grant"


async def test_a_code_presented_by_another_client_is_refused(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    vendor = await register(services, "E-books", "https://ebooks.example.com/cb")
    flow = await sign_in(http, portal, patron)
    response = await http.post("/token", auth=vendor.auth, data=code_grant(portal, flow))
    assert response.status_code == 400 and _error(response) == "invalid_grant"


async def test_a_reused_refresh_token_is_refused_and_ends_the_grant(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    tokens = await tokens_for(http, portal, patron)
    old = tokens["refresh_token"]
    rotated = await refresh(http, portal, old)
    assert rotated.status_code == 200
    new = rotated.json()["refresh_token"]
    assert new != old

    reuse = await refresh(http, portal, old)
    assert reuse.status_code == 400 and _error(reuse) == "invalid_grant"
    # Whoever holds the newer token (perhaps the thief) is cut off too.
    after = await refresh(http, portal, new)
    assert after.status_code == 400 and _error(after) == "invalid_grant"


async def test_tokens_presented_by_another_client_are_refused(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    vendor = await register(services, "E-books", "https://ebooks.example.com/cb")
    tokens = await tokens_for(http, portal, patron)

    stolen = await refresh(http, vendor, tokens["refresh_token"])
    assert stolen.status_code == 400 and _error(stolen) == "invalid_grant"
    introspection = await http.post(
        "/introspect", auth=vendor.auth, data={"token": tokens["access_token"]}
    )
    assert introspection.json() == {"active": False}
    revocation = await http.post(
        "/revoke", auth=vendor.auth, data={"token": tokens["refresh_token"]}
    )
    assert revocation.status_code == 400 and _error(revocation) == "unauthorized_client"
    # And the rightful client's token still works after the attempts.
    own = await refresh(http, portal, tokens["refresh_token"])
    assert own.status_code == 200


async def test_repeated_parameters_are_refused(
    http: httpx.AsyncClient, portal: RegisteredClient
) -> None:
    response = await http.post(
        "/token",
        auth=portal.auth,
        content=urlencode([("grant_type", "refresh_token"), ("grant_type", "refresh_token")]),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400 and _error(response) == "invalid_request"


async def test_unknown_grant_types_are_refused(
    http: httpx.AsyncClient, portal: RegisteredClient
) -> None:
    response = await http.post("/token", auth=portal.auth, data={"grant_type": "password"})
    assert response.status_code == 400 and _error(response) == "unsupported_grant_type"


@pytest.mark.parametrize(
    ("change", "standing"),
    [({"blocked": True}, "blocked"), ({"expires": "2001-01-01"}, "expired")],
)
async def test_a_card_blocked_or_expired_since_sign_in_can_no_longer_refresh(
    http: httpx.AsyncClient,
    portal: RegisteredClient,
    patron: Resident,
    services: Services,
    change: dict[str, object],
    standing: str,
) -> None:
    tokens = (
        await refresh(http, portal, (await tokens_for(http, portal, patron))["refresh_token"])
    ).json()
    async with services.database.transaction() as connection:
        await connection.execute(
            update(patrons).where(patrons.c.card == patron.card).values(**change)
        )
    refreshed = await refresh(http, portal, tokens["refresh_token"])
    assert refreshed.status_code == 400 and _error(refreshed) == "invalid_grant"
    # The client is not told why: that is the resident's business with the library.
    assert standing not in refreshed.text
    # The whole sign-in is over, and the audit trail says why.
    assert (await userinfo(http, tokens["access_token"])).status_code == 401
    (refused,) = [e async for e in services.audit.entries() if e.event == "token.refresh_refused"]
    assert refused.detail["card_standing"] == standing
    assert refused.client_id == portal.client_id and refused.patron_ref
