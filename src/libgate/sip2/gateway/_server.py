"""The gateway: kiosks and vendors connect here instead of to the LMS. Each logs in with its
own account; each message is checked against its policy, forwarded over libgate's pooled
LMS connections, cut down to what the policy releases, and audited."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from libgate.config import GatewaySettings, VendorPolicy
from libgate.patrons import normalise_card
from libgate.privacy import BufferedAudit, Pseudonyms
from libgate.sip2._codec import Message, decode, encode
from libgate.sip2._connection import LmsError, LmsNotReached, LmsUnavailable
from libgate.sip2._errors import Sip2Error
from libgate.sip2._pool import LmsPool
from libgate.sip2._protocol import FrameProtocol
from libgate.sip2.gateway._journal import Journal, OfflineRefusal
from libgate.sip2.gateway._policy import fields_released, permits, refusal, released
from libgate.sip2.gateway._vendors import Vendor, VendorRegistry

log = logging.getLogger("libgate.sip2.gateway")

_MAX_LOGIN_FAILURES = 3
# How often a logged-in connection's account is checked again: removing an account ends its
# connections within this long, at the cost of one read per account this often.
RECHECK_SECONDS = 5.0
# A kiosk logs in as soon as it connects: a connection still not logged in after this long
# only holds one of the gateway's places (max_connections) from the kiosks that would.
LOGIN_SECONDS = 10.0
_OFFLINE_MESSAGES = frozenset({"11", "09"})
_Key = TypeVar("_Key")


@dataclass
class _Connection:
    peer: str
    encoding: str = "cp850"
    vendor: Vendor | None = None
    login_failures: int = 0
    last_answer: bytes | None = None
    tokens: float = 0.0
    refilled_at: float = field(default_factory=time.monotonic)

    def take_token(self, rate: float) -> bool:
        """Token bucket: ``rate`` messages a second, bursts of up to two seconds' worth."""
        now = time.monotonic()
        self.tokens = min(self.tokens + (now - self.refilled_at) * rate, rate * 2)
        self.refilled_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Gateway:
    def __init__(
        self,
        *,
        settings: Callable[[], GatewaySettings],
        lms: LmsPool,
        vendors: VendorRegistry,
        pseudonyms: Pseudonyms,
        audit: BufferedAudit,
        journal: Journal,
        institution: str = "",
    ) -> None:
        self._settings = settings
        self._lms = lms
        self._vendors = vendors
        self._pseudonyms = pseudonyms
        self._audit = audit
        self._journal = journal
        self._institution = institution
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._per_address: Counter[str] = Counter()  # connections open, by peer address
        # Connections logged in, by account: (login, created_at), as an account removed and
        # made again (a new password) is a new account, its old connections not its own.
        self._per_account: Counter[tuple[str, float]] = Counter()
        # account -> (when checked, whether it still stands)
        self._accounts_checked: dict[tuple[str, float], tuple[float, bool]] = {}

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> None:
        # reuse_port: several gateway processes can serve one port, the kernel spreading
        # connections over them (they share all state through the database).
        self._server = await asyncio.get_running_loop().create_server(
            # The size as the settings say now: a reloaded one applies to new connections.
            lambda: FrameProtocol(
                self._settings().max_message_size, on_connection_made=self._admit
            ),
            host,
            port,
            ssl=tls,
            # A connection is only counted (max_connections) once its TLS handshake is done:
            # the handshake gets a deadline as long as the one for logging in, which starts
            # after it.
            ssl_handshake_timeout=LOGIN_SECONDS if tls else None,
            reuse_port=port != 0,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _admit(self, kiosk: FrameProtocol) -> None:
        settings = self._settings()
        address = kiosk.peer_host
        if (
            len(self._connections) >= settings.max_connections
            or self._per_address[address] >= settings.max_connections_per_address
        ):
            kiosk.close()  # full: refuse rather than queue, so kiosks fail over quickly
            return
        self._per_address[address] += 1
        task = asyncio.get_running_loop().create_task(self._serve(kiosk))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)
        task.add_done_callback(lambda _: _let_go(self._per_address, address))

    async def _serve(self, kiosk: FrameProtocol) -> None:
        settings = self._settings()
        connection = _Connection(kiosk.peer_host)
        log_in_by = kiosk.loop_time + LOGIN_SECONDS
        try:
            while True:
                idle_until = kiosk.loop_time + settings.idle_timeout_seconds
                frame = await kiosk.next_frame(
                    idle_until if connection.vendor else min(idle_until, log_in_by),
                    settings.message_timeout_seconds,
                )
                if frame is None:
                    return
                answer = await self._answer(connection, frame)
                if answer is None:
                    return
                kiosk.send(answer)  # one write per answer: some SIP2 clients read just once
                if not kiosk.writable:
                    await kiosk.drain()
        except (TimeoutError, Sip2Error, OSError):
            pass  # too slow, too big, or cut off: the stream's framing is lost
        except asyncio.CancelledError:
            pass  # stopping: the connection just ends
        except Exception:
            log.exception("SIP2 connection failed")
        finally:
            kiosk.close()
            if connection.vendor is not None:
                _let_go(self._per_account, _account(connection.vendor))

    async def _answer(self, connection: _Connection, frame: bytes) -> bytes | None:
        """The bytes to send back, or None to hang up."""
        try:
            request = decode(frame, encoding=connection.encoding)
        except Sip2Error:
            return encode(Message("96", checksummed=True), encoding=connection.encoding)
        if request.code == "97":  # resend the last answer (or say there is none)
            return connection.last_answer or encode(Message("96", checksummed=True))
        if request.spec.response is None and request.code != "93":
            # An answer-type message (94, 64 ...) sent as a request: nothing to do with it.
            return encode(Message("96", checksummed=True), encoding=connection.encoding)
        if request.code == "93":
            if connection.vendor is not None:
                return None  # one account per connection: no switching, no fresh rate allowance
            message = await self._login(connection, request)
            if message is None:
                return None
        elif connection.vendor is None:
            return None  # nothing but a login before logging in
        elif not await self._account_open(connection.vendor):
            return None  # removed (or removed and made again) since it logged in
        else:
            message = await self._exchange(connection, connection.vendor, request)
        # Answer in the client's own style: its sequence number, checksum and line ending.
        message = message.framed_like(request)
        connection.last_answer = encode(message, encoding=connection.encoding, errors="replace")
        return connection.last_answer

    async def _login(self, connection: _Connection, request: Message) -> Message | None:
        login = request.get("CN") or ""
        vendor = await self._vendors.authenticate(login, request.get("CO") or "")
        policy = self._policy(vendor) if vendor else None
        if vendor is None or policy is None:
            return self._login_failed(connection, login)
        account = _account(vendor)
        if policy.max_connections and self._per_account[account] >= policy.max_connections:
            return self._login_failed(
                connection,
                login,
                reason=f"already {policy.max_connections} connections, its policy's limit",
            )
        self._per_account[account] += 1
        connection.vendor = vendor
        connection.encoding = policy.encoding
        connection.tokens = policy.rate_per_second
        self._audit.add("sip2.login", client_id=vendor.login, ip=connection.peer)
        return Message.build("94", {"ok": "1"})

    def _login_failed(self, connection: _Connection, login: str, **detail: str) -> Message | None:
        connection.login_failures += 1
        self._audit.add("sip2.login_failed", client_id=login, ip=connection.peer, **detail)
        if connection.login_failures >= _MAX_LOGIN_FAILURES:
            return None
        return Message.build("94", {"ok": "0"})

    async def _account_open(self, vendor: Vendor) -> bool:
        now = time.monotonic()
        key = _account(vendor)
        checked = self._accounts_checked.get(key)
        if checked is None or now - checked[0] > RECHECK_SECONDS:
            current = await self._vendors.current(vendor.login)
            checked = (now, current is not None and current.created_at == vendor.created_at)
            self._accounts_checked[key] = checked
        return checked[1]

    def _policy(self, vendor: Vendor) -> VendorPolicy | None:
        return self._settings().policies.get(vendor.policy)

    async def _exchange(self, connection: _Connection, vendor: Vendor, request: Message) -> Message:
        policy = self._policy(vendor)
        if policy is None or not permits(policy, request.code):
            self._record(connection, vendor, request, [], refused="not permitted")
            return refusal(request, f"This account may not send message {request.code}.")
        if not connection.take_token(policy.rate_per_second):
            self._record(connection, vendor, request, [], refused="rate limit")
            return refusal(request, "Too many requests: please slow down.")
        forwarded = request  # the LMS connection numbers and checksums it its own way
        if self._institution and request.get("AO") != self._institution:
            forwarded = request.with_fields(
                [(c, self._institution if c == "AO" else v) for c, v in request.fields]
            )
        if request.code in _OFFLINE_MESSAGES and await self._journal.waiting_for(
            request.get("AA") or "", request.get("AB") or ""
        ):
            # Earlier loans or returns of this card or item, taken while the LMS was down,
            # are not in it yet: this one must reach it after them.
            if policy.offline_lending:
                return await self._offline(connection, vendor, policy, request)
            self._record(connection, vendor, request, [], refused="offline journal not replayed")
            return refusal(request, "The library system is catching up. Please try in a minute.")
        try:
            answer = await self._lms.exchange(forwarded)
        except LmsNotReached:
            if policy.offline_lending and request.code in _OFFLINE_MESSAGES:
                return await self._offline(connection, vendor, policy, request)
            self._record(connection, vendor, request, [], refused="LMS unavailable")
            return refusal(request, "The library system is not available. Please try later.")
        except LmsUnavailable:
            # It reached the LMS, which did not answer: it may have been done, so it is
            # neither journaled (it could be done twice) nor to be repeated unchecked.
            self._record(connection, vendor, request, [], refused="LMS did not answer")
            return refusal(
                request, "The library system did not answer. Please ask staff to check it."
            )
        except LmsError:
            self._record(connection, vendor, request, [], refused="LMS error")
            return refusal(request, "The library system could not answer this request.")
        answer = released(policy, answer, lambda card: self._pseudonym(vendor, card))
        self._record(connection, vendor, request, fields_released(policy, answer))
        return answer

    async def _offline(
        self, connection: _Connection, vendor: Vendor, policy: VendorPolicy, request: Message
    ) -> Message:
        try:
            answer = await self._journal.accept(
                vendor.login,
                request,
                loans_per_patron=self._settings().offline_loans_per_patron,
            )
        except OfflineRefusal as exc:
            self._record(connection, vendor, request, [], refused=f"offline: {exc}")
            return refusal(request, str(exc))
        answer = released(policy, answer, lambda card: self._pseudonym(vendor, card))
        self._record(connection, vendor, request, fields_released(policy, answer), offline=True)
        return answer

    def _pseudonym(self, vendor: Vendor, card: str) -> str:
        return self._pseudonyms.pairwise_sub(f"sip2:{vendor.login}", card)

    def _record(
        self,
        connection: _Connection,
        vendor: Vendor,
        request: Message,
        fields_released: list[str],
        **detail: object,
    ) -> None:
        # Normalised as sign-in does, so that a resident has one reference in the trail.
        card = normalise_card(request.get("AA") or "")
        self._audit.add(
            "sip2.exchange",
            patron_ref=self._pseudonyms.patron_ref(card) if card else None,
            client_id=vendor.login,
            ip=connection.peer,
            message=request.code,
            fields_released=fields_released,
            **detail,
        )


def _account(vendor: Vendor) -> tuple[str, float]:
    """An account as the gateway tells accounts apart: by login and when it was made."""
    return (vendor.login, vendor.created_at)


def _let_go(counts: Counter[_Key], key: _Key) -> None:
    """One connection fewer under ``key``; a key with none left is forgotten, so the
    counts stay as small as the connections open."""
    counts[key] -= 1
    if counts[key] <= 0:
        del counts[key]
