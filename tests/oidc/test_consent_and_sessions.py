"""Residents consent once per service, can withdraw, and sign in once for many services."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import select, update

from libgate.db.tables import browser_sessions
from libgate.services import Services
from tests.conftest import RegisteredClient, Resident, register
from tests.support.flow import (
    authorize_url,
    csrf_of,
    query_of,
    refresh,
    sign_in,
    submit_card,
    tokens_for,
    userinfo,
)


async def test_consent_is_remembered_and_the_next_sign_in_goes_straight_back(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    await sign_in(http, portal, patron, scope="openid profile")
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid profile")
    again = await http.get(url)
    assert again.headers["location"].startswith(portal.redirect_uri)
    events = [entry.event async for entry in services.audit.entries()]
    assert events.count("consent.given") == 1


async def test_a_resident_who_declines_sends_access_denied_back(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    flow = await sign_in(http, portal, patron, consent=False)
    assert flow.params["error"] == "access_denied" and flow.params["state"] == flow.state


async def test_openid_alone_needs_no_consent_screen(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    flow = await sign_in(http, portal, patron, scope="openid")
    assert "code" in flow.params


async def test_one_sign_in_serves_a_second_service(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    await sign_in(http, portal, patron, scope="openid")
    vendor = await register(services, "E-books", "https://ebooks.example.com/cb")
    url, *_ = authorize_url(vendor.client_id, vendor.redirect_uri, "openid")
    response = await http.get(url)
    assert "code" in query_of(response.headers["location"])


async def test_prompt_none_without_a_session_answers_login_required(
    http: httpx.AsyncClient, portal: RegisteredClient
) -> None:
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid", prompt="none")
    response = await http.get(url)
    assert query_of(response.headers["location"])["error"] == "login_required"


async def test_prompt_none_without_consent_answers_consent_required(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    await sign_in(http, portal, patron, scope="openid")
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid email", prompt="none")
    response = await http.get(url)
    assert query_of(response.headers["location"])["error"] == "consent_required"


async def test_prompt_login_asks_for_the_card_again(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    await sign_in(http, portal, patron, scope="openid")
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid", prompt="login")
    assert (await http.get(url)).headers["location"].startswith("/signin/")


@pytest.mark.parametrize("fresh", [{"prompt": "login"}, {"max_age": "0"}], ids=["login", "max-age"])
async def test_the_consent_screen_cannot_skip_the_sign_in_a_service_asked_for(
    http: httpx.AsyncClient,
    portal: RegisteredClient,
    patron: Resident,
    services: Services,
    fresh: dict[str, str],
) -> None:
    # Someone signed in at this (shared) computer a minute ago, and is still signed in.
    await sign_in(http, portal, patron, scope="openid")
    async with services.database.transaction() as connection:
        await connection.execute(update(browser_sessions).values(auth_time=time.time() - 60))
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid email", **fresh)
    signin = (await http.get(url)).headers["location"]
    assert signin.startswith("/signin/")
    consent = signin.replace("/signin/", "/consent/")
    assert (await http.get(consent)).headers["location"] == signin
    page = await http.get("/account")  # any page of libgate's gives a form token
    posted = await http.post(consent, data={"csrf": csrf_of(page), "decision": "allow"})
    assert posted.headers["location"] == signin  # no code
    # Signing in again, as asked, leads on to the consent screen and back to the service.
    response = await submit_card(http, signin, patron.card, patron.pin)
    assert response.headers["location"] == consent
    page = await http.get(consent)
    posted = await http.post(consent, data={"csrf": csrf_of(page), "decision": "allow"})
    assert "code" in query_of(posted.headers["location"])


async def test_a_client_gets_only_the_scopes_its_registration_allows(
    http: httpx.AsyncClient, services: Services, patron: Resident
) -> None:
    vendor = await register(services, "Newspapers", "https://news.example.com/cb", scopes=[])
    tokens = await tokens_for(http, vendor, patron, scope="openid profile email library")
    assert tokens["scope"] == "openid"
    assert set((await userinfo(http, tokens["access_token"])).json()) == {"sub"}


async def test_withdrawing_consent_revokes_the_services_tokens(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    tokens = await tokens_for(http, portal, patron)
    assert await services.provider.withdraw_consent(patron.card, portal.client_id, "10.0.0.1")
    refreshed = await refresh(http, portal, tokens["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"
    events = [entry.event async for entry in services.audit.entries()]
    assert "consent.withdrawn" in events


async def test_pairwise_subjects_differ_between_services_and_never_show_the_card(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    vendor = await register(services, "E-books", "https://ebooks.example.com/cb")
    subjects = []
    for client in (portal, vendor):
        tokens = await tokens_for(http, client, patron, scope="openid")
        subjects.append((await userinfo(http, tokens["access_token"])).json()["sub"])
    assert subjects[0] != subjects[1]
    assert all(patron.card not in subject for subject in subjects)


async def test_rp_initiated_logout_with_an_id_token_hint_returns_to_the_service(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    tokens = await tokens_for(http, portal, patron, scope="openid")
    response = await http.get(
        "/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://portal.example.org/signed-out",
            "state": "s1",
        },
    )
    assert response.headers["location"] == "https://portal.example.org/signed-out?state=s1"
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid", prompt="none")
    assert query_of((await http.get(url)).headers["location"])["error"] == "login_required"
    assert "signout" in [entry.event async for entry in services.audit.entries()]


async def test_logout_refuses_an_unregistered_return_address(
    http: httpx.AsyncClient, portal: RegisteredClient
) -> None:
    response = await http.get(
        "/logout",
        params={
            "client_id": portal.client_id,
            "post_logout_redirect_uri": "https://evil.example.net/",
        },
    )
    assert response.status_code == 400 and "location" not in response.headers


async def test_logout_without_a_hint_asks_the_resident_first(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    await sign_in(http, portal, patron, scope="openid")
    page = await http.get("/logout")
    assert page.status_code == 200 and "Sign out?" in page.text
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid", prompt="none")
    assert "code" in query_of((await http.get(url)).headers["location"])


async def test_an_idle_session_ends_and_the_resident_signs_in_again(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    await sign_in(http, portal, patron, scope="openid")
    idle = services.settings.sessions.idle_timeout
    async with services.database.transaction() as connection:
        await connection.execute(update(browser_sessions).values(last_seen=time.time() - idle - 1))
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid")
    assert (await http.get(url)).headers["location"].startswith("/signin/")


async def test_a_resident_who_keeps_using_the_session_stays_signed_in(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    await sign_in(http, portal, patron, scope="openid")
    idle = services.settings.sessions.idle_timeout
    nearly_idle = time.time() - idle + 30
    async with services.database.transaction() as connection:
        await connection.execute(update(browser_sessions).values(last_seen=nearly_idle))
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid")
    assert not (await http.get(url)).headers["location"].startswith("/signin/")
    async with services.database.read() as connection:
        last_seen = await connection.scalar(select(browser_sessions.c.last_seen))
    assert last_seen > nearly_idle + 60  # the idle timer started again


async def test_a_hint_from_another_session_does_not_sign_the_resident_out_unasked(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, app: object
) -> None:
    tokens = await tokens_for(http, portal, patron, scope="openid")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=str(http.base_url)) as other:
        await sign_in(other, portal, patron, scope="openid")
        page = await other.get("/logout", params={"id_token_hint": tokens["id_token"]})
    assert page.status_code == 200 and "Sign out?" in page.text
