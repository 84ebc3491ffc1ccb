"""``libgate sip2 ...``: the SIP2 commands for library systems staff."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from libgate.cli_common import (
    ConfigOption,
    console,
    err,
    run_until_done,
    settings_from,
    with_services,
)
from libgate.gc_tuning import tune_garbage_collection
from libgate.observability import setup_logging
from libgate.patrons import normalise_card
from libgate.patrons._sip2_check import check_lms
from libgate.sip2 import LmsLink, client_tls_context, lms_link
from libgate.sip2.gateway import Journal, VendorError, VendorRegistry, run_gateway

sip2_app = typer.Typer(help="SIP2: the LMS link, kiosks and vendors.", no_args_is_help=True)
vendors_app = typer.Typer(
    help="Accounts kiosks and vendors log in to the gateway with.", no_args_is_help=True
)
sip2_app.add_typer(vendors_app, name="vendors")


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise typer.BadParameter("give HOST:PORT, for example lms.example.org:6001")
    return host.strip("[]"), int(port)


def _tls_checked(make: Callable[[], LmsLink], files: str) -> LmsLink:
    """The link ``make`` builds, or a plain message when its TLS ``files`` cannot be used."""
    try:
        return make()
    except (OSError, ssl.SSLError) as exc:
        err.print(f"[red]{escape(files)} could not be used:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


@sip2_app.command("check")
def check(
    address: Annotated[
        str | None,
        typer.Argument(
            metavar="[HOST:PORT]",
            help="The LMS's SIP2 service. Leave it out to check the \\[lms] settings as sign-in "
            "and the gateway use them.",
        ),
    ] = None,
    login: Annotated[
        str | None,
        typer.Option(metavar="USER:PASSWORD", help="The SIP2 account (93 CN and CO)."),
    ] = None,
    institution: Annotated[str | None, typer.Option(help="Institution id (AO).")] = None,
    encoding: Annotated[
        Literal["cp850", "latin-1", "utf-8"] | None,
        typer.Option(help="The service's character set \\[default: cp850]."),
    ] = None,
    tls: Annotated[bool, typer.Option("--tls", help="Connect with TLS.")] = False,
    ca_file: Annotated[
        str | None, typer.Option(help="CA bundle (PEM) for the LMS's certificate (with --tls).")
    ] = None,
    patron: Annotated[
        str | None, typer.Option(metavar="CARD", help="Also check this card's PIN.")
    ] = None,
    pin: Annotated[str | None, typer.Option(help="The PIN for --patron (never printed).")] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds to wait for each step \\[default: 5].")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Diagnose an LMS's SIP2 service step by step: connect, log in, status and, with
    --patron and --pin, a PIN check as sign-in does it. With HOST:PORT and --login, the
    service those options describe (the PIN check then sends no terminal password);
    without them, the one the \\[lms] settings describe, with every one of those settings.
    Exits 0 only when every step passed."""
    if (patron is None) != (pin is None):
        err.print("Give both --patron and --pin, or neither.")
        raise typer.Exit(2)
    connection_options = {
        "--login": login,
        "--institution": institution,
        "--encoding": encoding,
        "--tls": tls or None,
        "--ca-file": ca_file,
        "--timeout": timeout,
    }
    terminal_password = ""
    if address is None:
        given = [name for name, value in connection_options.items() if value is not None]
        if given:
            err.print(
                f"{', '.join(given)}: give HOST:PORT too, or leave these out to check "
                "the \\[lms] settings as they are."
            )
            raise typer.Exit(2)
        lms = settings_from(config).lms
        link = _tls_checked(
            lambda: lms_link(lms), "[lms] tls_ca_file, tls_client_cert or tls_client_key"
        )
        institution, terminal_password = lms.institution, lms.terminal_password
    else:
        if config is not None:
            err.print("--config: leave out HOST:PORT to check the \\[lms] settings.")
            raise typer.Exit(2)
        if login is None:
            err.print("Give --login USER:PASSWORD with HOST:PORT.")
            raise typer.Exit(2)
        host, port = _host_port(address)
        user, _, password = login.partition(":")
        link = _tls_checked(
            lambda: LmsLink(
                host=host,
                port=port,
                login_user=user,
                login_password=password,
                ssl=client_tls_context(ca_file or "") if tls else None,
                encoding=encoding or "cp850",
                timeout=5.0 if timeout is None else timeout,
            ),
            "--ca-file",
        )
    card_and_pin = (normalise_card(patron), pin) if patron is not None and pin is not None else None
    steps = asyncio.run(
        check_lms(
            link,
            institution=institution or "",
            terminal_password=terminal_password,
            patron=card_and_pin,
        )
    )
    table = Table(title=f"SIP2 service at {link.host}:{link.port}")
    for column in ("Step", "Result", "Time", "Detail"):
        table.add_column(column)
    for step in steps:
        result = "[green]passed[/green]" if step.passed else "[red]FAILED[/red]"
        # Details are the LMS's own words: shown as they are, never read as markup.
        table.add_row(step.name, result, f"{step.seconds * 1000:.0f} ms", escape(step.detail))
    console.print(table)
    failed = [step for step in steps if not step.passed]
    for step in failed:
        console.print(f"[bold]What to do about '{step.name}':[/bold] {escape(step.advice)}")
    if failed:
        raise typer.Exit(1)
    console.print("Every step passed.")


