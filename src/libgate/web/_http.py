"""Small HTTP helpers shared by libgate's pages and endpoints."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from libgate.oidc import OAuthError

MAX_FORM_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class FormError(Exception):
    pass


def client_ip(request: Request) -> str:
    """The resident's address: the peer, or the last hop a trusted proxy names."""
    peer = request.client.host if request.client else "unknown"
    trusted: list[str] = request.app.state.services.settings.trusted_proxies
    # Every header line, in order: a client can send its own line before the proxy's (as
    # HAProxy's forwardfor adds one), and only the proxy's last entry is to be believed.
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    if forwarded.strip() and peer in trusted:
        return forwarded.split(",")[-1].strip()
    return peer


def single_valued(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """OAuth parameters must not repeat (RFC 6749 §3.1); refuse a request where one does."""
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            raise OAuthError("invalid_request", f"parameter {name} was given more than once")
        values[name] = value
    return values


async def read_capped(request: Request, max_bytes: int) -> bytes | None:
    """The request's body, or None as soon as it is longer than ``max_bytes``: read as it
    arrives, so a client that sends more (with or without saying so) is not waited for."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            return None
    return body


async def read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "send the body as application/x-www-form-urlencoded")
    body = await read_capped(request, MAX_FORM_BYTES)
    if body is None:
        raise OAuthError("invalid_request", "the request body is too large", status=413)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise OAuthError("invalid_request", "the request body is not UTF-8") from exc
    return single_valued(pairs)


def oauth_error_response(error: OAuthError, **headers: str) -> JSONResponse:
    return JSONResponse(error.as_dict(), status_code=error.status, headers={**NO_STORE, **headers})


def json_response(data: Any) -> JSONResponse:
    return JSONResponse(data, headers=NO_STORE)
