"""``libgate audit ...``: check the audit trail, and read or export it without SQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, NoReturn

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from libgate.cli_common import ConfigOption, console, err, with_services
from libgate.patrons import normalise_card
from libgate.privacy import AuditEntry, AuditFilter, Pseudonyms
from libgate.services import Services

audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
FORMATS = ("table", "jsonl")


@audit_app.command("verify")
def audit_verify(config: ConfigOption = None) -> None:
    """Check the hash chain; exit 1 naming the first broken entry."""
    checked = with_services(config, lambda s: s.audit.verify())
    if checked.broken is not None:
        err.print(
            f"[red]Audit trail broken at {checked.broken.where}:[/red] {checked.broken.reason} "
            f"({checked.count} entries before it are intact)."
        )
        raise typer.Exit(1)
    console.print(f"Audit trail intact: {checked.count} entries.")
    # To write down outside the database: trimming the newest entries and rewriting the
    # head to match leaves a chain that checks out, but not one that still holds this.
    console.print(
        f"Head: entry {checked.head_seq}, hash {checked.head_hash}.",
        highlight=False,
        soft_wrap=True,
    )


@audit_app.command("show")
def audit_show(
    since: Annotated[
        str | None,
        typer.Option(metavar="WHEN", help="From this UTC date (YYYY-MM-DD) or time (…THH:MM)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN", help="Up to this UTC date (the whole day) or time (not included)."
        ),
    ] = None,
    event: Annotated[
        list[str] | None,
        typer.Option(help="An event name, or a prefix ending in a dot: sip2. (repeatable)."),
    ] = None,
    client: Annotated[
        str | None, typer.Option(help="Only this service (client ID) or SIP2 vendor login.")
    ] = None,
    card: Annotated[
        str | None,
        typer.Option(metavar="CARD", help="Only this resident's entries (the card is not shown)."),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=0, help="Show the newest N matching entries; 0 for all.")
    ] = 100,
    output: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="table|jsonl",
            help="table for people; jsonl (JSON lines) for tools.",
        ),
    ] = "table",
    config: ConfigOption = None,
) -> None:
    """Read the audit trail, oldest first: who received what, when. Entries not yet sealed
    into the chain are marked as such."""
    if output not in FORMATS:
        _usage_error(f"--format must be table or jsonl, not {output!r}.")
    if card is not None and not normalise_card(card):
        # an empty card would find every sign-in attempt made with an empty card box
        _usage_error("--card needs a card number.")
    start = _utc_moment("--since", since, whole_day=False)
    end = _utc_moment("--until", until, whole_day=True)

    async def read(services: Services) -> None:
        selection = AuditFilter(
            since=start,
            until=end,
            events=tuple(event or ()),
            client_id=client,
            patron_refs=_patron_refs(services.pseudonyms, card) if card is not None else None,
            newest=limit or None,
        )
        entries = services.audit.entries(selection)
        if output == "jsonl":
            await _write_jsonl(entries)
        else:
            _print_table([entry async for entry in entries], limit)

    with_services(config, read)


def _usage_error(message: str) -> NoReturn:
    # One line, whatever the terminal's width, and the user's text is not read as markup.
    err.print(message, soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(2)


def _utc_moment(option: str, value: str | None, *, whole_day: bool) -> float | None:
    """Seconds since 1970 for a date or a date and time. With ``whole_day`` a date alone
    means the end of that day, so that --until 2025-03-31 includes the 31st."""
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return _utc_time(option, value)
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return (start + dt.timedelta(days=1) if whole_day else start).timestamp()


def _utc_time(option: str, value: str) -> float:
    """A date and time, in UTC unless it names its offset (2025-03-31T09:00+01:00)."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        _usage_error(f"{option} {value!r} is not a date: give YYYY-MM-DD or YYYY-MM-DDTHH:MM.")
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def _patron_refs(pseudonyms: Pseudonyms, card: str) -> frozenset[str]:
    """The references the trail may hold for a card: of the card normalised (no spaces or
    dashes, upper case), as every part of libgate now records it, and as typed, as the
    SIP2 gateway recorded what a kiosk sent before it normalised cards too."""
    return frozenset(pseudonyms.patron_ref(form) for form in {normalise_card(card), card.strip()})


async def _write_jsonl(entries: AsyncIterator[AuditEntry]) -> None:
    # Written as read, so an export of the whole trail never sits in memory. json.dumps
    # escapes control characters, so a hostile login name cannot steer a terminal.
    async for entry in entries:
        print(json.dumps(entry.as_record(), separators=(",", ":")))


def _print_table(entries: list[AuditEntry], limit: int) -> None:
    if not entries:
        console.print("No audit entries match.")
        return
    table = Table(box=box.SIMPLE_HEAD)  # light rules leave the seven columns more room
    for column in ("Seq", "Time (UTC)", "Event", "Resident", "Service", "Address", "Detail"):
        # fold, never cut: on a narrow terminal an entry runs to more lines, losing nothing
        table.add_column(column, overflow="fold", no_wrap=column == "Time (UTC)")
    for entry in entries:
        table.add_row(
            str(entry.seq) if entry.sealed else Text("not sealed", style="yellow"),
            entry.when.strftime("%Y-%m-%d %H:%M:%S"),
            *(_cell(value) for value in _described(entry)),
        )
    console.print(table)
    console.print(_summary(entries, limit))


def _described(entry: AuditEntry) -> list[str]:
    """Event, resident, service, address and detail as people read them. The resident is
    the start of the pseudonym: enough to tell residents apart (jsonl has all of it)."""
    resident = f"{entry.patron_ref[:8]}…" if entry.patron_ref else ""
    detail = ", ".join(f"{key}={_plain(value)}" for key, value in entry.detail.items())
    return [entry.event, resident, entry.client_id or "", entry.ip or "", detail]


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(_plain(item) for item in value)
    return value if isinstance(value, str) else json.dumps(value)


def _cell(value: str) -> Text:
    """Text, so "[...]" is not read as markup; control characters shown as escapes, since
    some values (a login tried at the gateway) come from whoever connected."""
    return Text("".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in value))


def _summary(entries: list[AuditEntry], limit: int) -> str:
    unsealed = sum(1 for entry in entries if not entry.sealed)
    summary = f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'}"
    if unsealed:
        summary += f", {unsealed} not yet sealed into the chain"
    if len(entries) == limit:
        summary += f" (the newest {limit} that match; --limit 0 shows all)"
    return summary + "."
