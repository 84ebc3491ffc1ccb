"""libgate's cookies and form tokens: over HTTPS only libgate's own host can set them, and a
form token from before a sign-in stops working at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from libgate.config import Settings
from tests.conftest import RegisteredClient, Resident
from tests.support.flow import authorize_url, csrf_of, query_of, submit_card

HTTPS_ISSUER = "https://libgate.test"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        issuer=HTTPS_ISSUER,
        database_url=database_url,
        search={"local_index": str(tmp_path / "catalogue.db")},  # type: ignore[arg-type]
    )


@pytest.fixture
async def browser(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=HTTPS_ISSUER) as client:
        yield client


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each cookie the response sets: its name, and its attributes as written."""
    return {
        header.split("=", 1)[0]: header.split(";", 1)[1].lower()
        for header in response.headers.get_list("set-cookie")
    }


async def test_over_https_libgates_cookies_can_come_only_from_libgate_itself(
    browser: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid email")
    signin = (await browser.get(url)).headers["location"]
    page = await browser.get(signin)
    signed_in = await browser.post(
        signin, data={"csrf": csrf_of(page), "card": patron.card, "pin": patron.pin}
    )
    cookies = {**set_cookies(page), **set_cookies(signed_in)}
    assert set(cookies) == {"__Host-libgate_csrf", "__Host-libgate_session"}
    for attributes in cookies.values():
        # __Host-: Secure, Path=/ and no Domain, or browsers refuse the cookie.
        assert "secure" in attributes and "path=/" in attributes and "domain" not in attributes
        assert "httponly" in attributes and "samesite=lax" in attributes


async def test_a_form_token_from_before_signing_in_does_not_work_after_it(
    browser: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    url, *_ = authorize_url(portal.client_id, portal.redirect_uri, "openid email")
    signin = (await browser.get(url)).headers["location"]
    before = csrf_of(await browser.get(signin))
    consent = (await submit_card(browser, signin, patron.card, patron.pin)).headers["location"]
    assert consent.startswith("/consent/")
    for stale in (before, ""):
        refused = await browser.post(consent, data={"csrf": stale, "decision": "allow"})
        assert refused.status_code == 400 and "Please try again" in refused.text
    page = await browser.get(consent)
    allowed = await browser.post(consent, data={"csrf": csrf_of(page), "decision": "allow"})
    assert "code" in query_of(allowed.headers["location"])
