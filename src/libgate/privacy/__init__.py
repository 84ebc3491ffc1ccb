"""Privacy by design: the audit trail and pseudonymous identifiers."""

from libgate.privacy._audit import AuditEntry, AuditTrail, ChainBreak, Verification, audit_row
from libgate.privacy._audit_filter import AuditFilter
from libgate.privacy._buffered import BufferedAudit
from libgate.privacy._pseudonyms import Pseudonyms

__all__ = [
    "AuditEntry",
    "AuditFilter",
    "AuditTrail",
    "BufferedAudit",
    "ChainBreak",
    "Pseudonyms",
    "Verification",
    "audit_row",
]
