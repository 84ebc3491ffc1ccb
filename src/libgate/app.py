"""The ASGI application: mounts each capability's routes over one set of services."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from libgate.background import every
from libgate.config import Settings, load_settings
from libgate.gc_tuning import tune_garbage_collection
from libgate.observability import Metrics, ObservabilityMiddleware, setup_logging
from libgate.services import Services, build_services
from libgate.web import (
    DemoRelyingParty,
    SecurityHeadersMiddleware,
    endpoint_routes,
    ops_routes,
    page_routes,
    search_routes,
    sru_routes,
)

_WEB = Path(__file__).with_name("web")
_HOUSEKEEPING_SECONDS = 600
_SEAL_SECONDS = 1.0


def _attach(app: Starlette, services: Services) -> None:
    app.state.services = services
    app.state.discovery = services.provider.discovery()
    # Made now rather than at the first search, so that a search set-up libgate cannot use
    # (a catalogue index it cannot open) stops it at start-up.
    app.state.search, app.state.sru = services.search, services.sru


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    demo: DemoRelyingParty | None = None,
) -> Starlette:
    """The application. Given ``services`` (tests, the demo) it uses them; otherwise it
    builds its own at start-up, one set per worker process, all sharing the database."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        running = services or await build_services(settings, migrate=False)
        _attach(app, running)
        tune_garbage_collection()
        background = [
            asyncio.create_task(every(_SEAL_SECONDS, running.audit.seal, "audit sealing")),
            asyncio.create_task(
                every(_HOUSEKEEPING_SECONDS, running.purge_expired, "housekeeping")
            ),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            if services is None:
                await running.close()

    routes = [
        *endpoint_routes,
        *page_routes,
        *search_routes,
        *sru_routes,
        *ops_routes,
        *(demo.routes() if demo else []),
        Mount("/static", StaticFiles(directory=_WEB / "static"), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    if services is not None:
        _attach(app, services)
    app.state.templates = Jinja2Templates(directory=_WEB / "templates")
    app.state.demo_link = demo.start_link if demo else None
    app.state.metrics = Metrics()
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.https)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    return app


def app_from_environment() -> Starlette:
    """Factory for ``uvicorn --factory`` (``libgate serve --workers N``): settings from
    libgate.toml and LIBGATE_* variables."""
    settings = load_settings()
    setup_logging(settings.log_level)
    return create_app(settings)
