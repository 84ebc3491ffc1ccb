"""``/sru``: libgate's catalogue for other libraries' federated search (SRU over HTTP GET
or POST with form parameters)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from libgate.search import SruServer

_MAX_FORM_BYTES = 16 * 1024


async def sru(request: Request) -> Response:
    server: SruServer = request.app.state.services.sru
    params = dict(request.query_params)
    if request.method == "POST":
        if int(request.headers.get("content-length") or 0) > _MAX_FORM_BYTES:
            return Response("too large", status_code=413)
        params.update({name: str(value) for name, value in (await request.form()).items()})
    reply = await server.respond(params)
    return Response(reply.body, status_code=reply.status, media_type=reply.media_type)


routes = [Route("/sru", sru, methods=["GET", "POST"])]
