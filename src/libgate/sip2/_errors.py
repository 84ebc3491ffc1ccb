"""Every way SIP2 input can be wrong, as types: callers answer each one, nothing escapes."""

from __future__ import annotations


class Sip2Error(ValueError):
    """Base of every SIP2 protocol error. ``str()`` never contains a field's value, so
    errors can be logged without leaking a PIN or a password."""


class MalformedMessage(Sip2Error):
    """The bytes are not a SIP2 message: too short, bad fixed fields, bad field syntax."""


class UnknownMessage(Sip2Error):
    """A two-character command code SIP2 2.00 does not define."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown SIP2 message code {code!r}")
        self.code = code


class ChecksumMismatch(Sip2Error):
    """AZ does not match the message's bytes: it was damaged on the way (ask for a resend)."""

    def __init__(self, expected: str, found: str) -> None:
        super().__init__(f"checksum AZ{found} does not match the message (expected AZ{expected})")
        self.expected = expected
        self.found = found


class MessageTooLarge(Sip2Error):
    """More bytes than the connection's maximum message size before a terminator."""


class CharacterSetError(Sip2Error):
    """Bytes that the connection's character set cannot decode, or text it cannot encode."""
