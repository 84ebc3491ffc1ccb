"""Privacy by design: the audit trail and pseudonymous identifiers."""

from libgate.privacy._audit import AuditEntry, AuditTrail, ChainBreak, audit_row
from libgate.privacy._buffered import BufferedAudit
from libgate.privacy._pseudonyms import Pseudonyms

__all__ = ["AuditEntry", "AuditTrail", "BufferedAudit", "ChainBreak", "Pseudonyms", "audit_row"]
