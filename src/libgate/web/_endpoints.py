"""The OpenID Provider's machine-facing endpoints: discovery, JWKS, token, userinfo,
revocation and introspection. JSON in the shapes the RFCs give."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from libgate.oidc import InvalidToken, OAuthError, OpenIDProvider
from libgate.web._http import client_ip, json_response, oauth_error_response, read_form


def _provider(request: Request) -> OpenIDProvider:
    provider: OpenIDProvider = request.app.state.services.provider
    return provider


async def discovery(request: Request) -> Response:
    return JSONResponse(
        request.app.state.discovery, headers={"Cache-Control": "public, max-age=300"}
    )


async def jwks(request: Request) -> Response:
    return JSONResponse(
        await _provider(request).keys.jwks(), headers={"Cache-Control": "public, max-age=60"}
    )


async def token(request: Request) -> Response:
    try:
        form = await read_form(request)
        result = await _provider(request).token(
            form, request.headers.get("authorization"), client_ip(request)
        )
    except OAuthError as exc:
        extra = (
            {"WWW-Authenticate": 'Basic realm="libgate", charset="UTF-8"'}
            if exc.status == 401
            else {}
        )
        return oauth_error_response(exc, **extra)
    return json_response(result)


def _bearer(request: Request, form: dict[str, str] | None) -> str:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    if form and form.get("access_token"):
        return form["access_token"]
    raise InvalidToken("no access token was presented")


async def userinfo(request: Request) -> Response:
    try:
        form = await read_form(request) if request.method == "POST" else None
        claims = await _provider(request).userinfo(_bearer(request, form), client_ip(request))
    except InvalidToken as exc:
        challenge = f'Bearer error="invalid_token", error_description="{exc.description}"'
        return oauth_error_response(exc, **{"WWW-Authenticate": challenge})
    except OAuthError as exc:
        return oauth_error_response(exc)
    return json_response(claims)


async def revoke(request: Request) -> Response:
    try:
        form = await read_form(request)
        await _provider(request).revoke(
            form, request.headers.get("authorization"), client_ip(request)
        )
    except OAuthError as exc:
        return oauth_error_response(exc)
    return Response(status_code=200, headers={"Cache-Control": "no-store"})


async def introspect(request: Request) -> Response:
    try:
        form = await read_form(request)
        result = await _provider(request).introspect(
            form, request.headers.get("authorization"), client_ip(request)
        )
    except OAuthError as exc:
        return oauth_error_response(exc)
    return json_response(result)


routes = [
    Route("/.well-known/openid-configuration", discovery),
    Route("/.well-known/oauth-authorization-server", discovery),
    Route("/jwks", jwks),
    Route("/token", token, methods=["POST"]),
    Route("/userinfo", userinfo, methods=["GET", "POST"]),
    Route("/revoke", revoke, methods=["POST"]),
    Route("/introspect", introspect, methods=["POST"]),
]
