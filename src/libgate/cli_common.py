"""What every ``libgate`` command shares: output, the --config option, settings and services."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from libgate.config import ConfigError, Settings, load_settings
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

    try:
        return asyncio.run(run())
    except ConfigError as exc:
        err.print(f"[red]Configuration problem:[/red] {exc}")
        raise typer.Exit(2) from exc