@sip2_app.command("serve")
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (\\[gateway] host).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (\\[gateway] port).")] = None,
    config: ConfigOption = None,
) -> None:
    """Run the SIP2 gateway for kiosks and vendors (the LMS link comes from \\[lms])."""
    settings = settings_from(config)
    setup_logging(settings.log_level)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)

        def ready(bound: int) -> None:
            tune_garbage_collection()
            console.print(f"SIP2 gateway listening on {host or settings.gateway.host}:{bound}")

        await run_gateway(
            settings,
            host=host or settings.gateway.host,
            port=settings.gateway.port if port is None else port,
            ready=ready,
            stop=stop,
        )

    run_until_done(run, fast_loop=True)


@vendors_app.command("add")
def vendors_add(
    login: Annotated[str, typer.Argument(help="The login the vendor sends (93 CN).")],
    policy: Annotated[str, typer.Option(help="A policy name from \\[gateway.policies].")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the account as JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Create an account and print its password (shown once, stored only as a hash)."""
    settings = settings_from(config)
    known = set(settings.gateway.policies)
    try:
        vendor, password = with_services(
            config, lambda s: VendorRegistry(s.database).add(login, policy, known)
        )
    except VendorError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps({"login": vendor.login, "password": password, "policy": vendor.policy}))
        return
    console.print(f"Vendor [bold]{vendor.login}[/bold] (policy {vendor.policy})")
    console.print(f"  password: {password}")
    console.print("[yellow]Copy the password now: it cannot be shown again.[/yellow]")


@vendors_app.command("list")
def vendors_list(config: ConfigOption = None) -> None:
    """Show the gateway's accounts and their policies."""
    vendors = with_services(config, lambda s: VendorRegistry(s.database).list())
    if not vendors:
        console.print("No vendor accounts.")
        return
    table = Table()
    for column in ("Login", "Policy", "Created"):
        table.add_column(column)
    for vendor in vendors:
        created = dt.datetime.fromtimestamp(vendor.created_at).strftime("%Y-%m-%d %H:%M")
        table.add_row(vendor.login, vendor.policy, created)
    console.print(table)


@vendors_app.command("remove")
def vendors_remove(
    login: Annotated[str, typer.Argument(help="The account to remove.")],
    config: ConfigOption = None,
) -> None:
    """Remove an account: its next login is refused, and its open connections end within
    a few seconds."""
    if not with_services(config, lambda s: VendorRegistry(s.database).remove(login)):
        err.print(f"No vendor {login!r}.")
        raise typer.Exit(1)
    console.print(f"Removed {login}.")


@sip2_app.command("journal")
def journal(
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list transactions applied or resolved.")
    ] = False,
    resolve: Annotated[
        list[int] | None,
        typer.Option(
            metavar="NUMBER",
            help=(
                "Mark a failed or uncertain transaction (its # in the list) as put right by "
                "hand in the LMS; it is forgotten 30 days later. Repeat for several."
            ),
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Checkouts and checkins taken while the LMS was down: by default those still waiting,
    those the LMS refused, and those to check by hand."""
    if resolve:
        _resolve(resolve, config)
        return
    states = None if show_all else ("pending", "sending", "failed", "uncertain")
    entries = with_services(config, lambda s: Journal(s.database).entries(states))
    if not entries:
        console.print("Nothing to show: every offline transaction has been applied.")
        return
    table = Table()
    for column in ("#", "When", "Vendor", "What", "Card", "Item", "State", "LMS said"):
        table.add_column(column)
    for entry in entries:
        when = dt.datetime.fromtimestamp(entry.created_at).strftime("%Y-%m-%d %H:%M:%S")
        what = "checkout" if entry.code == "11" else "checkin"
        table.add_row(
            str(entry.id),
            when,
            entry.vendor,
            what,
            entry.card,
            entry.item,
            entry.state,
            entry.outcome or "",
        )
    console.print(table)


def _resolve(numbers: list[int], config: Path | None) -> None:
    resolved = with_services(config, lambda s: Journal(s.database).resolve(numbers))
    if resolved:
        console.print(f"Resolved: {', '.join(f'#{n}' for n in resolved)}.")
    left = sorted(set(numbers) - set(resolved))
    if left:
        err.print(
            f"Not resolved: {', '.join(f'#{n}' for n in left)}: only failed or uncertain "
            "transactions can be (see libgate sip2 journal)."
        )
        raise typer.Exit(1)
