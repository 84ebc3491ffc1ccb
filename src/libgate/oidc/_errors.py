from __future__ import annotations


class OAuthError(Exception):
    """An error answered to a client as RFC 6749 §5.2 JSON (or as a redirect, for the
    authorization endpoint once the redirect URI is known to be registered)."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class InvalidClient(OAuthError):
    def __init__(self, description: str = "client authentication failed") -> None:
        super().__init__("invalid_client", description, status=401)


class InvalidGrant(OAuthError):
    def __init__(self, description: str) -> None:
        super().__init__("invalid_grant", description)


class InvalidRequest(OAuthError):
    def __init__(self, description: str) -> None:
        super().__init__("invalid_request", description)


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: the bearer token is missing, expired, revoked or malformed."""

    def __init__(self, description: str = "the access token is not valid") -> None:
        super().__init__("invalid_token", description, status=401)


class UnsafeRedirect(Exception):
    """The authorization request cannot be answered by redirect (unknown client or an
    unregistered redirect URI): the resident is shown an error page instead."""
