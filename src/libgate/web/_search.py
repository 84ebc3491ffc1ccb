"""Federated search over HTTP: the JSON API (start, poll, stream, or wait), and the
resident's search page, which works without JavaScript and updates live with it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from libgate.search import (
    FACETS,
    SORTS,
    QuerySyntaxError,
    SearchService,
    Sort,
    TooManySearches,
    UnknownTargets,
)
from libgate.web._http import NO_STORE, client_ip, read_capped
from libgate.web._pages import render

_MAX_QUERY_BYTES = 2000
_PAGE_SIZE = 20
_FIRST_RESULTS_WAIT = 1.0  # the page shows what has come by then, and the rest as it comes


def _service(request: Request) -> SearchService:
    service: SearchService = request.app.state.search
    return service


def _sort(request: Request) -> Sort:
    wanted = request.query_params.get("sort", "relevance")
    return next((sort for sort in SORTS if sort == wanted), "relevance")


def _selections(request: Request) -> dict[str, set[str]]:
    """Facet choices, each ``f=name:value`` (repeatable); a facet libgate does not have is
    left out (the answer's ``selected`` shows what was applied)."""
    chosen: dict[str, set[str]] = {}
    for item in request.query_params.getlist("f"):
        name, _, value = item.partition(":")
        if name in FACETS and value:
            chosen.setdefault(name, set()).add(value)
    return chosen


def _offset(request: Request) -> int:
    try:
        return max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        return 0


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={**NO_STORE, **headers})


def _too_many(refusal: TooManySearches) -> JSONResponse:
    return _error(429, str(refusal), **{"Retry-After": str(refusal.retry_after)})


async def _start(request: Request, text: str, targets: list[str] | None = None) -> str:
    return await _service(request).start(text, targets, client=client_ip(request))


async def _query_text(request: Request) -> str:
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        body = await read_capped(request, _MAX_QUERY_BYTES)
        if body is None:
            raise QuerySyntaxError("the query is too long")
        if content_type == "application/json":
            try:
                payload = json.loads(body)
            except ValueError:
                raise QuerySyntaxError("the body is not valid JSON") from None
            return str(payload.get("q", "")) if isinstance(payload, dict) else ""
        try:
            form = parse_qs(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise QuerySyntaxError("the body is not UTF-8") from None
        return form.get("q", [""])[0]
    return request.query_params.get("q", "")


def _targets(request: Request) -> list[str] | None:
    return request.query_params.getlist("target") or None


async def _snapshot(request: Request, search_id: str) -> dict[str, Any] | None:
    return await _service(request).snapshot(
        search_id,
        sort=_sort(request),
        selections=_selections(request),
        offset=_offset(request),
        limit=_PAGE_SIZE,
    )


async def start_search(request: Request) -> Response:
    """POST /api/search (form or JSON ``{"q": ...}``): 201 with the search's id; then
    poll GET /api/search/{id} or follow /api/search/{id}/events."""
    try:
        search_id = await _start(request, await _query_text(request), _targets(request))
    except (QuerySyntaxError, UnknownTargets) as exc:
        return _error(400, str(exc))
    except TooManySearches as refusal:
        return _too_many(refusal)
    return JSONResponse(
        {
            "id": search_id,
            "status": f"/api/search/{search_id}",
            "events": f"/api/search/{search_id}/events",
        },
        status_code=201,
        headers={**NO_STORE, "Location": f"/api/search/{search_id}"},
    )


async def search_now(request: Request) -> Response:
    """GET /api/search?q=...&wait=SECONDS: start, wait (at most the configured maximum),
    and return what has come, for scripts."""
    service = _service(request)
    try:
        wait = float(request.query_params.get("wait", "5"))  # before starting: no search wasted
        search_id = await _start(request, await _query_text(request), _targets(request))
    except (QuerySyntaxError, UnknownTargets) as exc:
        return _error(400, str(exc))
    except TooManySearches as refusal:
        return _too_many(refusal)
    except ValueError:
        return _error(400, "wait must be a number of seconds")
    await service.wait(search_id, max(0.0, min(wait, service.max_wait_seconds)))
    snapshot = await _snapshot(request, search_id)
    if snapshot is None:
        return _error(404, "this search has expired")
    return JSONResponse(snapshot, headers=NO_STORE)


async def search_status(request: Request) -> Response:
    snapshot = await _snapshot(request, request.path_params["search_id"])
    if snapshot is None:
        return _error(404, "no such search, or it has expired")
    return JSONResponse(snapshot, headers=NO_STORE)


async def search_events(request: Request) -> Response:
    """Server-Sent Events: an ``update`` with the whole snapshot each time a target has
    answered, then ``complete``."""
    service = _service(request)
    search_id = request.path_params["search_id"]
    sort, selections = _sort(request), _selections(request)

    async def events() -> AsyncIterator[str]:
        complete = False
        async for state in service.follow(search_id):
            view = service.view(state, sort, selections, 0, _PAGE_SIZE)
            yield f"event: update\ndata: {json.dumps(view, separators=(',', ':'))}\n\n"
            complete = state.complete
        yield f"event: {'complete' if complete else 'expired'}\ndata: {{}}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={**NO_STORE, "X-Accel-Buffering": "no"},
    )


