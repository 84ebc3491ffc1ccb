"""The LMS link from the ``[lms]`` settings."""

from __future__ import annotations

import ssl

from libgate.config import LmsSettings
from libgate.sip2._connection import LmsLink


def client_tls_context(
    ca_file: str = "", client_cert: str = "", client_key: str = ""
) -> ssl.SSLContext:
    """TLS towards the LMS: certificates verified (against ``ca_file`` or the system's
    CAs), host name checked, and a client certificate when the LMS asks for mutual TLS."""
    context = ssl.create_default_context(cafile=ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_cert:
        context.load_cert_chain(client_cert, client_key or None)
    return context


def lms_link(settings: LmsSettings) -> LmsLink:
    return LmsLink(
        host=settings.host,
        port=settings.port,
        login_user=settings.login_user,
        login_password=settings.login_password,
        location_code=settings.location_code,
        ssl=client_tls_context(
            settings.tls_ca_file, settings.tls_client_cert, settings.tls_client_key
        )
        if settings.tls
        else None,
        encoding=settings.encoding,
        error_detection=settings.error_detection,
        timeout=settings.timeout_seconds,
    )
