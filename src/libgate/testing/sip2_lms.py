"""An LMS that speaks SIP2 2.00 over TCP (optionally TLS): it stands in for a commercial
library management system in libgate's tests, benchmarks and demo.

It behaves like the systems libgate meets in the field, their faults included: it sends a
patron's personal details whenever the card is known, whatever the PIN, and it can be told
to accept a blank PIN, to damage checksums or to answer slowly.

On its own, for the demo: ``python -m libgate.testing.sip2_lms --port 6001``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import logging
import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from importlib import resources
from ssl import SSLContext
from types import TracebackType

from libgate.sip2 import (
    DEFAULT_ENCODING,
    DEFAULT_MAX_SIZE,
    ENCODINGS,
    FrameReader,
    Message,
    Sip2Error,
    decode,
    encode,
    sip2_datetime,
)

log = logging.getLogger(__name__)

LOAN_PERIOD = dt.timedelta(days=14)
_LANGUAGE = "001"  # English
_NO_COUNT = "0000"
# BX: one flag per SIP2 2.00 request, in the specification's order. All are answered.
_SUPPORTED_MESSAGES = "Y" * 16


@dataclass
class EmulatedPatron:
    """A borrower as the LMS holds them. Loans live on the items (``on_loan_to``)."""

    card: str
    pin: str = field(repr=False)
    name: str
    email: str = ""
    address: str = ""
    phone: str = ""
    birth_date: str = ""  # as LMSs send it in PB: YYYYMMDD
    expires: dt.date | None = None
    branch: str = ""
    category: str = ""
    blocked: bool = False
    fines: Decimal | str = Decimal("0.00")
    hold_items: list[str] = field(default_factory=list)


@dataclass
class EmulatedItem:
    """A copy of a title. ``due`` is an aware datetime while the item is on loan."""

    barcode: str
    title: str
    permanent_location: str = "MAIN"
    media_type: str = "001"  # book
    on_loan_to: str | None = None
    due: dt.datetime | None = None
    on_hold_for: list[str] = field(default_factory=list)  # cards, first in the queue first


@dataclass
class _Session:
    logged_in: bool = False
    last_response: Message | None = None  # as first sent, for the client's 97


class LmsEmulator:
    """A SIP2 server on ``host``:``port`` (127.0.0.1 and a free port unless given).

    Its state is public so tests can arrange and inspect it: ``patrons`` and ``items`` (by
    card and barcode), ``received`` (every request it could decode, in order),
    ``connections_accepted`` and ``logins`` (successful 93s). ``blank_pin_is_valid``,
    ``corrupt_next_responses`` and ``response_delay`` may be changed while it runs.
    """

    def __init__(
        self,
        *,
        patrons: Iterable[EmulatedPatron] = (),
        items: Iterable[EmulatedItem] = (),
        login: tuple[str, str] | None = ("libgate", "lms-secret"),
        institution: str = "LIB",
        library_name: str = "Emulated Library",
        host: str = "127.0.0.1",
        port: int = 0,
        encoding: str = DEFAULT_ENCODING,
        error_detection: bool = True,
        ssl: SSLContext | None = None,
        response_delay: float = 0.0,
        blank_pin_is_valid: bool = False,
        corrupt_next_responses: int = 0,
        max_message_size: int = DEFAULT_MAX_SIZE,
        idle_timeout: float = 60.0,
        record: bool = True,
    ) -> None:
        self.patrons = {patron.card: patron for patron in patrons}
        self.items = {item.barcode: item for item in items}
        self.login = login  # None: any CN/CO is accepted (a login is still required)
        self.institution = institution
        self.library_name = library_name
        self.host = host
        self.port = port
        self.encoding = encoding
        self.error_detection = error_detection
        self.ssl = ssl
        self.response_delay = response_delay
        self.blank_pin_is_valid = blank_pin_is_valid
        self.corrupt_next_responses = corrupt_next_responses
        self.max_message_size = max_message_size
        self.idle_timeout = idle_timeout
        self.record = record  # False for long runs (bench, demo): ``received`` would only grow
        self.received: list[Message] = []
        self.connections_accepted = 0
        self.logins = 0
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._handlers: dict[str, Callable[[Message], Message]] = {
            "99": self._sc_status,
            "63": self._patron_information,
            "23": lambda request: self._patron_status("24", request),
            "01": self._block_patron,
            "25": self._enable_patron,
            "11": self._checkout,
            "09": self._checkin,
            "17": self._item_information,
            "19": self._item_status_update,
            "29": self._renew,
            "65": self._renew_all,
            "15": self._hold,
            "35": self._end_session,
            "37": self._fee_paid,
        }

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the LMS emulator is already running")
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.ssl)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close the listener and every open connection at once, as if the LMS died."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        tasks = list(self._connections)
        for task, writer in list(self._connections.items()):
            writer.transport.abort()
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    async def __aenter__(self) -> LmsEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # The conversation ---------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if self._server is None or task is None:  # accepted just as stop() ran
            writer.transport.abort()
            return
        self._connections[task] = writer
        self.connections_accepted += 1
        frames = FrameReader(reader, max_size=self.max_message_size)
        session = _Session()
        try:
            while True:
                try:
                    async with asyncio.timeout(self.idle_timeout):
                        frame = await frames.read()
                except (TimeoutError, Sip2Error):
                    return  # idle too long, or framing lost (too large, cut short): hang up
                if frame is None:
                    return
                response = self._respond(frame, session)
                if response is None:
                    return
                session.last_response = response
                if self.response_delay:
                    await asyncio.sleep(self.response_delay)
                writer.write(self._wire(response))
                await writer.drain()
        except OSError:
            pass  # the client went away
        except asyncio.CancelledError:
            # Only stop() cancels this task. Ending normally keeps Python 3.11's streams from
            # logging the cancellation as an error ("Exception in callback ...").
            pass
        except Exception:
            log.exception("LMS emulator: a connection failed")
        finally:
            del self._connections[task]
            writer.close()

    def _respond(self, frame: bytes, session: _Session) -> Message | None:
        """The answer to one frame, or None to hang up."""
        try:
            request = decode(frame, encoding=self.encoding, max_size=self.max_message_size)
        except Sip2Error:
            return Message("96", checksummed=self.error_detection)
        if self.record:
            self.received.append(request)
        if request.code == "97" and session.last_response is not None:
            return session.last_response
        if request.code == "93":
            response = self._login(request)
            session.logged_in = response.fixed_value("ok") == "1"
        elif session.logged_in or request.code == "99":
            handler = self._handlers.get(request.code)
            if handler is None:
                return Message("96", checksummed=self.error_detection)
            response = handler(request)
        else:
            return None  # like real LMSs: nothing but a status request before the login
        if not self.error_detection:
            return response
        # A client without AY gets no AY back: it could not match one to its request.
        return replace(response, sequence=request.sequence, checksummed=True)

    def _wire(self, response: Message) -> bytes:
        data = encode(response, encoding=self.encoding)
        if self.corrupt_next_responses > 0 and response.checksummed:
            self.corrupt_next_responses -= 1
            wrong = (int(data[-5:-1], 16) + 1) & 0xFFFF
            data = data[:-5] + f"{wrong:04X}".encode("ascii") + data[-1:]
        return data

    def _login(self, request: Message) -> Message:
        accepted = self.login is None or (request.get("CN"), request.get("CO")) == self.login
        if accepted:
            self.logins += 1
        return Message.build("94", {"ok": "1" if accepted else "0"})

    # Patrons ------------------------------------------------------------------------------

    def _sc_status(self, request: Message) -> Message:
        return Message.build(
            "98",
            {
                "online_status": "Y",
                "checkin_ok": "Y",
                "checkout_ok": "Y",
                "acs_renewal_policy": "Y",
                "status_update_ok": "Y",
                "offline_ok": "N",
                "timeout_period": "030",
                "retries_allowed": "003",
                "protocol_version": "2.00",
            },
            [("AO", self.institution), ("AM", self.library_name), ("BX", _SUPPORTED_MESSAGES)],
        )

    def _patron_information(self, request: Message) -> Message:
        card = request.get("AA") or ""
        patron = self.patrons.get(card)
        if patron is None:
            return Message.build(
                "64",
                {"patron_status": " " * 14, "language": _LANGUAGE, **_counts()},
                [
                    ("AO", self.institution),
                    ("AA", card),
                    ("AE", ""),
                    ("BL", "N"),
                    *self._password_check(None, request),
                ],
            )
        now = dt.datetime.now(dt.UTC)
        charged = [item.barcode for item in self._loans(patron)]
        overdue = [item.barcode for item in self._loans(patron) if item.due and item.due < now]
        fines = Decimal(patron.fines)
        fine_items = [f"{fines:.2f} overdue charges"] if fines else []
        lists = [("AS", patron.hold_items), ("AT", overdue), ("AU", charged), ("AV", fine_items)]
        fields = [
            ("AO", self.institution),
            ("AA", card),
            ("AE", patron.name),
            ("BL", "Y"),
            *self._password_check(patron, request),
            ("BZ", "0010"),
            ("CA", "0005"),
            ("CB", "0020"),
            ("BH", "GBP"),
            ("BV", f"{fines:.2f}"),
            ("CC", "10.00"),
            ("BD", patron.address),
            ("BE", patron.email),
            ("BF", patron.phone),
            ("PB", patron.birth_date),
            ("PC", patron.category),
            ("PA", _sip2_date(patron.expires) if patron.expires else ""),
            ("AQ", patron.branch),
        ]
        # The summary's first four positions ask for these lists (like real LMSs, whole).
        summary = request.fixed_value("summary")
        for position, (code, values) in enumerate(lists):
            if summary[position] == "Y":
                fields += [(code, value) for value in values]
        fields.append(("AF", self._screen_message(patron)))
        return Message.build(
            "64",
            {
                "patron_status": _status_flags(patron),
                "language": _LANGUAGE,
                **_counts(
                    hold=len(patron.hold_items),
                    overdue=len(overdue),
                    charged=len(charged),
                    fine=len(fine_items),
                ),
            },
            fields,
        )

    def _patron_status(self, code: str, request: Message) -> Message:
        card = request.get("AA") or ""
        patron = self.patrons.get(card)
        fields = [
            ("AO", self.institution),
            ("AA", card),
            ("AE", patron.name if patron else ""),
            ("BL", "Y" if patron else "N"),
            *self._password_check(patron, request),
        ]
        if patron is not None:
            fields += [("BV", f"{Decimal(patron.fines):.2f}"), ("AF", self._screen_message(patron))]
        return Message.build(
            code, {"patron_status": _status_flags(patron), "language": _LANGUAGE}, fields
        )

    def _block_patron(self, request: Message) -> Message:
        patron = self.patrons.get(request.get("AA") or "")
        if patron is not None:
            patron.blocked = True
        return self._patron_status("24", request)

    def _enable_patron(self, request: Message) -> Message:
        patron = self.patrons.get(request.get("AA") or "")
        if patron is not None:
            patron.blocked = False
        return self._patron_status("26", request)

    def _end_session(self, request: Message) -> Message:
        return Message.build(
            "36",
            {"end_session": "Y"},
            [("AO", self.institution), ("AA", request.get("AA") or "")],
        )

    def _fee_paid(self, request: Message) -> Message:
        patron = self.patrons.get(request.get("AA") or "")
        try:
            amount = Decimal(request.get("BV") or "")
        except InvalidOperation:
            amount = Decimal(0)
        accepted = patron is not None and amount.is_finite() and amount > 0
        if patron is not None and accepted:
            patron.fines = max(Decimal(patron.fines) - amount, Decimal("0.00"))
        return Message.build(
            "38",
            {"payment_accepted": "Y" if accepted else "N"},
            [("AO", self.institution), ("AA", request.get("AA") or "")],
        )

    def _password_check(
        self, patron: EmulatedPatron | None, request: Message
    ) -> list[tuple[str, str]]:
        """CQ, present only when the request carried AD."""
        pin = request.get("AD")
        if pin is None:
            return []
        return [("CQ", "Y" if patron is not None and self._pin_ok(patron, pin) else "N")]

    def _pin_ok(self, patron: EmulatedPatron, pin: str) -> bool:
        if pin == "":
            return self.blank_pin_is_valid
        return pin == patron.pin

    def _screen_message(self, patron: EmulatedPatron) -> str:
        if patron.blocked:
            return "Your card is blocked. Please contact the library."
        if patron.expires is not None and patron.expires < dt.date.today():
            return "Your card has expired. Please renew it at any branch."
        return f"Welcome to {self.library_name}."

    # Circulation --------------------------------------------------------------------------

    def _borrower(self, request: Message) -> EmulatedPatron | str:
        """The patron a circulation request is for, or why it is refused."""
        patron = self.patrons.get(request.get("AA") or "")
        if patron is None:
            return "Patron not found."
        pin = request.get("AD")
        if pin is not None and not self._pin_ok(patron, pin):
            return "Invalid PIN."
        if patron.blocked:
            return "Your card is blocked."
        return patron

    def _loans(self, patron: EmulatedPatron) -> list[EmulatedItem]:
        return [item for item in self.items.values() if item.on_loan_to == patron.card]

    def _checkout(self, request: Message) -> Message:
        item = self.items.get(request.get("AB") or "")
        borrower = self._borrower(request)
        if isinstance(borrower, str):
            return self._loan_response("12", request, item, refusal=borrower)
        if item is None:
            return self._loan_response("12", request, item, refusal="Item not found.")
        if item.on_loan_to not in (None, borrower.card):
            return self._loan_response("12", request, item, refusal="Item is on loan.")
        # A checkout of an item the patron already has is a renewal, as on real LMSs.
        renewal = item.on_loan_to == borrower.card
        item.on_loan_to = borrower.card
        item.due = dt.datetime.now(dt.UTC) + LOAN_PERIOD
        return self._loan_response("12", request, item, renewal=renewal)

    def _renew(self, request: Message) -> Message:
        item = self.items.get(request.get("AB") or "")
        borrower = self._borrower(request)
        if isinstance(borrower, str):
            return self._loan_response("30", request, item, refusal=borrower)
        if item is None or item.on_loan_to != borrower.card:
            return self._loan_response("30", request, item, refusal="Item is not on your card.")
        _extend(item)
        return self._loan_response("30", request, item, renewal=True)

    def _renew_all(self, request: Message) -> Message:
        borrower = self._borrower(request)
        if isinstance(borrower, str):
            return Message.build(
                "66",
                {"ok": "0", "renewed_count": _NO_COUNT, "unrenewed_count": _NO_COUNT},
                [("AO", self.institution), ("AF", borrower)],
            )
        renewed = self._loans(borrower)
        for item in renewed:
            _extend(item)
        return Message.build(
            "66",
            {"ok": "1", "renewed_count": f"{len(renewed):04d}", "unrenewed_count": _NO_COUNT},
            [("AO", self.institution), *[("BM", item.barcode) for item in renewed]],
        )

    def _loan_response(
        self,
        code: str,
        request: Message,
        item: EmulatedItem | None,
        *,
        refusal: str | None = None,
        renewal: bool = False,
    ) -> Message:
        fields = [
            ("AO", self.institution),
            ("AA", request.get("AA") or ""),
            ("AB", request.get("AB") or ""),
            ("AJ", item.title if item else ""),
        ]
        if refusal is not None:
            fields.append(("AF", refusal))
        elif item is not None and item.due is not None:
            fields.append(("AH", sip2_datetime(item.due)))
        return Message.build(
            code,
            {
                "ok": "0" if refusal else "1",
                "renewal_ok": "Y" if renewal else "N",
                "magnetic_media": "N",
                "desensitize": "N" if refusal else "Y",
            },
            fields,
        )

    def _checkin(self, request: Message) -> Message:
        barcode = request.get("AB") or ""
        item = self.items.get(barcode)
        fields = [("AO", self.institution), ("AB", barcode)]
        if item is None:
            fields += [("AQ", ""), ("AF", "Item not found.")]
        else:
            fields += [("AQ", item.permanent_location), ("AJ", item.title)]
            if item.on_loan_to is not None:
                fields.append(("AA", item.on_loan_to))
            item.on_loan_to, item.due = None, None
        return Message.build(
            "10",
            {
                "ok": "1" if item else "0",
                "resensitize": "Y" if item else "N",
                "magnetic_media": "N",
                # Alert: the item goes to the hold shelf, not back on the shelves.
                "alert": "Y" if item and item.on_hold_for else "N",
            },
            fields,
        )

    def _item_information(self, request: Message) -> Message:
        barcode = request.get("AB") or ""
        item = self.items.get(barcode)
        if item is None:
            return Message.build(
                "18",
                {"circulation_status": "01", "security_marker": "00", "fee_type": "01"},
                [("AB", barcode), ("AJ", ""), ("AF", "Item not found.")],
            )
        if item.on_loan_to is not None:
            status = "04"  # charged
        elif item.on_hold_for:
            status = "08"  # waiting on hold shelf
        else:
            status = "03"  # available
        fields = [
            ("AB", barcode),
            ("AJ", item.title),
            ("AQ", item.permanent_location),
            ("CK", item.media_type),
            ("CF", str(len(item.on_hold_for))),
        ]
        if item.due is not None:
            fields.append(("AH", sip2_datetime(item.due)))
        return Message.build(
            "18",
            {"circulation_status": status, "security_marker": "02", "fee_type": "01"},
            fields,
        )

    def _item_status_update(self, request: Message) -> Message:
        barcode = request.get("AB") or ""
        item = self.items.get(barcode)
        fields = [("AB", barcode), ("AJ", item.title if item else "")]
        if item is None:
            fields.append(("AF", "Item not found."))
        return Message.build("20", {"item_properties_ok": "1" if item else "0"}, fields)

    def _hold(self, request: Message) -> Message:
        item = self.items.get(request.get("AB") or "")
        borrower = self._borrower(request)
        fields = [
            ("AO", self.institution),
            ("AA", request.get("AA") or ""),
            ("AB", request.get("AB") or ""),
            ("AJ", item.title if item else ""),
        ]
        if isinstance(borrower, str) or item is None:
            fields.append(("AF", borrower if isinstance(borrower, str) else "Item not found."))
            return Message.build("16", {"ok": "0", "available": "N"}, fields)
        mode = request.fixed_value("hold_mode")
        if mode == "+" and borrower.card not in item.on_hold_for:
            item.on_hold_for.append(borrower.card)
            borrower.hold_items.append(item.barcode)
        elif mode == "-" and borrower.card in item.on_hold_for:
            item.on_hold_for.remove(borrower.card)
            borrower.hold_items.remove(item.barcode)
        # "*" changes a hold's pickup details, which the emulator does not keep.
        if borrower.card in item.on_hold_for:
            fields.append(("BR", str(item.on_hold_for.index(borrower.card) + 1)))
        available = item.on_loan_to is None and item.on_hold_for[:1] == [borrower.card]
        return Message.build("16", {"ok": "1", "available": "Y" if available else "N"}, fields)


def _extend(item: EmulatedItem) -> None:
    now = dt.datetime.now(dt.UTC)
    item.due = max(item.due or now, now) + LOAN_PERIOD


def _status_flags(patron: EmulatedPatron | None) -> str:
    # Position 0: charge privileges denied.
    return ("Y" if patron is not None and patron.blocked else " ") + " " * 13


def _counts(*, hold: int = 0, overdue: int = 0, charged: int = 0, fine: int = 0) -> dict[str, str]:
    return {
        "hold_items_count": f"{hold:04d}",
        "overdue_items_count": f"{overdue:04d}",
        "charged_items_count": f"{charged:04d}",
        "fine_items_count": f"{fine:04d}",
        "recall_items_count": _NO_COUNT,
        "unavailable_holds_count": _NO_COUNT,
    }


def _sip2_date(day: dt.date) -> str:
    return sip2_datetime(dt.datetime.combine(day, dt.time()))


# Demo data ----------------------------------------------------------------------------------

_STREETS = ("High Street", "Church Lane", "Station Road", "Mill Lane", "Park Avenue", "Kings Road")
_TITLES = (
    "Pride and Prejudice",
    "Middlemarch",
    "Great Expectations",
    "Jane Eyre",
    "Wuthering Heights",
    "Frankenstein",
    "The Moonstone",
    "North and South",
    "The Time Machine",
    "Treasure Island",
    "The Secret Garden",
    "Far from the Madding Crowd",
)
_BRANCHES = ("Central Library", "Northgate", "Riverside", "Eastfield")
_FIRST_DEMO_CARD = 21000000000001


def demo_patrons() -> list[EmulatedPatron]:
    """The demo's sample patrons (``libgate/demo/patrons.csv``), with made-up addresses,
    phone numbers, birth dates and fines: the same every time."""
    text = (resources.files("libgate") / "demo" / "patrons.csv").read_text(encoding="utf-8")
    patrons = []
    for n, row in enumerate(csv.DictReader(text.splitlines()), start=1):
        year = {"CHILD": 2014, "SENIOR": 1948}.get(row["category"], 1975) + n % 7
        patrons.append(
            EmulatedPatron(
                card=row["card"],
                pin=row["pin"],
                name=row["name"],
                email=row["email"],
                address=f"{n * 7 % 90 + 1} {_STREETS[n % len(_STREETS)]}, Northshire",
                phone=f"0113 496 {n:04d}",  # Ofcom's range for drama: nobody's real number
                birth_date=f"{year}{n % 12 + 1:02d}{n % 28 + 1:02d}",
                expires=dt.date.fromisoformat(row["expires"]),
                branch=row["branch"],
                category=row["category"],
                blocked=bool(row.get("blocked")),
                fines=Decimal("2.40") if n % 4 == 0 else Decimal("0.00"),
            )
        )
    return patrons


def demo_items(n: int = 50) -> list[EmulatedItem]:
    """``n`` items, the same every time. Every fifth is on loan to one of the first ten demo
    patrons, due between a week ago and two weeks ahead (counted from today)."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    items = []
    for i in range(n):
        item = EmulatedItem(
            barcode=f"3100000000{i + 1:04d}",
            title=_TITLES[i % len(_TITLES)],
            permanent_location=_BRANCHES[i % len(_BRANCHES)],
        )
        if i % 5 == 0:
            item.on_loan_to = str(_FIRST_DEMO_CARD + i // 5 % 10)
            item.due = today + dt.timedelta(days=i % 21 - 7)
        items.append(item)
    return items


# Command line -------------------------------------------------------------------------------


async def _run_until_signalled(host: str, port: int, encoding: str) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stopping.set)
    async with LmsEmulator(
        patrons=demo_patrons(),
        items=demo_items(),
        host=host,
        port=port,
        encoding=encoding,
        record=False,
    ) as lms:
        print(f"LMS emulator listening on {lms.host}:{lms.port}", flush=True)
        await stopping.wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m libgate.testing.sip2_lms",
        description="A SIP2 LMS emulator with the demo patrons and items "
        "(SIP2 login libgate / lms-secret). Runs until SIGTERM or SIGINT.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="default: any free port")
    parser.add_argument("--encoding", default=DEFAULT_ENCODING, choices=ENCODINGS)
    args = parser.parse_args(argv)
    asyncio.run(_run_until_signalled(args.host, args.port, args.encoding))


if __name__ == "__main__":
    main()
