"""The resident's pages: sign-in, consent, account, sign-out and errors."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from libgate.oidc import (
    SCOPE_DESCRIPTIONS,
    BrowserSession,
    InvalidRequest,
    OAuthError,
    OpenIDProvider,
    RedirectTo,
    ShowSignIn,
    Step,
    UnsafeRedirect,
)
from libgate.patrons import AuthFailure, SignInOutcome
from libgate.web._forms import (
    SESSION_COOKIE,
    cookie,
    csrf_token,
    csrf_valid,
    delete_cookie,
    new_form_key,
    set_cookies,
)
from libgate.web._http import NO_STORE, client_ip, read_form, single_valued

_FAILURE_MESSAGES = {
    # One message for an unknown card and a wrong PIN: never reveal which cards exist.
    AuthFailure.UNKNOWN_CARD: "The card number or PIN is not right. Check them and try again.",
    AuthFailure.BAD_PIN: "The card number or PIN is not right. Check them and try again.",
    AuthFailure.LOCKED_OUT: (
        "There have been too many tries with this card or from this device. "
        "Wait {minutes} and try again, or ask at any library."
    ),
    AuthFailure.BLOCKED: "There is a problem with your library card. Please contact your library.",
    AuthFailure.EXPIRED: "Your library card has expired. Please contact your library to renew it.",
    AuthFailure.UNAVAILABLE: "We cannot check library cards just now. Please try again shortly.",
}


def _provider(request: Request) -> OpenIDProvider:
    provider: OpenIDProvider = request.app.state.services.provider
    return provider


def _templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    cookies: dict[str, str] | None = None,
) -> Response:
    response = _templates(request).TemplateResponse(
        request,
        template,
        {"library": request.app.state.services.settings.library, **(context or {})},
        status_code=status,
        headers=NO_STORE,
    )
    set_cookies(response, request, cookies or {})
    return response


def error_page(request: Request, title: str, message: str, status: int = 400) -> Response:
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def _expired(request: Request) -> Response:
    return error_page(
        request,
        "This page has expired",
        "Go back to the service you were using and start signing in again.",
        status=404,
    )


def _forged(request: Request) -> Response:
    return error_page(
        request,
        "Please try again",
        "The form could not be accepted because it was out of date. Go back and send it again.",
    )


def _failure_message(outcome: SignInOutcome) -> str:
    assert outcome.failure is not None
    message = _FAILURE_MESSAGES[outcome.failure]
    if outcome.failure is AuthFailure.LOCKED_OUT and outcome.retry_after is not None:
        seconds = max(1, round(outcome.retry_after - time.time()))
        minutes = (seconds + 59) // 60
        message = message.format(minutes=f"{minutes} minute{'s' if minutes != 1 else ''}")
    return message


async def current_session(request: Request) -> BrowserSession | None:
    return await _provider(request).sessions.get(cookie(request, SESSION_COOKIE))


def _follow(request: Request, step: Step, cookies: dict[str, str] | None = None) -> Response:
    if isinstance(step, RedirectTo):
        target = step.url
    elif isinstance(step, ShowSignIn):
        target = f"/signin/{step.request_id}"
    else:
        target = f"/consent/{step.request_id}"
    response = RedirectResponse(target, status_code=303, headers=NO_STORE)
    set_cookies(response, request, cookies or {})
    return response


async def home(request: Request) -> Response:
    return render(request, "home.html", {"demo_link": request.app.state.demo_link})


async def authorize(request: Request) -> Response:
    try:
        if request.method == "POST":
            params = await read_form(request)
        else:
            params = single_valued(list(request.query_params.multi_items()))
        step = await _provider(request).authorize(params, await current_session(request))
    except UnsafeRedirect as exc:
        return error_page(request, "This service cannot sign you in", str(exc))
    except OAuthError as exc:
        return error_page(request, "This sign-in request is not valid", exc.description)
    return _follow(request, step)


def _signin_page(
    request: Request, action: str, client_name: str, *, error: str = "", card: str = ""
) -> Response:
    cookies: dict[str, str] = {}
    context = {
        "action": action,
        "client_name": client_name,
        "error": error,
        "card": card,
        "csrf": csrf_token(request, cookies),
    }
    return render(request, "signin.html", context, cookies=cookies, status=401 if error else 200)


async def signin(request: Request) -> Response:
    request_id = request.path_params["request_id"]
    provider = _provider(request)
    found = await provider.pending(request_id)
    if found is None:
        return _expired(request)
    _, client = found
    action = f"/signin/{request_id}"
    if request.method == "GET":
        return _signin_page(request, action, client.name)
    form = await request.form()
    if not csrf_valid(request, str(form.get("csrf", ""))):
        return _forged(request)
    card, pin = str(form.get("card", "")), str(form.get("pin", ""))
    result = await provider.sign_in(request_id, found, card, pin, client_ip(request))
    if result.step is None or result.cookie_value is None:
        return _signin_page(
            request, action, client.name, error=_failure_message(result.outcome), card=card
        )
    return _follow(request, result.step, {SESSION_COOKIE: result.cookie_value, **new_form_key()})


async def consent(request: Request) -> Response:
    request_id = request.path_params["request_id"]
    provider = _provider(request)
    found = await provider.pending(request_id)
    if found is None:
        return _expired(request)
    authorization, client = found
    session = await current_session(request)
    if session is None or not await provider.may_consent(request_id, session):
        # Not signed in, or not as freshly as the service asked (prompt=login, max_age).
        return RedirectResponse(f"/signin/{request_id}", status_code=303)
    if request.method == "GET":
        cookies: dict[str, str] = {}
        descriptions = [
            SCOPE_DESCRIPTIONS[s] for s in sorted(authorization.scopes) if s in SCOPE_DESCRIPTIONS
        ]
        return render(
            request,
            "consent.html",
            {
                "request_id": request_id,
                "client_name": client.name,
                "descriptions": descriptions,
                "csrf": csrf_token(request, cookies),
            },
            cookies=cookies,
        )
    form = await request.form()
    if not csrf_valid(request, str(form.get("csrf", ""))):
        return _forged(request)
    approved = form.get("decision") == "allow"
    redirect = await provider.decide_consent(request_id, session, approved, client_ip(request))
    return _expired(request) if redirect is None else _follow(request, redirect)


async def account(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/account/signin", status_code=303)
    provider = _provider(request)
    rows = []
    for granted in await provider.consents.list_for(session.card):
        client = await provider.clients.get(granted.client_id)
        rows.append(
            {
                "client_id": granted.client_id,
                "name": client.name if client else granted.client_id,
                "descriptions": [
                    SCOPE_DESCRIPTIONS[s] for s in sorted(granted.scopes) if s in SCOPE_DESCRIPTIONS
                ],
                "since": dt.datetime.fromtimestamp(granted.granted_at).strftime("%d %B %Y"),
            }
        )
    cookies: dict[str, str] = {}
    message = ""
    if request.query_params.get("withdrawn"):
        message = "You no longer share your details with that service."
    return render(
        request,
        "account.html",
        {"consents": rows, "csrf": csrf_token(request, cookies), "message": message},
        cookies=cookies,
    )


async def account_signin(request: Request) -> Response:
    action = "/account/signin"
    if request.method == "GET":
        return _signin_page(request, action, "your library account")
    form = await request.form()
    if not csrf_valid(request, str(form.get("csrf", ""))):
        return _forged(request)
    card = str(form.get("card", ""))
    outcome, cookie_value = await _provider(request).sign_in_to_account(
        card, str(form.get("pin", "")), client_ip(request)
    )
    if cookie_value is None:
        return _signin_page(
            request, action, "your library account", error=_failure_message(outcome), card=card
        )
    response = RedirectResponse("/account", status_code=303)
    set_cookies(response, request, {SESSION_COOKIE: cookie_value, **new_form_key()})
    return response


async def withdraw(request: Request) -> Response:
    session = await current_session(request)
    form = await request.form()
    if session is None or not csrf_valid(request, str(form.get("csrf", ""))):
        return _forged(request)
    await _provider(request).withdraw_consent(
        session.card, str(form.get("client_id", "")), client_ip(request)
    )
    return RedirectResponse("/account?withdrawn=1", status_code=303)


_LOGOUT_PARAMS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")


async def logout(request: Request) -> Response:
    """RP-Initiated Logout 1.0. The resident is signed out at once when the service's
    id_token_hint names this very session; otherwise libgate asks first, so another site
    cannot sign them out unawares."""
    provider = _provider(request)
    if request.method == "POST":
        form = await request.form()
        params = {k: str(form[k]) for k in _LOGOUT_PARAMS if k in form}
        confirmed = csrf_valid(request, str(form.get("csrf", "")))
    else:
        params = {k: request.query_params[k] for k in _LOGOUT_PARAMS if k in request.query_params}
        confirmed = False
    try:
        logout_request = await provider.logout_request(params)
    except InvalidRequest as exc:
        return error_page(request, "This sign-out request is not valid", exc.description)
    session = await current_session(request)
    if session is not None and not confirmed and not logout_request.names_session(session):
        cookies: dict[str, str] = {}
        client = logout_request.client
        return render(
            request,
            "logout.html",
            {
                "client_name": client.name if client else "",
                "carry": sorted(params.items()),
                "csrf": csrf_token(request, cookies),
            },
            cookies=cookies,
        )
    if session is not None:
        await provider.sign_out(
            cookie(request, SESSION_COOKIE), client_ip(request), logout_request.client
        )
    target = logout_request.target or "/signed-out"
    response = RedirectResponse(target, status_code=303, headers=NO_STORE)
    delete_cookie(response, request, SESSION_COOKIE)
    return response


async def signed_out(request: Request) -> Response:
    return render(request, "signed_out.html")


async def theme(request: Request) -> Response:
    colour = request.app.state.services.settings.library.primary_colour
    return Response(f":root {{ --primary: {colour}; }}\n", media_type="text/css")


routes = [
    Route("/", home),
    Route("/theme.css", theme),
    Route("/authorize", authorize, methods=["GET", "POST"]),
    Route("/signin/{request_id}", signin, methods=["GET", "POST"]),
    Route("/consent/{request_id}", consent, methods=["GET", "POST"]),
    Route("/account", account),
    Route("/account/signin", account_signin, methods=["GET", "POST"]),
    Route("/account/consents/withdraw", withdraw, methods=["POST"]),
    Route("/logout", logout, methods=["GET", "POST"]),
    Route("/signed-out", signed_out),
]
