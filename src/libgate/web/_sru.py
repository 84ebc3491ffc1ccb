"""``/sru``: libgate's catalogue for other libraries' federated search (SRU over HTTP GET
or POST with form parameters)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from libgate.oidc import OAuthError
from libgate.search import SruServer
from libgate.web._http import read_form


async def sru(request: Request) -> Response:
    server: SruServer = request.app.state.sru
    params = dict(request.query_params)
    if request.method == "POST":
        # read_form stops reading at its cap, whether or not the client said how much it
        # would send; its refusals are plain HTTP ones, as SRU has no diagnostic for them.
        try:
            params.update(await read_form(request))
        except OAuthError as refused:
            return Response(refused.description, status_code=refused.status)
    return Response(await server.respond(params), media_type="application/xml; charset=utf-8")


routes = [Route("/sru", sru, methods=["GET", "POST"])]
