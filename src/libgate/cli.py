"""The ``libgate`` command: run the service and do the staff's day-to-day tasks."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from libgate.cli_audit import audit_app
from libgate.cli_catalogue import catalogue_app
from libgate.cli_common import (
    ConfigOption,
    console,
    err,
    run_until_done,
    settings_from,
    with_services,
)
from libgate.cli_sip2 import sip2_app
from libgate.db import reaching, upgrade_to_latest
from libgate.observability import metrics_shared_by, setup_logging
from libgate.oidc import AUTH_METHODS, KNOWN_SCOPES, ClientRegistrationError
from libgate.patrons import (
    PatronFileUnreadable,
    card_key,
    import_patrons_csv,
    ip_key,
    normalise_card,
)
from libgate.services import Services, build_services

app = typer.Typer(help="libgate: one secure front door to the library.", no_args_is_help=True)
patrons_app = typer.Typer(help="The local patron directory.", no_args_is_help=True)
clients_app = typer.Typer(
    help="Services that sign residents in (OpenID relying parties).", no_args_is_help=True
)
keys_app = typer.Typer(help="Token signing keys.", no_args_is_help=True)
lockouts_app = typer.Typer(
    help="Cards and addresses locked out after wrong PINs.", no_args_is_help=True
)
for sub, name in [
    (patrons_app, "patrons"),
    (clients_app, "clients"),
    (keys_app, "keys"),
    (audit_app, "audit"),
    (lockouts_app, "lockouts"),
    (sip2_app, "sip2"),
    (catalogue_app, "catalogue"),
]:
    app.add_typer(sub, name=name)


@app.command()
def migrate(config: ConfigOption = None) -> None:
    """Create or upgrade the database schema."""
    settings = settings_from(config)

    async def upgrade() -> None:
        async with reaching(settings.database_url):
            await upgrade_to_latest(settings.database_url)

    run_until_done(upgrade)
    console.print("Database is up to date.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes (share the database).")] = 1,
    config: ConfigOption = None,
) -> None:
    """Run libgate."""
    import uvicorn  # here, not above: the staff's other commands start quicker without it

    settings = settings_from(config)
    with_services(config, lambda services: services.keys.ensure_keys())
    setup_logging(settings.log_level)
    with metrics_shared_by(workers):
        uvicorn.run(
            "libgate.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            proxy_headers=False,
        )


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    sip2_port: Annotated[int, typer.Option(help="Port of the demo SIP2 gateway.")] = 6002,
    lms_port: Annotated[int, typer.Option(help="Port of the demo LMS emulator.")] = 6001,
    config: ConfigOption = None,
) -> None:
    """Start libgate with sample patrons, a demo service and a SIP2 gateway in front of an
    LMS emulator, and print how to try them."""
    import uvicorn

    from libgate.app import create_app
    from libgate.demo import demo_gateway, prepare_demo, sample_patrons

    os.environ.setdefault("LIBGATE_ISSUER", f"http://{host}:{port}")
    settings = settings_from(config)
    setup_logging("warning")

    async def run() -> None:
        services = await build_services(settings)
        try:
            relying_party = await prepare_demo(services)
            table = Table(title="Sample library cards")
            for column in ("Card number", "PIN", "Name", "Note"):
                table.add_column(column)
            for patron in sample_patrons():
                table.add_row(patron.card, patron.pin, patron.name, patron.note)
            console.print(table)
            async with demo_gateway(
                settings, services, host=host, lms_port=lms_port, gateway_port=sip2_port
            ) as gateway:
                # soft_wrap: a narrow terminal must not break the password in two.
                console.print(
                    f"SIP2 gateway at [bold]{gateway.address}[/bold] for kiosks: login "
                    f"{gateway.login}, password {gateway.password} (policy kiosk)",
                    soft_wrap=True,
                )
                console.print(f"  in front of an LMS emulator at {gateway.lms_address}")
                console.print(f"libgate is running at [bold]{settings.issuer_url}[/bold]")
                console.print(f"Try a complete sign-in: [bold]{relying_party.start_link}[/bold]")
                console.print(
                    "Search the sample catalogue (2,000 Library of Congress records): "
                    f"[bold]{settings.issuer_url}/search?q=history[/bold]",
                    soft_wrap=True,
                )
                application = create_app(settings, services=services, demo=relying_party)
                server = uvicorn.Server(
                    uvicorn.Config(
                        application, host=host, port=port, log_config=None, access_log=False
                    )
                )
                await server.serve()
        finally:
            await services.close()

    run_until_done(run)


@patrons_app.command("import")
def patrons_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file.")],
    config: ConfigOption = None,
) -> None:
    """Import patrons from CSV: header card,pin,name,email,expires,branch,category."""
    try:
        report = with_services(config, lambda s: import_patrons_csv(s.database, file, s.hasher))
    except PatronFileUnreadable as exc:
        err.print(f"[red]Not imported:[/red] {exc}")
        raise typer.Exit(2) from exc
    for problem in report.problems:
        err.print(f"[yellow]skipped[/yellow] {problem}")
    console.print(f"Imported {report.imported} patron(s).")
    if report.problems:
        raise typer.Exit(1)


@clients_app.command("add")
def clients_add(
    name: Annotated[str, typer.Option(help="Name residents see on the consent screen.")],
    redirect_uri: Annotated[list[str], typer.Option(help="Exact redirect URI (repeatable).")],
    public: Annotated[bool, typer.Option(help="A browser or mobile app: no secret, PKCE.")] = False,
    scope: Annotated[
        list[str] | None,
        typer.Option(help=f"Allowed scope (repeatable): {', '.join(KNOWN_SCOPES)}."),
    ] = None,
    auth_method: Annotated[
        str | None, typer.Option(help=f"Token endpoint auth: {', '.join(AUTH_METHODS)}.")
    ] = None,
    jwks: Annotated[
        Path | None, typer.Option(help="JSON file with the client's public keys (private_key_jwt).")
    ] = None,
    post_logout_redirect_uri: Annotated[
        list[str] | None, typer.Option(help="Where to return after sign-out (repeatable).")
    ] = None,
    sector: Annotated[
        str | None, typer.Option(help="Pairwise sector (default: the redirect URI's host).")
    ] = None,
    subject_type: Annotated[str, typer.Option(help="pairwise or public.")] = "pairwise",
    id_token_alg: Annotated[
        str | None, typer.Option(help="Sign this client's ID tokens with ES256 or RS256.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the client as JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Register a service. Its secret is shown once; libgate keeps only a hash."""
    method = auth_method or ("none" if public else "client_secret_basic")
    keys = json.loads(jwks.read_text()) if jwks else None

    async def add(services: Services) -> tuple[Any, str | None]:
        return await services.clients.add(
            name=name,
            redirect_uris=redirect_uri,
            scopes=scope or ["profile"],
            auth_method=method,
            post_logout_redirect_uris=post_logout_redirect_uri,
            jwks=keys,
            sector=sector,
            subject_type=subject_type,
            id_token_alg=id_token_alg,
        )

    try:
        client, secret = with_services(config, add)
    except ClientRegistrationError as exc:
        err.print(f"[red]Not registered:[/red] {exc}")
        raise typer.Exit(2) from exc
    data = client.as_dict()
    if secret:
        data["client_secret"] = secret
    if as_json:
        print(json.dumps(data, indent=2))
        return
    console.print(f"Registered [bold]{client.name}[/bold]")
    for key, value in data.items():
        console.print(f"  {key}: {value}")
    if secret:
        console.print("[yellow]Copy the secret now: it cannot be shown again.[/yellow]")


