"""What every ``libgate`` command shares: output, the --config option, settings and services."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from libgate.config import ConfigError, Settings, load_settings
from libgate.db import DatabaseUnreachable
from libgate.services import Services, build_services

console = Console()
err = Console(stderr=True)
T = TypeVar("T")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Path of libgate.toml (else LIBGATE_CONFIG).")
]


def settings_from(config: Path | None) -> Settings:
    if config is not None:
        os.environ["LIBGATE_CONFIG"] = str(config)
    try:
        return load_settings()
    except ConfigError as exc:
        err.print(f"[red]Configuration problem:[/red] {exc}")
        raise typer.Exit(2) from exc


def with_services(config: Path | None, work: Callable[[Services], Awaitable[T]]) -> T:
    settings = settings_from(config)

    async def run() -> T:
        services = await build_services(settings)
        try:
            return await work(services)
        finally:
            await services.close()

    return run_until_done(run)


def run_until_done(main: Callable[[], Coroutine[Any, Any, T]], *, fast_loop: bool = False) -> T:
    """``main()`` run to its end; a configuration problem or a database out of reach is
    said in words and ends the command with exit code 2 (1 is left for what the command
    itself found wrong). ``fast_loop``: on uvloop, where it is installed."""
    try:
        if fast_loop:
            with contextlib.suppress(ImportError):
                import uvloop  # installed with uvicorn[standard]

                return uvloop.run(main())
        return asyncio.run(main())
    except ConfigError as exc:
        err.print(f"[red]Configuration problem:[/red] {exc}")
        raise typer.Exit(2) from exc
    except DatabaseUnreachable as exc:
        err.print(f"[red]Database problem:[/red] libgate {exc}")
        raise typer.Exit(2) from exc
