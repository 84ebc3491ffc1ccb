"""A resident in a real Chromium, against a real ``libgate serve``: signing in to a service
with card and PIN by keyboard, consenting, managing what they share, and signing out.

The database is prepared from the test process (patrons, the relying party) and shared with
the server, on SQLite and on PostgreSQL. Every page is checked for accessibility basics and
kept as a screenshot in ``test-artifacts/screenshots/``.

Run them alone with ``.venv/bin/python -m pytest -m browser``. With axe-core installed
(``npm ci --prefix tests/web``) every page also passes axe's WCAG 2.1 A/AA rules."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from libgate.services import Services
from tests.conftest import RegisteredClient, Resident, register
from tests.support import pins
from tests.support.browser import (
    Callback,
    Screenshots,
    accessibility_problems,
    callback_server,
    chromium,
    focused_text,
    missing_browser,
    new_page,
    require,
    safe_name,
    tab_to,
)
from tests.support.flow import FlowResult, authorize_url, query_of, refresh, tokens_from, userinfo
from tests.support.servers import LiveServer, live_server

if TYPE_CHECKING:
    from playwright.async_api import Browser, Locator, Page, Response

pytestmark = pytest.mark.browser

SCOPE = "openid profile email library"
WRONG_CARD_OR_PIN = "The card number or PIN is not right"


@pytest.fixture(autouse=True)
def _chromium_available() -> None:
    # Before any server starts: skip (or, under CI, fail) at once without a browser.
    require(missing_browser())


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
def callback() -> Iterator[Callback]:
    with callback_server("Council portal") as server:
        yield server


@pytest.fixture
async def client(services: Services, callback: Callback) -> RegisteredClient:
    """The council portal, registered with its real callback on 127.0.0.1."""
    return await register(
        services,
        name="Council portal",
        redirect_uri=callback.url("/callback"),
        post_logout_redirect_uris=[callback.url("/signed-out")],
    )


@pytest.fixture
def libgate(
    database_url: str, services: Services, patron: Resident, client: RegisteredClient, log_dir: Path
) -> Iterator[LiveServer]:
    """``libgate serve`` on the database the test prepared (its instance secret included)."""
    with live_server(database_url, log_dir) as server:
        yield server


@pytest.fixture
async def rp(libgate: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """The relying party's back channel to libgate."""
    async with httpx.AsyncClient(base_url=libgate.base_url, timeout=10) as back_channel:
        yield back_channel


@pytest.fixture
def shots(artifacts: Path, request: pytest.FixtureRequest) -> Screenshots:
    return Screenshots(artifacts / "screenshots" / safe_name(request.node.name))


# ---- steps a resident takes --------------------------------------------------------------


async def heading(page: Page) -> str:
    return (await page.locator("h1").inner_text()).strip()


async def assert_accessible(page: Page) -> None:
    problems = await accessibility_problems(page)
    assert problems == [], f"{page.url}: {problems}"


async def press_enter_to_submit(page: Page) -> Response:
    """Submit the focused form with Enter; libgate's answer to the POST, once the page that
    follows it has loaded."""
    async with (
        page.expect_navigation(),
        page.expect_response(lambda r: r.request.method == "POST") as posted,
    ):
        await page.keyboard.press("Enter")
    return await posted.value


async def click_through(page: Page, control: Locator) -> None:
    """Click a button or link and wait for the page it leads to."""
    async with page.expect_navigation():
        await control.click()


async def land_on(page: Page, prefix: str) -> dict[str, str]:
    """Wait for the browser to arrive at ``prefix``; the query it arrived with."""
    await page.wait_for_url(lambda url: url.startswith(prefix))
    await page.wait_for_load_state()
    return query_of(page.url)


async def start_sign_in(
    page: Page, libgate: LiveServer, client: RegisteredClient, **extra: str
) -> tuple[str, str, str]:
    """The service sends the browser to libgate's authorization endpoint."""
    path, verifier, state, nonce = authorize_url(
        client.client_id, client.redirect_uri, SCOPE, **extra
    )
    await page.goto(libgate.base_url + path)
    return verifier, state, nonce


async def fill_sign_in(page: Page, card: str, pin: str) -> None:
    await page.get_by_label("Library card number").fill(card)
    await page.get_by_label("PIN", exact=True).fill(pin)
    await click_through(page, page.get_by_role("button", name="Sign in"))


