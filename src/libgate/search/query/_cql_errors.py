"""SRU diagnostics (info:srw/diagnostic/1/N) for CQL that libgate cannot run."""

from __future__ import annotations

# The numbers and messages of the SRU diagnostics registry, as yaz's tables carry them.
QUERY_SYNTAX_ERROR = 10
TOO_MANY_CHARACTERS = 12
PARENTHESES = 13
UNSUPPORTED_CONTEXT_SET = 15
UNSUPPORTED_INDEX = 16
UNSUPPORTED_RELATION = 19
UNSUPPORTED_RELATION_MODIFIER = 20
EMPTY_TERM = 27
MASKING = 28
ANCHORING = 31
UNSUPPORTED_BOOLEAN = 37
TOO_MANY_BOOLEANS = 38
UNSUPPORTED_BOOLEAN_MODIFIER = 46
UNSUPPORTED_FEATURE = 48
SORT_NOT_SUPPORTED = 80

MESSAGES = {
    QUERY_SYNTAX_ERROR: "Query syntax error",
    TOO_MANY_CHARACTERS: "Too many characters in query",
    PARENTHESES: "Invalid or unsupported use of parentheses",
    UNSUPPORTED_CONTEXT_SET: "Unsupported context set",
    UNSUPPORTED_INDEX: "Unsupported index",
    UNSUPPORTED_RELATION: "Unsupported relation",
    UNSUPPORTED_RELATION_MODIFIER: "Unsupported relation modifier",
    EMPTY_TERM: "Empty term unsupported",
    MASKING: "Masking character not supported",
    ANCHORING: "Anchoring character not supported",
    UNSUPPORTED_BOOLEAN: "Unsupported boolean operator",
    TOO_MANY_BOOLEANS: "Too many boolean operators in query",
    UNSUPPORTED_BOOLEAN_MODIFIER: "Unsupported boolean modifier",
    UNSUPPORTED_FEATURE: "Query feature unsupported",
    SORT_NOT_SUPPORTED: "Sort not supported",
}


class CqlError(ValueError):
    """CQL libgate cannot run: an SRU diagnostic number, its message, and details."""

    def __init__(self, diagnostic: int, message: str, details: str = "") -> None:
        super().__init__(f"{message}: {details}" if details else message)
        self.diagnostic = diagnostic
        self.message = message
        self.details = details

    @classmethod
    def of(cls, diagnostic: int, details: str = "") -> CqlError:
        """The error with the registry's message for ``diagnostic``."""
        return cls(diagnostic, MESSAGES[diagnostic], details)

    @property
    def uri(self) -> str:
        return f"info:srw/diagnostic/1/{self.diagnostic}"
