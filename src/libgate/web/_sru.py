"""``/sru``: libgate's catalogue for other libraries' federated search (SRU over HTTP GET
or POST with form parameters)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from libgate.search import SruServer

_MAX_FORM_BYTES = 16 * 1024


async def sru(request: Request) -> Response:
    server: SruServer = request.app.state.sru
    params = dict(request.query_params)
    if request.method == "POST":
        if int(request.headers.get("content-length") or 0) > _MAX_FORM_BYTES:
            return Response("too large", status_code=413)
        params.update({name: str(value) for name, value in (await request.form()).items()})
    return Response(await server.respond(params), media_type="application/xml; charset=utf-8")


routes = [Route("/sru", sru, methods=["GET", "POST"])]
