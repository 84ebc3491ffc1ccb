"""SIP2 messages to and from bytes.

A message is a two-digit command code, fixed-length fields in an order set by the code,
then variable fields ``XXvalue|`` in any order, then optionally error detection:
``AY`` and a one-digit sequence number, ``AZ`` and four hex digits making the byte sum of the
whole message zero (mod 2**16), and a carriage return. A message decoded here keeps
everything needed to write it back byte for byte: unknown fields in order, whether the last
field had its ``|``, whether error detection was used, CR or CRLF.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from libgate.sip2._errors import (
    CharacterSetError,
    ChecksumMismatch,
    MalformedMessage,
    UnknownMessage,
)
from libgate.sip2._fields import REPEATABLE, SECRET_FIELDS
from libgate.sip2._spec import MESSAGES, MessageSpec

DEFAULT_ENCODING = "cp850"
ENCODINGS = ("cp850", "latin-1", "utf-8")
DEFAULT_MAX_SIZE = 32 * 1024

_CHECKSUM_TRAILER = re.compile(rb"AZ([0-9A-Fa-f]{4})\Z")
_SEQUENCE_TRAILER = re.compile(r"AY(\d)\Z")
_STRICT_FIELD_CODE = re.compile(r"[A-Z]{2}")


def checksum(data: bytes) -> str:
    """The AZ value for ``data`` (everything up to and including the letters ``AZ``)."""
    return f"{-sum(data) & 0xFFFF:04X}"


def sip2_datetime(moment: dt.datetime | None = None) -> str:
    """SIP2's 18-character date: YYYYMMDD, a 4-character zone, HHMMSS. Aware datetimes
    are written in UTC with zone ``   Z``; naive ones as local time (zone blank)."""
    moment = moment or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        return moment.strftime("%Y%m%d    %H%M%S")
    return moment.astimezone(dt.UTC).strftime("%Y%m%d   Z%H%M%S")


def parse_sip2_datetime(value: str) -> dt.datetime | None:
    """The datetime in an 18-character SIP2 date; None when blank or not a date."""
    if len(value) != 18 or not value.strip():
        return None
    try:
        moment = dt.datetime.strptime(value[:8] + value[12:], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if value[8:12].strip() == "Z" else moment


@dataclass(frozen=True, slots=True, repr=False)
class Message:
    code: str
    fixed: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    sequence: int | None = None  # AY, when error detection is on
    checksummed: bool = False  # AZ present
    closed: bool = True  # the last variable field ended with "|"
    terminator: str = "\r"
    spec: MessageSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spec = MESSAGES.get(self.code)
        if spec is None:
            raise UnknownMessage(self.code)
        if len(self.fixed) != len(spec.fixed):
            raise MalformedMessage(f"message {self.code} has {len(spec.fixed)} fixed fields")
        object.__setattr__(self, "spec", spec)

    @classmethod
    def build(
        cls,
        code: str,
        fixed: Mapping[str, str] | None = None,
        fields: Iterable[tuple[str, str]] = (),
        *,
        sequence: int | None = None,
    ) -> Message:
        """A message from named fixed fields; date fields not given are set to now."""
        spec = MESSAGES.get(code)
        if spec is None:
            raise UnknownMessage(code)
        given = dict(fixed or {})
        values = []
        for fixed_field in spec.fixed:
            if fixed_field.name in given:
                values.append(given.pop(fixed_field.name))
            elif fixed_field.kind == "date":
                values.append(sip2_datetime())
            else:
                raise MalformedMessage(f"message {code} needs its fixed field {fixed_field.name}")
        if given:
            raise MalformedMessage(f"message {code} has no fixed field(s) {sorted(given)}")
        return cls(
            code,
            tuple(values),
            tuple(fields),
            sequence=sequence,
            checksummed=sequence is not None,
        )

    def __repr__(self) -> str:
        # Messages end up in tracebacks and debug logs: never with a PIN or password.
        shown = [(c, "***" if c in SECRET_FIELDS else v) for c, v in self.fields]
        return f"Message({self.code!r}, fixed={self.fixed!r}, fields={shown!r})"

    @property
    def name(self) -> str:
        return self.spec.name

    def fixed_value(self, name: str) -> str:
        return self.fixed[self.spec.index(name)]

    def get(self, code: str, default: str | None = None) -> str | None:
        """The first value of variable field ``code``."""
        for field_code, value in self.fields:
            if field_code == code:
                return value
        return default

    def get_all(self, code: str) -> list[str]:
        return [value for field_code, value in self.fields if field_code == code]

    def field_codes(self) -> list[str]:
        return [field_code for field_code, _ in self.fields]

    def with_fixed(self, **values: str) -> Message:
        fixed = list(self.fixed)
        for name, value in values.items():
            fixed[self.spec.index(name)] = value
        return self._evolve(fixed=tuple(fixed))

    def with_fields(self, fields: Iterable[tuple[str, str]]) -> Message:
        return self._evolve(fields=tuple(fields))

    def with_error_detection(self, sequence: int | None) -> Message:
        """This message with AY/AZ (``sequence`` 0-9), or without when ``sequence`` is None."""
        return self._evolve(sequence=sequence, checksummed=sequence is not None)

    def framed_like(self, request: Message) -> Message:
        """This answer framed as ``request`` was: its sequence number, checksum and line
        ending (a blank terminator becomes CR)."""
        return self._evolve(
            sequence=request.sequence,
            checksummed=request.checksummed,
            terminator=request.terminator or "\r",
        )

    def _evolve(self, **changes: Any) -> Message:
        # dataclasses.replace() re-runs __init__ and the spec lookup; a gateway makes
        # several of these per message, and code and spec never change here. The slots'
        # own descriptors write past the frozen __setattr__ (which refuses everyone).
        evolved = object.__new__(Message)
        for name, slot in _MESSAGE_SLOTS:
            slot.__set__(evolved, changes[name] if name in changes else slot.__get__(self))
        return evolved


_MESSAGE_SLOTS = tuple(
    (name, getattr(Message, name))
    for name in (
        "code",
        "fixed",
        "fields",
        "sequence",
        "checksummed",
        "closed",
        "terminator",
        "spec",
    )
)


def encode(message: Message, *, encoding: str = DEFAULT_ENCODING, errors: str = "strict") -> bytes:
    """The message's bytes. Raises MalformedMessage for a value that would break the framing
    (a ``|``, CR or LF inside it: the classic way to smuggle a field into a message) and
    CharacterSetError for text the character set cannot carry (with ``errors="replace"``
    such characters become ``?`` instead)."""
    spec = message.spec
    fields = message.fields
    if tuple(map(len, message.fixed)) != spec.fixed_lengths:
        raise MalformedMessage(
            f"the fixed fields of message {message.code} must be {spec.fixed_lengths} "
            "character(s) long"
        )
    if any(len(field_code) != 2 for field_code, _ in fields):
        raise MalformedMessage(f"message {message.code} has a field code that is not 2 letters")
    variable = "|".join([field_code + value for field_code, value in fields])
    pipes = len(fields) - 1
    if fields and message.closed:
        variable += "|"
        pipes += 1
    text = message.code + "".join(message.fixed) + variable
    # Every "|" must be a separator written here; a CR or LF anywhere would end the message.
    if text.count("|") != max(pipes, 0) or "\r" in text or "\n" in text:
        raise MalformedMessage(f"a field of message {message.code} holds '|', CR or LF")
    if message.sequence is not None:
        if not 0 <= message.sequence <= 9:
            raise MalformedMessage("the AY sequence number is one digit")
        text += f"AY{message.sequence}"
    try:
        # ASCII is the same in every SIP2 character set, and much the quickest to write.
        body = text.encode("ascii" if text.isascii() else encoding, errors=errors)
    except UnicodeEncodeError:
        # from None: the encoder's own error quotes the character, which may be a PIN's.
        raise CharacterSetError(
            f"message {message.code} has text that {encoding} cannot carry"
        ) from None
    if message.checksummed:
        body += b"AZ"
        body += checksum(body).encode("ascii")
    return body + message.terminator.encode("ascii")


def decode(
    data: bytes,
    *,
    encoding: str = DEFAULT_ENCODING,
    strict: bool = False,
    max_size: int = DEFAULT_MAX_SIZE,
) -> Message:
    """Parse one message (with or without its terminator).

    Lenient parsing (the default) accepts what real systems send: a missing final ``|``,
    any two-character field code, repeated fields, missing required fields, fixed fields
    of the right length but odd content, lower-case checksum digits, LF alone as the
    terminator. Strict parsing refuses all of those. Both verify a checksum when present.
    """
    if len(data) > max_size:
        raise MalformedMessage(f"message longer than {max_size} bytes")
    body, terminator = _split_terminator(data, strict)
    if b"\r" in body or b"\n" in body:
        raise MalformedMessage("a carriage return or line feed inside the message")
    checksummed = False
    # Anchored at the end (match at the last possible start), not searched for from the front.
    found = _CHECKSUM_TRAILER.match(body, max(len(body) - 6, 0))
    if found is not None:
        digits = found.group(1).decode("ascii")
        if strict and digits != digits.upper():
            raise MalformedMessage("checksum digits must be upper-case hex")
        expected = checksum(body[: found.start() + 2])
        if digits.upper() != expected:
            raise ChecksumMismatch(expected, digits)
        body = body[: found.start()]
        checksummed = True
    try:
        text = body.decode("ascii" if body.isascii() else encoding)
    except UnicodeDecodeError as exc:
        raise CharacterSetError(f"bytes that are not valid {encoding}") from exc
    sequence = None
    trailer = _SEQUENCE_TRAILER.match(text, max(len(text) - 3, 0))
    if trailer is not None:
        sequence = int(trailer.group(1))
        text = text[: trailer.start()]
    if len(text) < 2 or not text[:2].isdigit():
        raise MalformedMessage("a message starts with a two-digit command code")
    spec = MESSAGES.get(text[:2])
    if spec is None:
        raise UnknownMessage(text[:2])
    end_of_fixed = 2 + spec.fixed_length
    if len(text) < end_of_fixed:
        raise MalformedMessage(
            f"message {spec.code} ({spec.name}) is shorter than its fixed fields"
        )
    fixed = _fixed_fields(spec, text[2:end_of_fixed], strict)
    fields, closed = _variable_fields(text[end_of_fixed:], strict)
    if strict:
        _check_fields(spec, fields)
    return Message(spec.code, fixed, fields, sequence, checksummed, closed, terminator)


def _split_terminator(data: bytes, strict: bool) -> tuple[bytes, str]:
    if data.endswith(b"\r\n"):
        return data[:-2], "\r\n"
    if data.endswith(b"\r"):
        return data[:-1], "\r"
    if strict:
        raise MalformedMessage("a message ends with a carriage return")
    if data.endswith(b"\n"):
        return data[:-1], "\n"
    return data, ""


def _fixed_fields(spec: MessageSpec, text: str, strict: bool) -> tuple[str, ...]:
    values = []
    position = 0
    for length in spec.fixed_lengths:
        values.append(text[position : position + length])
        position += length
    if "|" in text:
        cut_short = next(n for n, value in enumerate(values) if "|" in value)
        raise MalformedMessage(
            f"fixed field {spec.fixed[cut_short].name} of {spec.code} is cut short"
        )
    if strict:
        for fixed_field, value in zip(spec.fixed, values, strict=True):
            problem = fixed_field.problem(value)
            if problem is not None:
                raise MalformedMessage(f"message {spec.code}: {problem}")
    return tuple(values)


def _variable_fields(text: str, strict: bool) -> tuple[tuple[tuple[str, str], ...], bool]:
    if not text:
        return (), True
    segments = text.split("|")
    closed = segments[-1] == ""
    if closed:
        segments.pop()
    elif strict:
        raise MalformedMessage("the last field is not closed with '|'")
    for number, segment in enumerate(segments):
        if len(segment) < 2 or (strict and not _STRICT_FIELD_CODE.fullmatch(segment[:2])):
            position = sum(len(before) + 1 for before in segments[:number])
            raise MalformedMessage(f"a variable field at character {position} has no field code")
    return tuple([(segment[:2], segment[2:]) for segment in segments]), closed


def _check_fields(spec: MessageSpec, fields: tuple[tuple[str, str], ...]) -> None:
    seen: set[str] = set()
    for field_code, _ in fields:
        if field_code in seen and field_code not in REPEATABLE:
            raise MalformedMessage(f"field {field_code} appears twice in message {spec.code}")
        seen.add(field_code)
    missing = [code for code in spec.required if code not in seen]
    if missing:
        raise MalformedMessage(f"message {spec.code} lacks required field(s) {missing}")
