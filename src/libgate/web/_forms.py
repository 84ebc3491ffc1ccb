"""CSRF protection for libgate's forms: a random value in an HttpOnly cookie, and in each
form an HMAC of it, so a page on another site can neither read nor forge the pair."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

CSRF_COOKIE = "libgate_csrf"


def _token(key: bytes, cookie_value: str) -> str:
    return hmac.new(key, cookie_value.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request, response_cookies: dict[str, str]) -> str:
    """The form token for this browser, creating its cookie value when it has none."""
    cookie_value = request.cookies.get(CSRF_COOKIE) or response_cookies.get(CSRF_COOKIE)
    if not cookie_value:
        cookie_value = secrets.token_urlsafe(24)
        response_cookies[CSRF_COOKIE] = cookie_value
    return _token(request.app.state.services.form_key, cookie_value)


def csrf_valid(request: Request, presented: str | None) -> bool:
    cookie_value = request.cookies.get(CSRF_COOKIE)
    if not cookie_value or not presented:
        return False
    return hmac.compare_digest(_token(request.app.state.services.form_key, cookie_value), presented)


def set_cookies(response: Response, cookies: dict[str, str], *, secure: bool) -> None:
    for name, value in cookies.items():
        response.set_cookie(name, value, httponly=True, samesite="lax", secure=secure, path="/")
