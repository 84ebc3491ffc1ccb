"""libgate's HTTP face: the resident's pages, the OpenID endpoints and operations."""

from libgate.web._demo import DemoRelyingParty
from libgate.web._endpoints import routes as endpoint_routes
from libgate.web._headers import SecurityHeadersMiddleware
from libgate.web._ops import routes as ops_routes
from libgate.web._pages import routes as page_routes
from libgate.web._search import routes as search_routes
from libgate.web._sru import routes as sru_routes

__all__ = [
    "DemoRelyingParty",
    "SecurityHeadersMiddleware",
    "endpoint_routes",
    "ops_routes",
    "page_routes",
    "search_routes",
    "sru_routes",
]
