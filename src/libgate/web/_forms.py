"""libgate's cookies, and CSRF protection for its forms: a random value in an HttpOnly
cookie, and in each form an HMAC of it, so a page on another site can neither read nor
forge the pair.

Over HTTPS the cookies' names carry the ``__Host-`` prefix: browsers then accept them only
from libgate's own host, so a page on a sibling subdomain of the council's domain cannot
plant a session or a form token of its choosing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "libgate_session"
CSRF_COOKIE = "libgate_csrf"


def is_https(request: Request) -> bool:
    return bool(request.app.state.services.settings.https)


def _named(name: str, secure: bool) -> str:
    return f"__Host-{name}" if secure else name


def cookie(request: Request, name: str) -> str | None:
    """The value of libgate's cookie ``name`` (SESSION_COOKIE, CSRF_COOKIE), if sent."""
    return request.cookies.get(_named(name, is_https(request)))


def set_cookies(response: Response, request: Request, cookies: dict[str, str]) -> None:
    secure = is_https(request)
    for name, value in cookies.items():
        response.set_cookie(
            _named(name, secure), value, httponly=True, samesite="lax", secure=secure, path="/"
        )


def delete_cookie(response: Response, request: Request, name: str) -> None:
    secure = is_https(request)
    response.delete_cookie(_named(name, secure), path="/", secure=secure, httponly=True)


def new_form_key() -> dict[str, str]:
    """A new CSRF cookie value, to set at sign-in: form tokens from before stop working."""
    return {CSRF_COOKIE: secrets.token_urlsafe(24)}


def _token(key: bytes, cookie_value: str) -> str:
    return hmac.new(key, cookie_value.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request, response_cookies: dict[str, str]) -> str:
    """The form token for this browser, creating its cookie value when it has none."""
    cookie_value = cookie(request, CSRF_COOKIE) or response_cookies.get(CSRF_COOKIE)
    if not cookie_value:
        cookie_value = new_form_key()[CSRF_COOKIE]
        response_cookies[CSRF_COOKIE] = cookie_value
    return _token(request.app.state.services.form_key, cookie_value)


def csrf_valid(request: Request, presented: str | None) -> bool:
    cookie_value = cookie(request, CSRF_COOKIE)
    if not cookie_value or not presented:
        return False
    return hmac.compare_digest(_token(request.app.state.services.form_key, cookie_value), presented)