async def search_page(request: Request) -> Response:
    """GET /search: the form; with ``q``, start the search and go to its page."""
    text = request.query_params.get("q", "").strip()
    if not text:
        return render(request, "search.html", {"query": "", "view": None})
    try:
        search_id = await _start(request, text)
    except QuerySyntaxError as exc:
        return render(request, "search.html", {"query": text, "view": None, "problem": str(exc)})
    except TooManySearches:
        problem = "You have searched a lot in the last minute. Please wait a minute and try again."
        return render(
            request, "search.html", {"query": text, "view": None, "problem": problem}, status=429
        )
    kept = [(name, value) for name, value in request.query_params.multi_items() if name != "q"]
    return RedirectResponse(f"/search/{search_id}?{urlencode(kept)}", status_code=303)


async def results_page(request: Request) -> Response:
    """GET /search/{id}: the results so far, with facets and each source's progress."""
    search_id = request.path_params["search_id"]
    await _service(request).wait_for_first(search_id, _FIRST_RESULTS_WAIT)
    return await _results(request, search_id, "search.html")


async def results_fragment(request: Request) -> Response:
    """GET /search/{id}/results: the page's results part alone, for its live updates."""
    return await _results(request, request.path_params["search_id"], "_search_results.html")


async def edition_page(request: Request) -> Response:
    """GET /search/{id}/edition/{key}: one edition, and every place that holds it."""
    search_id = request.path_params["search_id"]
    found = await _service(request).edition(search_id, request.path_params["key"])
    if found is None:
        return _expired(request)
    back = f"/search/{search_id}?{urlencode(request.query_params.multi_items())}"
    return render(request, "search_edition.html", {"edition": found, "back": back})


def _expired(request: Request) -> Response:
    return render(
        request,
        "error.html",
        {"title": "This search has expired", "message": "Please search again."},
        status=404,
    )


async def _results(request: Request, search_id: str, template: str) -> Response:
    view = await _snapshot(request, search_id)
    if view is None:
        return _expired(request)
    return render(
        request,
        template,
        {"query": view["query"], "view": view, "links": _links(request, view)},
    )


def _links(request: Request, view: dict[str, Any]) -> dict[str, Any]:
    """Where each facet value, sort and page leads (plain links: no JavaScript needed)."""
    base = [(n, v) for n, v in request.query_params.multi_items() if n not in ("offset",)]
    chosen = set(request.query_params.getlist("f"))

    def href(params: list[tuple[str, str]]) -> str:
        return f"/search/{view['id']}?{urlencode(params)}"

    titles = {target["name"]: target["title"] for target in view["targets"]}
    facet_links = {
        name: [
            {
                **value,
                "label": titles.get(value["value"], value["value"])
                if name == "source"
                else value["value"],
                "selected": f"{name}:{value['value']}" in chosen,
                "href": href(
                    [p for p in base if p != ("f", f"{name}:{value['value']}")]
                    if f"{name}:{value['value']}" in chosen
                    else [*base, ("f", f"{name}:{value['value']}")]
                ),
            }
            for value in values
        ]
        for name, values in view["facets"].items()
    }
    without_sort = [p for p in base if p[0] != "sort"]
    offset = view["offset"]
    return {
        "facets": facet_links,
        "sorts": {sort: href([*without_sort, ("sort", sort)]) for sort in SORTS},
        "next": href([*base, ("offset", str(offset + _PAGE_SIZE))])
        if offset + _PAGE_SIZE < view["total"]
        else None,
        "previous": href([*base, ("offset", str(max(0, offset - _PAGE_SIZE)))])
        if offset > 0
        else None,
        "self": href(base),
        "edition": f"/search/{view['id']}/edition/",
        "query": urlencode(base),
        "fragment": f"/search/{view['id']}/results?{urlencode(base)}",
        "events": f"/api/search/{view['id']}/events?{urlencode(base)}",
    }


routes = [
    Route("/api/search", start_search, methods=["POST"]),
    Route("/api/search", search_now, methods=["GET"]),
    Route("/api/search/{search_id}", search_status, methods=["GET"]),
    Route("/api/search/{search_id}/events", search_events, methods=["GET"]),
    Route("/search", search_page, methods=["GET"]),
    Route("/search/{search_id}", results_page, methods=["GET"]),
    Route("/search/{search_id}/results", results_fragment, methods=["GET"]),
    Route("/search/{search_id}/edition/{key}", edition_page, methods=["GET"]),
]
