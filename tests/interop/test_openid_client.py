"""An independent, certified relying party (npm ``openid-client`` v6) signs a resident in at a
real libgate process: discovery, code + PKCE, ID token checks, userinfo, refresh with
rotation, revocation. The client is registered with the real ``libgate clients add`` command.

Needs Node.js and ``npm ci --prefix tests/interop/openid_client`` (``make test`` runs it);
without them the test skips, except under CI (``CI=true``), where it fails."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import anyio
import pytest

from libgate.services import Services
from libgate.testing.processes import register_client_by_cli
from tests.conftest import IN_CI, Resident
from tests.support.servers import live_server

pytestmark = pytest.mark.interop

RP_DIR = Path(__file__).parent / "openid_client"
RP_SCRIPT = RP_DIR / "rp.mjs"
REDIRECT_URI = "http://127.0.0.1/openid-client/callback"
RP_TIMEOUT_SECONDS = 90


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


@pytest.fixture
def node() -> str:
    """The node executable, once the relying party's packages are installed."""
    found = shutil.which("node")
    if found is None:
        _unavailable("Node.js is not installed, so the openid-client interop test cannot run")
    if not (RP_DIR / "node_modules" / "openid-client").is_dir():
        _unavailable(
            f"{RP_DIR / 'node_modules'} is missing: run "
            "`npm ci --prefix tests/interop/openid_client` (make test does)"
        )
    assert found is not None
    return found


async def test_openid_client_completes_the_code_flow_refresh_and_revocation(
    node: str,
    database_url: str,
    services: Services,
    patron: Resident,
    log_dir: Path,
) -> None:
    with live_server(database_url, log_dir) as server:
        registered = register_client_by_cli(
            database_url, "openid-client interop RP", REDIRECT_URI, ["profile", "email"]
        )
        assert registered["token_endpoint_auth_method"] == "client_secret_basic"
        assert registered["redirect_uris"] == [REDIRECT_URI]
        assert registered["scope"].split() == ["email", "openid", "profile"]
        client_id, client_secret = registered["client_id"], registered["client_secret"]
        # The CLI wrote to the very database the server and this test share.
        assert await services.clients.get(client_id) is not None

        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LIBGATE_")},
            "LIBGATE_RP_CLIENT_ID": client_id,
            "LIBGATE_RP_CLIENT_SECRET": client_secret,
            "LIBGATE_RP_REDIRECT_URI": REDIRECT_URI,
            "LIBGATE_RP_CARD": patron.card,
            "LIBGATE_RP_PIN": patron.pin,  # in the environment, never on the command line
        }
        with anyio.fail_after(RP_TIMEOUT_SECONDS):
            result = await anyio.run_process(
                [node, str(RP_SCRIPT), server.base_url], env=env, cwd=RP_DIR, check=False
            )
    stdout = result.stdout.decode(errors="replace")
    stderr = result.stderr.decode(errors="replace")
    assert patron.pin not in stdout and patron.pin not in stderr
    report = (
        f"exit {result.returncode}\nstdout:\n{stdout}\nstderr:\n{stderr}\nserver log: {server.log}"
    )
    assert result.returncode == 0, report
    summary = json.loads(stdout)
    assert summary["ok"] is True, report

    # The resident went through libgate's own pages, and came back with RFC 9207's iss.
    response = summary["authorization_response"]
    assert response["pages"] == ["signin", "consent"]
    assert response["iss"] == server.base_url and response["state_matches"] is True
    assert {"code", "state", "iss"} <= set(response["parameters"])

    # openid-client verified the ID token (signature, iss, aud, nonce); check what it saw.
    claims = summary["id_token_claims"]
    assert claims["iss"] == server.base_url
    assert claims["aud"] == client_id
    assert claims["nonce"]
    assert patron.card not in claims["sub"]

    userinfo = summary["userinfo"]
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["name"] == patron.name and userinfo["email"] == patron.email
    assert "library_status" not in userinfo  # the library scope was not registered

    refresh = summary["refresh"]
    assert refresh["returned_refresh_token"] is True
    assert refresh["rotated"] is True, "refresh must hand back a NEW refresh token"
    assert refresh["id_token_sub_unchanged"] in (True, None)

    revocation = summary["revocation"]
    assert revocation["revoked"] is True
    refused = revocation["refresh_after_revocation"]
    assert refused["refused"] is True, refused
    assert refused["error"] == "invalid_grant" and refused["status"] == 400, refused
    assert revocation["access_token_after_revocation"]["refused"] is True
