"""The OpenID Provider: discovery, keys, authorization code + PKCE, tokens, userinfo,
revocation, introspection and RP-initiated logout, with pairwise subjects by default."""

from libgate.oidc._authorize import AuthorizationRequest
from libgate.oidc._claims import SCOPE_DESCRIPTIONS
from libgate.oidc._clients import (
    AUTH_METHODS,
    KNOWN_SCOPES,
    Client,
    ClientRegistrationError,
    ClientRegistry,
)
from libgate.oidc._consent import Consent, ConsentStore
from libgate.oidc._errors import InvalidRequest, InvalidToken, OAuthError, UnsafeRedirect
from libgate.oidc._keys import KeyStore
from libgate.oidc._provider import (
    OpenIDProvider,
    RedirectTo,
    ShowConsent,
    ShowSignIn,
    SignInResult,
    Step,
)
from libgate.oidc._sessions import BrowserSession, SessionStore
from libgate.oidc._tokens import TokenService

__all__ = [
    "AUTH_METHODS",
    "KNOWN_SCOPES",
    "SCOPE_DESCRIPTIONS",
    "AuthorizationRequest",
    "BrowserSession",
    "Client",
    "ClientRegistrationError",
    "ClientRegistry",
    "Consent",
    "ConsentStore",
    "InvalidRequest",
    "InvalidToken",
    "KeyStore",
    "OAuthError",
    "OpenIDProvider",
    "RedirectTo",
    "SessionStore",
    "ShowConsent",
    "ShowSignIn",
    "SignInResult",
    "Step",
    "TokenService",
    "UnsafeRedirect",
]
