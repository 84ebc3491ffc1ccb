"""``libgate sip2 ...``: the SIP2 commands for library systems staff."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from libgate.patrons import normalise_card
from libgate.patrons._sip2_check import check_lms
from libgate.sip2 import LmsLink, client_tls_context

sip2_app = typer.Typer(help="SIP2: the LMS link, kiosks and vendors.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise typer.BadParameter("give HOST:PORT, for example lms.example.org:6001")
    return host.strip("[]"), int(port)


@sip2_app.command("check")
def check(
    address: Annotated[str, typer.Argument(metavar="HOST:PORT", help="The LMS's SIP2 service.")],
    login: Annotated[
        str, typer.Option(metavar="USER:PASSWORD", help="The SIP2 account (93 CN and CO).")
    ],
    institution: Annotated[str, typer.Option(help="Institution id (AO).")] = "",
    encoding: Annotated[
        Literal["cp850", "latin-1", "utf-8"], typer.Option(help="The service's character set.")
    ] = "cp850",
    tls: Annotated[bool, typer.Option("--tls", help="Connect with TLS.")] = False,
    ca_file: Annotated[
        str, typer.Option(help="CA bundle (PEM) for the LMS's certificate (with --tls).")
    ] = "",
    patron: Annotated[
        str | None, typer.Option(metavar="CARD", help="Also check this card's PIN.")
    ] = None,
    pin: Annotated[str | None, typer.Option(help="The PIN for --patron (never printed).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each step.")] = 5.0,
) -> None:
    """Diagnose an LMS's SIP2 service step by step: connect, log in, status and, with
    --patron and --pin, a PIN check exactly as sign-in does it. Exits 0 only when every
    step passed."""
    host, port = _host_port(address)
    user, _, password = login.partition(":")
    if (patron is None) != (pin is None):
        err.print("Give both --patron and --pin, or neither.")
        raise typer.Exit(2)
    link = LmsLink(
        host=host,
        port=port,
        login_user=user,
        login_password=password,
        ssl=client_tls_context(ca_file) if tls else None,
        encoding=encoding,
        timeout=timeout,
    )
    card_and_pin = (normalise_card(patron), pin) if patron is not None and pin is not None else None
    steps = asyncio.run(check_lms(link, institution=institution, patron=card_and_pin))
    table = Table(title=f"SIP2 service at {host}:{port}")
    for column in ("Step", "Result", "Time", "Detail"):
        table.add_column(column)
    for step in steps:
        result = "[green]passed[/green]" if step.passed else "[red]FAILED[/red]"
        table.add_row(step.name, result, f"{step.seconds * 1000:.0f} ms", step.detail)
    console.print(table)
    failed = [step for step in steps if not step.passed]
    for step in failed:
        console.print(f"[bold]What to do about '{step.name}':[/bold] {step.advice}")
    if failed:
        raise typer.Exit(1)
    console.print("Every step passed.")
