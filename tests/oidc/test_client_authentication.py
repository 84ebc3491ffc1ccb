"""Clients prove who they are at the token endpoint the way they registered:
client_secret_basic, client_secret_post, private_key_jwt, or (public clients) PKCE alone."""

from __future__ import annotations

import secrets
import time

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from libgate.services import Services
from tests.conftest import ISSUER, RegisteredClient, Resident, register
from tests.support.flow import authorize_url, code_grant, sign_in, tokens_for

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


async def test_client_secret_post(
    http: httpx.AsyncClient, services: Services, patron: Resident
) -> None:
    client = await register(services, auth_method="client_secret_post")
    flow = await sign_in(http, client, patron)
    data = code_grant(client, flow, client_id=client.client_id, client_secret=client.secret)
    assert (await http.post("/token", data=data)).status_code == 200


async def test_a_client_must_use_the_method_it_registered(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    flow = await sign_in(http, portal, patron)
    data = code_grant(portal, flow, client_id=portal.client_id, client_secret=portal.secret)
    response = await http.post("/token", data=data)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


async def _register_key_holder(services: Services) -> tuple[ECKey, RegisteredClient]:
    """E-magazines, registered for private_key_jwt with the public half of its own key."""
    key = ECKey.generate_key("P-256", parameters={"kid": "vendor-key"})
    client = await register(
        services,
        "E-magazines",
        "https://emags.example.com/cb",
        auth_method="private_key_jwt",
        jwks={"keys": [key.as_dict(private=False)]},
    )
    return key, client


def _assertion(key: ECKey, client_id: str, *, audience: str = f"{ISSUER}/token") -> dict[str, str]:
    """The client_assertion form fields of a private_key_jwt client, signed with ``key``."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(12),
    }
    return {
        "client_assertion_type": JWT_BEARER,
        "client_assertion": jwt.encode({"alg": "ES256", "kid": "vendor-key"}, claims, key),
    }


async def test_private_key_jwt_signs_the_client_in_once_per_assertion(
    http: httpx.AsyncClient, services: Services, patron: Resident
) -> None:
    key, client = await _register_key_holder(services)
    flow = await sign_in(http, client, patron)
    assertion = _assertion(key, client.client_id)
    data = code_grant(client, flow, **assertion)
    assert (await http.post("/token", data=data)).status_code == 200

    flow = await sign_in(http, client, patron)
    replayed = code_grant(client, flow, **assertion)
    response = await http.post("/token", data=replayed)
    assert response.status_code == 401 and "already used" in response.json()["error_description"]


async def test_private_key_jwt_signed_by_another_key_is_refused(
    http: httpx.AsyncClient, services: Services, patron: Resident
) -> None:
    _, client = await _register_key_holder(services)
    impostor = ECKey.generate_key("P-256", parameters={"kid": "vendor-key"})
    flow = await sign_in(http, client, patron)
    data = code_grant(client, flow, **_assertion(impostor, client.client_id))
    response = await http.post("/token", data=data)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


async def test_private_key_jwt_for_another_audience_is_refused(
    http: httpx.AsyncClient, services: Services, patron: Resident
) -> None:
    key, client = await _register_key_holder(services)
    flow = await sign_in(http, client, patron)
    data = code_grant(client, flow, **_assertion(key, client.client_id, audience="https://other"))
    assert (await http.post("/token", data=data)).status_code == 401


async def test_public_clients_must_use_pkce(
    http: httpx.AsyncClient, services: Services, patron: Resident
) -> None:
    app_client = await register(
        services, "Library app", "http://127.0.0.1:7000/cb", auth_method="none"
    )
    url, *_ = authorize_url(app_client.client_id, app_client.redirect_uri, "openid")
    without_pkce = url.replace("code_challenge", "x_challenge")
    response = await http.get(without_pkce)
    assert "error=invalid_request" in response.headers["location"]

    flow = await sign_in(http, app_client, patron)
    data = code_grant(app_client, flow, client_id=app_client.client_id)
    tokens = (await http.post("/token", data=data)).json()
    # Public clients get a refresh token only when they ask for offline access.
    assert "access_token" in tokens and "refresh_token" not in tokens


async def test_a_client_can_ask_for_rs256_id_tokens(
    http: httpx.AsyncClient, services: Services, patron: Resident
) -> None:
    client = await register(
        services, "Old platform", "https://old.example.com/cb", id_token_alg="RS256"
    )
    tokens = await tokens_for(http, client, patron)
    keys = KeySet.import_key_set((await http.get("/jwks")).json())
    assert jwt.decode(tokens["id_token"], keys).header["alg"] == "RS256"
