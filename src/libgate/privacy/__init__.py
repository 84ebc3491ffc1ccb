"""Privacy by design: the audit trail and pseudonymous identifiers."""

from libgate.privacy._audit import AuditEntry, AuditTrail, ChainBreak
from libgate.privacy._pseudonyms import Pseudonyms

__all__ = ["AuditEntry", "AuditTrail", "ChainBreak", "Pseudonyms"]
