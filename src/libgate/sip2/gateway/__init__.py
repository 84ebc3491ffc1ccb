"""The SIP2 gateway for kiosks and vendors: accounts, policies, offline journal, server."""

from libgate.sip2.gateway._journal import Journal, JournalEntry, OfflineRefusal
from libgate.sip2.gateway._policy import permits, refusal, released
from libgate.sip2.gateway._runtime import ReloadingSettings, run_gateway, server_tls_context
from libgate.sip2.gateway._server import Gateway
from libgate.sip2.gateway._vendors import Vendor, VendorError, VendorRegistry

__all__ = [
    "Gateway",
    "Journal",
    "JournalEntry",
    "OfflineRefusal",
    "ReloadingSettings",
    "Vendor",
    "VendorError",
    "VendorRegistry",
    "permits",
    "refusal",
    "released",
    "run_gateway",
    "server_tls_context",
]
