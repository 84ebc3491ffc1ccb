"""A tiny relying party inside the demo, so `make demo` shows a whole sign-in round trip:
it sends the browser to /authorize with PKCE, then redeems the code at /token and calls
/userinfo over real HTTP, exactly as a council portal would."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from libgate.web._pages import error_page, render

DEMO_COOKIE = "libgate_demo_rp"
DEMO_SCOPES = "openid profile email library"


@dataclass(frozen=True)
class DemoRelyingParty:
    client_id: str
    client_secret: str
    issuer: str

    @property
    def redirect_uri(self) -> str:
        return f"{self.issuer}/demo/callback"

    @property
    def start_link(self) -> str:
        return f"{self.issuer}/demo/start"

    async def start(self, request: Request) -> Response:
        verifier = secrets.token_urlsafe(48)
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = urlencode(
            {
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "response_type": "code",
                "scope": DEMO_SCOPES,
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            }
        )
        response = RedirectResponse(f"/authorize?{query}", status_code=303)
        response.set_cookie(
            DEMO_COOKIE, json.dumps([state, verifier]), httponly=True, samesite="lax", path="/demo"
        )
        return response

    async def callback(self, request: Request) -> Response:
        try:
            state, verifier = json.loads(request.cookies.get(DEMO_COOKIE, "[]"))
        except ValueError:
            state = verifier = None
        if request.query_params.get("error"):
            return error_page(
                request,
                "The demo service was not signed in",
                request.query_params.get("error_description", ""),
            )
        if not state or request.query_params.get("state") != state:
            return error_page(request, "Demo sign-in failed", "The state did not match.")
        async with httpx.AsyncClient(timeout=10) as http:
            tokens = await http.post(
                f"{self.issuer}/token",
                auth=(self.client_id, self.client_secret),
                data={
                    "grant_type": "authorization_code",
                    "code": request.query_params.get("code", ""),
                    "redirect_uri": self.redirect_uri,
                    "code_verifier": verifier,
                },
            )
            if tokens.status_code != 200:
                return error_page(request, "Demo sign-in failed", tokens.text)
            body = tokens.json()
            info = await http.get(
                f"{self.issuer}/userinfo",
                headers={"Authorization": f"Bearer {body['access_token']}"},
            )
        payload = body["id_token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        logout = urlencode({"id_token_hint": body["id_token"]})
        return render(
            request,
            "demo_result.html",
            {
                "id_token_claims": json.dumps(claims, indent=2),
                "userinfo": json.dumps(info.json(), indent=2),
                "logout_link": f"/logout?{logout}",
            },
        )

    def routes(self) -> list[Route]:
        return [Route("/demo/start", self.start), Route("/demo/callback", self.callback)]