@clients_app.command("list")
def clients_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """List registered services."""
    clients = with_services(config, lambda s: s.clients.list())
    if as_json:
        print(json.dumps([c.as_dict() for c in clients], indent=2))
        return
    table = Table()
    for column in ("Client ID", "Name", "Auth", "Scopes", "Redirect URIs"):
        table.add_column(column)
    for c in clients:
        table.add_row(
            c.client_id,
            c.name,
            c.auth_method,
            " ".join(sorted(c.scopes)),
            "\n".join(c.redirect_uris),
        )
    console.print(table)


@clients_app.command("remove")
def clients_remove(client_id: str, config: ConfigOption = None) -> None:
    """Remove a service; its tokens stop working."""
    if not with_services(config, lambda s: s.clients.remove(client_id)):
        err.print(f"No client {client_id}.")
        raise typer.Exit(1)
    console.print(f"Removed {client_id}.")


@keys_app.command("rotate")
def keys_rotate(config: ConfigOption = None) -> None:
    """Start signing with new keys; old keys keep verifying for the overlap period."""
    retired = with_services(config, lambda s: s.keys.rotate())
    settings = settings_from(config)
    console.print(
        f"New signing keys are active. {len(retired)} old key(s) stay published for "
        f"{settings.tokens.key_overlap_seconds} seconds."
    )


@lockouts_app.command("list")
def lockouts_list(config: ConfigOption = None) -> None:
    """Show active lockouts."""
    active = with_services(config, lambda s: s.guard.list_active())
    if not active:
        console.print("No active lockouts.")
        return
    table = Table()
    for column in ("Kind", "Card / address", "Until", "Repeat"):
        table.add_column(column)
    for lockout in active:
        until = dt.datetime.fromtimestamp(lockout.until).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(lockout.kind, lockout.subject, until, str(lockout.level))
    console.print(table)


@lockouts_app.command("clear")
def lockouts_clear(
    card: Annotated[str | None, typer.Argument(help="Card number to unlock.")] = None,
    ip: Annotated[str | None, typer.Option(help="Client address to unlock instead.")] = None,
    config: ConfigOption = None,
) -> None:
    """Lift a lockout for a card (or, with --ip, an address)."""
    if (card is None) == (ip is None):
        err.print("Give a card number or --ip ADDRESS.")
        raise typer.Exit(2)
    key = card_key(normalise_card(card)) if card else ip_key(str(ip))
    if with_services(config, lambda s: s.guard.clear(key)):
        console.print(f"Cleared the lockout for {key.split(':', 1)[1]}.")
    else:
        console.print(f"No lockout for {key.split(':', 1)[1]}.")
