"""``libgate catalogue ...``: the library's own catalogue, searched as the local target."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from libgate.cli_common import ConfigOption, console, err, settings_from

# The search package is loaded by these commands only, not by every libgate command.
if TYPE_CHECKING:
    from libgate.search.index import ImportReport, IndexUnusable, LocalIndex

catalogue_app = typer.Typer(
    help="The library's own catalogue: the local search index.", no_args_is_help=True
)
_PROBLEMS_SHOWN = 20


def _index_path(config: Path | None) -> Path:
    """search.local_index; a relative path is from the current folder."""
    return Path(settings_from(config).search.local_index)


def _open_index(path: Path) -> LocalIndex:
    from libgate.search.index import IndexUnusable, LocalIndex

    try:
        return LocalIndex(path)
    except IndexUnusable as exc:
        raise _unusable(exc) from exc


def _unusable(problem: IndexUnusable) -> typer.Exit:
    err.print(f"[red]Cannot use the catalogue index:[/red] {escape(str(problem))}")
    return typer.Exit(1)


@catalogue_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="MARC 21 file: ISO 2709 (.mrc) or MARCXML.")],
    replace_all: Annotated[
        bool,
        typer.Option(
            "--replace-all", help="Also remove records that are not in FILE (a full reload)."
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Add the records in FILE to the catalogue; records already there (same 001) are
    replaced, so importing a file again is safe."""
    from libgate.search.index import IndexUnusable, NotMarc

    path = _index_path(config)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        err.print(
            f"[red]Cannot use the catalogue index:[/red] cannot make the folder "
            f"{escape(str(path.parent))} ({escape(str(exc.strerror or exc))})"
        )
        raise typer.Exit(1) from exc
    index = _open_index(path)
    try:
        with console.status(f"Importing {file}..."):
            report = index.import_marc(file, replace_all=replace_all)
        total = index.count()
    except IndexUnusable as exc:  # the file is made by the first import
        raise _unusable(exc) from exc
    except NotMarc as exc:
        err.print(f"[red]Nothing imported:[/red] {escape(str(file))}: {escape(str(exc))}.")
        raise typer.Exit(1) from exc
    except OSError as exc:
        reason = escape(str(exc.strerror or exc))
        err.print(f"[red]Nothing imported:[/red] cannot read {escape(str(file))} ({reason}).")
        raise typer.Exit(1) from exc
    finally:
        index.close()
    _print_problems(report)
    removed = f", removed {report.removed:,}" if replace_all else ""
    console.print(
        f"Added {report.added:,}, replaced {report.replaced:,}, skipped {report.skipped:,} "
        f"record(s){removed}. The catalogue now holds {total:,} record(s)."
    )


def _print_problems(report: ImportReport) -> None:
    for problem in report.problems[:_PROBLEMS_SHOWN]:
        err.print(f"[yellow]skipped[/yellow] {escape(problem)}", highlight=False)
    hidden = len(report.problems) - _PROBLEMS_SHOWN
    if hidden > 0:
        err.print(f"... and {hidden:,} more problem(s) like these.")


@catalogue_app.command("stats")
def stats(config: ConfigOption = None) -> None:
    """How many records the catalogue holds and the space its index takes."""
    path = _index_path(config)
    if not path.exists():
        console.print(f"No catalogue index at {escape(str(path.resolve()))} yet.")
        console.print("Import records with: libgate catalogue import FILE")
        return
    index = _open_index(path)
    try:
        records, size = index.count(), index.size_on_disk()
    finally:
        index.close()
    console.print(f"Catalogue index: {escape(str(path.resolve()))}")
    console.print(f"  records: {records:,}")
    console.print(f"  size on disk: {size / 1_000_000:,.1f} MB")
