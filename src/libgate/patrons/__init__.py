"""Who is this card holder? The patron directory, PIN hashing and PIN guessing defence.

Connectors (the local directory now; SIP2, Koha and FOLIO later) implement
:class:`PatronDirectory`. Everything else talks to :class:`CardSignIn`.
"""

from libgate.patrons._directory import AuthFailure, DirectoryUnavailable, Patron, PatronDirectory
from libgate.patrons._import import ImportReport, PatronFileUnreadable, import_patrons_csv
from libgate.patrons._local import LocalDirectory
from libgate.patrons._pins import PinHasher
from libgate.patrons._signin import CardSignIn, SignInOutcome, normalise_card
from libgate.patrons._sip2 import AccountSummary, Sip2Directory
from libgate.patrons._throttle import Lockout, PinGuard, card_key, ip_key

__all__ = [
    "AccountSummary",
    "AuthFailure",
    "CardSignIn",
    "DirectoryUnavailable",
    "ImportReport",
    "LocalDirectory",
    "Lockout",
    "Patron",
    "PatronDirectory",
    "PatronFileUnreadable",
    "PinGuard",
    "PinHasher",
    "SignInOutcome",
    "Sip2Directory",
    "card_key",
    "import_patrons_csv",
    "ip_key",
    "normalise_card",
]
