"""One logged-in SIP2 connection to the LMS: sequence numbers, checksums, resends, timeouts."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from dataclasses import dataclass

from libgate.sip2._codec import DEFAULT_ENCODING, DEFAULT_MAX_SIZE, Message, decode, encode
from libgate.sip2._errors import ChecksumMismatch, Sip2Error
from libgate.sip2._protocol import FrameProtocol

log = logging.getLogger("libgate.sip2.lms")

_RESEND = Message("97", checksummed=True)


class LmsError(Exception):
    """The LMS could not be used for this request. The message says why in words for staff;
    it never carries a field value."""


class LmsUnavailable(LmsError):
    """Not reachable, timed out, closed the connection, or the circuit breaker is open."""


class LmsNotReached(LmsUnavailable):
    """The request never left libgate (no connection, or the circuit breaker is open), so
    it is safe to send again later."""


class LmsProtocolError(LmsError):
    """The LMS answered with something that is not the SIP2 answer to what was asked."""


class LmsLoginRefused(LmsError):
    """The LMS refused libgate's 93 login: the SIP2 account or password is wrong."""


@dataclass(frozen=True)
class LmsLink:
    """How to reach and log in to the LMS's SIP2 service."""

    host: str
    port: int
    login_user: str
    login_password: str
    location_code: str = ""
    ssl: ssl.SSLContext | None = None
    encoding: str = DEFAULT_ENCODING
    error_detection: bool = True
    timeout: float = 5.0
    max_resends: int = 2
    max_message_size: int = DEFAULT_MAX_SIZE


class LmsConnection:
    """A connection that has logged in. Not safe for two requests at once: the pool hands
    each connection to one request at a time."""

    def __init__(self, link: LmsLink, protocol: FrameProtocol) -> None:
        self._link = link
        self._protocol = protocol
        self._sequence = 0
        self.last_used = time.monotonic()

    @classmethod
    async def open(cls, link: LmsLink) -> LmsConnection:
        """Connect (TLS when configured, with certificate verification) and log in (93)."""
        connection = await cls.connect(link)
        try:
            await connection.login()
        except BaseException:
            await connection.close()
            raise
        return connection

    @classmethod
    async def connect(cls, link: LmsLink) -> LmsConnection:
        """The TCP (or TLS) connection alone, not yet logged in."""
        try:
            async with asyncio.timeout(link.timeout):
                _, protocol = await asyncio.get_running_loop().create_connection(
                    lambda: FrameProtocol(link.max_message_size),
                    link.host,
                    link.port,
                    ssl=link.ssl,
                    server_hostname=link.host if link.ssl else None,
                )
        except ssl.SSLError as exc:
            raise LmsNotReached(f"TLS with the LMS failed: {exc.reason}") from exc
        except (OSError, TimeoutError) as exc:
            raise LmsNotReached(f"cannot connect to the LMS at {link.host}:{link.port}") from exc
        return cls(link, protocol)

    async def login(self) -> None:
        answer = await self.exchange(
            Message.build(
                "93",
                {"uid_algorithm": "0", "pwd_algorithm": "0"},
                [
                    ("CN", self._link.login_user),
                    ("CO", self._link.login_password),
                    ("CP", self._link.location_code),
                ],
            )
        )
        if answer.fixed_value("ok") != "1":
            raise LmsLoginRefused("the LMS refused the SIP2 login (check login_user/password)")

    async def exchange(self, request: Message) -> Message:
        """Send ``request`` and return the LMS's answer to it. Any failure leaves the
        connection unusable (close it): its place in the conversation is unknown."""
        expected = request.spec.response
        if self._link.error_detection:
            request = request.with_error_detection(self._next_sequence())
        else:
            request = request.with_error_detection(None)
        wire = encode(request, encoding=self._link.encoding)
        resends = 0
        deadline = self._protocol.loop_time + self._link.timeout
        try:
            try:
                self._protocol.send(wire)
            except OSError as exc:  # closed before a byte of this request went
                raise LmsNotReached("the connection to the LMS had closed") from exc
            while True:
                frame = await self._protocol.next_frame(deadline)
                if frame is None:
                    raise LmsUnavailable("the LMS closed the connection")
                try:
                    answer = decode(frame, encoding=self._link.encoding)
                except ChecksumMismatch:
                    # Damaged on the way: ask for the answer again (SIP2's 97).
                    resends += 1
                    if resends > self._link.max_resends:
                        raise LmsProtocolError(
                            "answers from the LMS keep failing their checksum"
                        ) from None
                    self._protocol.send(encode(_RESEND, encoding=self._link.encoding))
                    continue
                if answer.code == "96" and resends < self._link.max_resends:
                    resends += 1  # the LMS could not read ours: send it again
                    self._protocol.send(wire)
                    continue
                break
        except TimeoutError as exc:
            raise LmsUnavailable(f"the LMS did not answer within {self._link.timeout:g} s") from exc
        except OSError as exc:
            raise LmsUnavailable("the connection to the LMS failed") from exc
        except Sip2Error as exc:
            raise LmsProtocolError(f"the LMS sent a message libgate cannot read: {exc}") from exc
        if answer.code != expected:
            raise LmsProtocolError(
                f"the LMS answered message {request.code} with {answer.code}, not {expected}"
            )
        if answer.sequence is not None and answer.sequence != request.sequence:
            raise LmsProtocolError("the LMS's answer carries another request's sequence number")
        self.last_used = time.monotonic()
        return answer

    def _next_sequence(self) -> int:
        sequence = self._sequence
        self._sequence = (self._sequence + 1) % 10
        return sequence

    @property
    def is_open(self) -> bool:
        return self._protocol.is_open

    async def close(self) -> None:
        self._protocol.close()
