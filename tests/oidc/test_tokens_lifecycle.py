"""Refresh, introspection, revocation and signing-key rotation as a relying party sees them."""

from __future__ import annotations

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from libgate.services import Services
from tests.conftest import RegisteredClient, Resident
from tests.support.flow import refresh, tokens_for, userinfo


async def test_introspection_describes_live_tokens_to_their_client(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    tokens = await tokens_for(http, portal, patron)
    access = (
        await http.post("/introspect", auth=portal.auth, data={"token": tokens["access_token"]})
    ).json()
    assert access["active"] is True and access["client_id"] == portal.client_id
    refresh = (
        await http.post("/introspect", auth=portal.auth, data={"token": tokens["refresh_token"]})
    ).json()
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"
    assert (await http.post("/introspect", auth=portal.auth, data={"token": "junk"})).json() == {
        "active": False
    }
    # Each answer about a live token told the service who the resident is: recorded.
    released = [
        (entry.patron_ref, entry.client_id, entry.detail)
        async for entry in services.audit.entries()
        if entry.event == "claims.released" and entry.detail["endpoint"] == "introspect"
    ]
    record = (services.pseudonyms.patron_ref(patron.card), portal.client_id)
    assert released == [(*record, {"endpoint": "introspect", "claims": ["sub"]})] * 2


async def test_each_new_id_token_is_recorded_as_a_release_of_the_residents_sub(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    tokens = await tokens_for(http, portal, patron)
    assert (await refresh(http, portal, tokens["refresh_token"])).json()["id_token"]
    granted = {
        entry.event: entry.detail["claims_released"]
        async for entry in services.audit.entries()
        if entry.event in ("token.issued", "token.refreshed")
    }
    assert granted == {"token.issued": ["sub"], "token.refreshed": ["sub"]}


async def test_revoking_an_access_token_stops_it_but_not_the_refresh_token(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    tokens = await tokens_for(http, portal, patron)
    response = await http.post(
        "/revoke",
        auth=portal.auth,
        data={"token": tokens["access_token"], "token_type_hint": "access_token"},
    )
    assert response.status_code == 200
    assert (await userinfo(http, tokens["access_token"])).status_code == 401
    refreshed = await refresh(http, portal, tokens["refresh_token"])
    assert refreshed.status_code == 200


async def test_revoking_a_refresh_token_ends_the_grant(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    tokens = await tokens_for(http, portal, patron)
    assert (
        await http.post("/revoke", auth=portal.auth, data={"token": tokens["refresh_token"]})
    ).status_code == 200
    assert (await userinfo(http, tokens["access_token"])).status_code == 401
    assert "token.revoked" in [entry.event async for entry in services.audit.entries()]


async def test_revoking_an_unknown_token_is_not_an_error(
    http: httpx.AsyncClient, portal: RegisteredClient
) -> None:
    assert (await http.post("/revoke", auth=portal.auth, data={"token": "nope"})).status_code == 200


async def test_a_refresh_cannot_widen_the_scope(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident
) -> None:
    tokens = await tokens_for(http, portal, patron)
    response = await refresh(http, portal, tokens["refresh_token"], scope="openid profile library")
    assert response.json()["error"] == "invalid_scope"


async def test_tokens_signed_before_a_key_rotation_still_verify_during_the_overlap(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    before = await tokens_for(http, portal, patron)
    old_kid = jwt.decode(
        before["id_token"], KeySet.import_key_set((await http.get("/jwks")).json())
    ).header["kid"]
    await services.keys.rotate()

    published = KeySet.import_key_set((await http.get("/jwks")).json())
    assert jwt.decode(before["id_token"], published).header["kid"] == old_kid
    assert (await userinfo(http, before["access_token"])).status_code == 200

    after = await refresh(http, portal, before["refresh_token"])
    new_kid = jwt.decode(after.json()["id_token"], published).header["kid"]
    assert new_kid != old_kid


async def test_retired_keys_leave_the_key_set_after_the_overlap(services: Services) -> None:
    from sqlalchemy import update

    from libgate.db.tables import signing_keys

    before = {key["kid"] for key in (await services.keys.jwks())["keys"]}
    await services.keys.rotate()
    async with services.database.transaction() as connection:
        await connection.execute(
            update(signing_keys).where(signing_keys.c.kid.in_(before)).values(verify_until=0)
        )
    await services.keys.reload()
    after = {key["kid"] for key in (await services.keys.jwks())["keys"]}
    assert not before & after and len(after) == 2
