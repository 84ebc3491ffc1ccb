"""Which claims each scope releases. A client receives only the scopes its registration
allows and the resident consented to; nothing else about the patron leaves libgate."""

from __future__ import annotations

from typing import Any

from libgate.patrons import Patron

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": ("name",),
    "email": ("email", "email_verified"),
    "library": ("library_status", "library_expires", "library_branch", "library_category"),
}

# What a resident is told on the consent screen, in plain words.
SCOPE_DESCRIPTIONS: dict[str, str] = {
    "profile": "your name",
    "email": "your email address",
    "library": "your membership status, expiry date, home library and borrower category",
    "offline_access": "to stay signed in to this service when you are not using it",
}


def claims_supported() -> list[str]:
    return sorted({claim for claims in SCOPE_CLAIMS.values() for claim in claims})


def patron_claims(patron: Patron, scopes: frozenset[str]) -> dict[str, Any]:
    """The claims about ``patron`` released for ``scopes`` (``sub`` is added by the caller)."""
    values: dict[str, Any] = {
        "name": patron.name,
        "email": patron.email or None,
        # Emails imported from the LMS were given by the resident at the counter, not proved.
        "email_verified": False if patron.email else None,
        "library_status": patron.status(),
        "library_expires": patron.expires.isoformat() if patron.expires else None,
        "library_branch": patron.branch or None,
        "library_category": patron.category or None,
    }
    released: dict[str, Any] = {}
    for scope in sorted(scopes):
        for claim in SCOPE_CLAIMS.get(scope, ()):
            if claim != "sub" and values.get(claim) is not None:
                released[claim] = values[claim]
    return released