async def signed_in_to_portal(
    page: Page,
    libgate: LiveServer,
    client: RegisteredClient,
    patron: Resident,
    rp: httpx.AsyncClient,
) -> dict[str, Any]:
    """The whole round trip, quickly (the keyboard test walks it step by step)."""
    verifier, state, nonce = await start_sign_in(page, libgate, client)
    await fill_sign_in(page, patron.card, patron.pin)
    await page.get_by_role("button", name="Allow", exact=True).click()
    await land_on(page, client.redirect_uri)
    return await tokens_from(rp, client, FlowResult(page.url, verifier, state, nonce))


async def silent_sign_in(
    page: Page, libgate: LiveServer, client: RegisteredClient
) -> dict[str, str]:
    """What a service learns when it asks without showing libgate's pages (prompt=none)."""
    await start_sign_in(page, libgate, client, prompt="none")
    return await land_on(page, client.redirect_uri)


# ---- the specifications ------------------------------------------------------------------


async def test_resident_signs_in_by_keyboard_after_a_wrong_pin_and_the_service_gets_their_details(
    browser: Browser,
    libgate: LiveServer,
    client: RegisteredClient,
    patron: Resident,
    callback: Callback,
    rp: httpx.AsyncClient,
    shots: Screenshots,
) -> None:
    page = await new_page(browser)
    verifier, state, nonce = await start_sign_in(page, libgate, client)

    # libgate asks for the card, naming the service that asked.
    assert re.fullmatch(rf"{re.escape(libgate.base_url)}/signin/[\w-]+", page.url), page.url
    assert await heading(page) == "Sign in with your library card"
    assert "to continue to Council portal" in await page.locator("main").inner_text()
    await assert_accessible(page)
    await shots.take(page, "signin")

    # Keyboard only: the first Tab offers the skip link, then on to the card number.
    await page.keyboard.press("Tab")
    assert await focused_text(page) == "Skip to main content"
    await tab_to(page, "card")
    await page.keyboard.type(patron.card)
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.id") == "pin"
    await page.keyboard.type(pins.new_pin())  # a wrong PIN
    refused = await press_enter_to_submit(page)

    # One message that does not say whether the card exists; the card is kept, the PIN not.
    assert refused.status == 401
    summary = page.get_by_role("alert")
    assert WRONG_CARD_OR_PIN in await summary.inner_text()
    assert await page.locator(".error-summary").get_attribute("role") == "alert"
    assert await page.get_by_label("Library card number").input_value() == patron.card
    assert await page.get_by_label("PIN", exact=True).input_value() == ""
    await assert_accessible(page)
    await shots.take(page, "signin-wrong-pin")

    await tab_to(page, "pin")
    await page.keyboard.type(patron.pin)
    accepted = await press_enter_to_submit(page)
    assert accepted.status == 303
    await page.wait_for_url("**/consent/*")

    # The resident is asked before anything is shared, in plain words.
    assert "/consent/" in page.url, page.url
    assert await heading(page) == "Share your details with Council portal?"
    asked_for = await page.locator("ul.scopes li").all_inner_texts()
    assert asked_for == [
        "your email address",
        "your membership status, expiry date, home library and borrower category",
        "your name",
    ]
    await assert_accessible(page)
    await shots.take(page, "consent")
    await page.get_by_role("button", name="Allow", exact=True).click()

    # Back at the service, with a code for it alone (RFC 9207: the issuer says who sent it).
    landed = await land_on(page, client.redirect_uri)
    assert set(landed) == {"code", "state", "iss"}
    assert landed["state"] == state
    assert landed["iss"] == libgate.base_url
    assert await heading(page) == "Back at Council portal"
    assert callback.received[0].startswith("/callback?"), callback.received
    assert patron.pin not in page.url

    tokens = await tokens_from(rp, client, FlowResult(page.url, verifier, state, nonce))
    keys = KeySet.import_key_set((await rp.get("/jwks")).json())
    id_token = jwt.decode(tokens["id_token"], keys).claims
    assert id_token["iss"] == libgate.base_url
    assert id_token["aud"] == client.client_id
    assert id_token["nonce"] == nonce
    assert patron.card not in id_token["sub"]

    details = await userinfo(rp, tokens["access_token"])
    assert details.status_code == 200, details.text
    assert details.json() == {
        "sub": id_token["sub"],
        "name": patron.name,
        "email": patron.email,
        "email_verified": False,
        "library_status": "active",
        "library_expires": "2030-01-31",
        "library_branch": "Central",
        "library_category": "ADULT",
    }


