"""A relying party signs a resident in with the authorization code flow and PKCE."""

from __future__ import annotations

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import ISSUER, RegisteredClient, Resident
from tests.support.flow import redeem, sign_in, userinfo


async def test_resident_signs_in_and_the_portal_gets_verified_tokens(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    flow = await sign_in(http, portal, patron, scope="openid profile email library")
    assert flow.params["iss"] == ISSUER  # RFC 9207
    assert flow.params["state"] == flow.state
    response = await redeem(http, portal, flow)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()

    keys = KeySet.import_key_set((await http.get("/jwks")).json())
    id_token = jwt.decode(tokens["id_token"], keys)
    assert id_token.header["alg"] == "ES256"
    claims = id_token.claims
    assert claims["iss"] == ISSUER and claims["aud"] == portal.client_id
    assert claims["nonce"] == flow.nonce
    assert patron.card not in claims["sub"]
    assert tokens["token_type"] == "Bearer" and "refresh_token" in tokens

    details = await userinfo(http, tokens["access_token"])
    assert details.status_code == 200
    assert details.json() == {
        "sub": claims["sub"],
        "name": patron.name,
        "email": patron.email,
        "email_verified": False,
        "library_status": "active",
        "library_expires": "2030-01-31",
        "library_branch": "Central",
        "library_category": "ADULT",
    }


async def test_discovery_describes_the_provider(http: httpx.AsyncClient) -> None:
    metadata = (await http.get("/.well-known/openid-configuration")).json()
    assert metadata["issuer"] == ISSUER
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert "pairwise" in metadata["subject_types_supported"]
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt"} <= set(
        metadata["token_endpoint_auth_methods_supported"]
    )
