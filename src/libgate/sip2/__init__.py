"""SIP2 (3M Standard Interchange Protocol 2.00): the codec, framing, and (built on them)
the LMS connector and the gateway for kiosks and vendors."""

from libgate.breaker import CircuitBreaker
from libgate.sip2._codec import (
    DEFAULT_ENCODING,
    DEFAULT_MAX_SIZE,
    ENCODINGS,
    Message,
    checksum,
    decode,
    encode,
    parse_sip2_datetime,
    sip2_datetime,
)
from libgate.sip2._connection import (
    LmsConnection,
    LmsError,
    LmsLink,
    LmsLoginRefused,
    LmsNotReached,
    LmsProtocolError,
    LmsUnavailable,
)
from libgate.sip2._errors import (
    CharacterSetError,
    ChecksumMismatch,
    MalformedMessage,
    MessageTooLarge,
    Sip2Error,
    UnknownMessage,
)
from libgate.sip2._fields import FIELD_NAMES, PERSONAL_FIELDS, REPEATABLE, SECRET_FIELDS
from libgate.sip2._framing import FrameReader
from libgate.sip2._link import client_tls_context, lms_link
from libgate.sip2._pool import LmsPool, status_request
from libgate.sip2._spec import MESSAGES, FixedField, MessageSpec

__all__ = [
    "DEFAULT_ENCODING",
    "DEFAULT_MAX_SIZE",
    "ENCODINGS",
    "FIELD_NAMES",
    "MESSAGES",
    "PERSONAL_FIELDS",
    "REPEATABLE",
    "SECRET_FIELDS",
    "CharacterSetError",
    "ChecksumMismatch",
    "CircuitBreaker",
    "FixedField",
    "FrameReader",
    "LmsConnection",
    "LmsError",
    "LmsLink",
    "LmsLoginRefused",
    "LmsNotReached",
    "LmsPool",
    "LmsProtocolError",
    "LmsUnavailable",
    "MalformedMessage",
    "Message",
    "MessageSpec",
    "MessageTooLarge",
    "Sip2Error",
    "UnknownMessage",
    "checksum",
    "client_tls_context",
    "decode",
    "encode",
    "lms_link",
    "parse_sip2_datetime",
    "sip2_datetime",
    "status_request",
]