async def test_resident_stops_sharing_from_their_account_and_the_service_loses_access(
    browser: Browser,
    libgate: LiveServer,
    client: RegisteredClient,
    patron: Resident,
    rp: httpx.AsyncClient,
    shots: Screenshots,
) -> None:
    tokens = await signed_in_to_portal(await new_page(browser), libgate, client, patron, rp)
    refreshed = await refresh(rp, client, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    refresh_token = refreshed.json()["refresh_token"]

    # Later, on another device, the resident opens their account and signs in to see it.
    page = await new_page(browser)
    await page.goto(f"{libgate.base_url}/account")
    assert page.url == f"{libgate.base_url}/account/signin"
    assert "to continue to your library account" in await page.locator("main").inner_text()
    await assert_accessible(page)
    await shots.take(page, "account-signin")
    await fill_sign_in(page, patron.card, patron.pin)

    assert page.url == f"{libgate.base_url}/account"
    assert await heading(page) == "Your account"
    row = page.locator("tbody tr", has_text="Council portal")
    assert await row.count() == 1
    cells = await row.locator("td").all_inner_texts()
    assert cells[:2] == [
        "Council portal",
        "your email address; your membership status, expiry date, home library and borrower "
        "category; your name",
    ]
    await assert_accessible(page)
    await shots.take(page, "account")

    await click_through(page, page.get_by_role("button", name="Stop sharing with Council portal"))

    assert page.url == f"{libgate.base_url}/account?withdrawn=1"
    status = page.get_by_role("status")
    assert await status.inner_text() == "You no longer share your details with that service."
    assert await page.locator("tbody tr").count() == 0
    assert (
        "You do not share any details with other services."
        in await page.locator("main").inner_text()
    )
    await assert_accessible(page)
    await shots.take(page, "account-withdrawn")

    # The service's tokens stop working at once.
    refused = await refresh(rp, client, refresh_token)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_grant"
    assert (await userinfo(rp, tokens["access_token"])).status_code == 401


async def test_service_asks_to_sign_the_resident_out_and_they_confirm_before_it_happens(
    browser: Browser,
    libgate: LiveServer,
    client: RegisteredClient,
    patron: Resident,
    callback: Callback,
    rp: httpx.AsyncClient,
    shots: Screenshots,
) -> None:
    page = await new_page(browser)
    await signed_in_to_portal(page, libgate, client, patron, rp)
    assert "code" in await silent_sign_in(page, libgate, client)  # signed in at libgate

    query = urlencode(
        {
            "client_id": client.client_id,
            "post_logout_redirect_uri": callback.url("/signed-out"),
            "state": "bye-42",
        }
    )
    await page.goto(f"{libgate.base_url}/logout?{query}")

    # Without an ID token to prove who asks, libgate asks the resident first.
    assert await heading(page) == "Sign out?"
    assert "Council portal asked to sign you out." in await page.locator("main").inner_text()
    await assert_accessible(page)
    await shots.take(page, "logout-confirm")
    await page.get_by_role("button", name="Sign out").click()

    back = await land_on(page, callback.url("/signed-out"))
    assert back == {"state": "bye-42"}
    assert not [c for c in await page.context.cookies() if c["name"] == "libgate_session"]
    answer = await silent_sign_in(page, libgate, client)
    assert answer["error"] == "login_required"
    assert "code" not in answer


async def test_resident_signs_out_from_their_account_page(
    browser: Browser,
    libgate: LiveServer,
    patron: Resident,
    shots: Screenshots,
) -> None:
    page = await new_page(browser)
    await page.goto(f"{libgate.base_url}/account")
    await fill_sign_in(page, patron.card, patron.pin)
    assert page.url == f"{libgate.base_url}/account"
    assert (
        "You do not share any details with other services."
        in await page.locator("main").inner_text()
    )

    await click_through(page, page.get_by_role("button", name="Sign out"))

    assert page.url == f"{libgate.base_url}/signed-out"
    assert await heading(page) == "You have signed out"
    await assert_accessible(page)
    await shots.take(page, "signed-out")

    await click_through(page, page.get_by_role("link", name="Sign in again"))
    assert page.url == f"{libgate.base_url}/account/signin"
