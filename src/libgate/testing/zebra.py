"""A real Z39.50 and SRU server, Index Data's Zebra (Debian ``idzebra-2.0``), over MARC 21
files: the neighbouring authority's catalogue in libgate's federated-search tests,
benchmarks and demo.

It indexes any word, title (bib-1 use 4, CQL ``dc.title``), author (1003, ``dc.creator``),
ISBN (7, ``bath.isbn``; 020 $a) and subject (21, ``dc.subject``; 650 $a), ignoring case and
accents, and serves database ``Default``: Z39.50 at ``127.0.0.1:PORT/Default`` and SRU 1.1,
1.2 and 2.0 at ``http://127.0.0.1:PORT/Default`` (records as MARCXML, Dublin Core or
USMARC). Z39.50 clients should negotiate UTF-8 (ZOOM's ``charset`` option): without it
Zebra takes search terms as ISO-8859-1.

On its own, for the demo: ``python -m libgate.testing.zebra DIR PORT FILE.mrc...``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import TracebackType

DATABASE = "Default"
INSTALL_HINT = "apt-get install -y idzebra-2.0 yaz"
_YAZ_ETC = Path("/usr/share/yaz/etc")
_PQF_PROPERTIES = _YAZ_ETC / "pqf.properties"
_MARC_TO_DC = _YAZ_ETC / "MARC21slim2DC.xsl"
_SYSTEM_TAB = Path("/usr/share/idzebra-2.0/tab")
_MARC_MODULE = "mod-grs-marc.so"


class ZebraUnavailable(RuntimeError):
    """Zebra, or a part of it, is not installed here."""


@dataclass
class ZebraServer:
    """A running ``zebrasrv``: its files live in ``directory`` (``zebrasrv.log`` among them)."""

    directory: Path
    port: int
    records: int
    process: subprocess.Popen[bytes]

    @property
    def sru_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{DATABASE}"

    @property
    def z3950_url(self) -> str:
        return f"127.0.0.1:{self.port}/{DATABASE}"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and the processes it forked for open connections."""
        if self.process.poll() is not None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)
        # zebrasrv forks a child per connection, in its process group; a child serving a
        # client outlives SIGTERM.
        _signal_group(self.process.pid, signal.SIGKILL)

    def __enter__(self) -> ZebraServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> ZebraServer:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)


def zebra_missing() -> str | None:
    """Why Zebra cannot run here, or None when it can."""
    for program in ("zebrasrv", "zebraidx"):
        if shutil.which(program) is None:
            return f"{program} not found: {INSTALL_HINT}"
    if _marc_module_directory() is None:
        return f"Zebra's MARC module ({_MARC_MODULE}) not found: {INSTALL_HINT}"
    for part in (_PQF_PROPERTIES, _MARC_TO_DC):
        if not part.is_file():
            return f"YAZ's {part.name} not found: {INSTALL_HINT}"
    return None


def start_zebra(
    directory: Path, port: int, marc_files: Sequence[Path], *, timeout: float = 60.0
) -> ZebraServer:
    """Index ``marc_files`` (MARC 21, ISO 2709) into ``directory`` and serve them on
    127.0.0.1:``port``; returns once the server accepts connections."""
    problem = zebra_missing()
    if problem:
        raise ZebraUnavailable(problem)
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    files = [str(Path(f).resolve()) for f in marc_files]
    _write_config(directory, port)
    deadline = time.monotonic() + timeout
    index_log = directory / "zebraidx.log"
    index_log.unlink(missing_ok=True)
    _index(directory, ["init"], index_log, deadline)
    _index(directory, ["-t", "grs.marc.usmarc", "update", *files], index_log, deadline)
    records = _records_indexed(index_log.read_text(errors="replace"))
    with (directory / "zebrasrv.out").open("wb") as sink:
        process = subprocess.Popen(
            ["zebrasrv", "-f", "yazgfs.xml", "-l", "zebrasrv.log"],
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ZebraServer(directory, port, records, process)
    try:
        _wait_until_listening(server, deadline)
    except BaseException:
        server.stop()
        raise
    return server


async def start_zebra_async(
    directory: Path, port: int, marc_files: Sequence[Path], *, timeout: float = 60.0
) -> ZebraServer:
    """:func:`start_zebra` without blocking the event loop; use as ``async with``."""
    return await asyncio.to_thread(start_zebra, directory, port, marc_files, timeout=timeout)


# Added to Debian's own usmarc.abs (which is not copied into libgate): the records are
# UTF-8 (without this Zebra takes them as ISO-8859-1 and, converting to UTF-8 for SRU,
# encodes every non-ASCII character twice), and the ISBN (bib-1 use 7, 020 $a) and subject
# (use 21, 650 $a) indexes the federated-search tests need.
_ENCODING_RULE = "encoding utf-8\n"
_EXTRA_RULES = """
elm 020\t\t\tISBN\t\t-
elm 020/?\t\t\tISBN\t\t-
elm 020/?/a\t\tISBN\t\t!:w

elm 650\t\t\tSubject-heading\t-
elm 650/?\t\tSubject-heading\t-
elm 650/?/a\t\tSubject-heading\t!:w,!:p
"""


def _indexing_rules() -> str:
    """Debian's usmarc.abs with libgate's additions (the encoding after its header)."""
    lines = (_SYSTEM_TAB / "usmarc.abs").read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(n for n, line in enumerate(lines) if line.startswith("reference")) + 1
    return "".join([*lines[:header], _ENCODING_RULE, *lines[header:]]) + _EXTRA_RULES


def _write_config(directory: Path, port: int) -> None:
    for part in resources.files("libgate.testing").joinpath("zebra_tab").iterdir():
        if part.is_file():
            (directory / part.name).write_bytes(part.read_bytes())
    (directory / "usmarc.abs").write_text(_indexing_rules(), encoding="utf-8")
    shutil.copyfile(_PQF_PROPERTIES, directory / "pqf.properties")
    (directory / "zebra.cfg").write_text(
        # The directory itself comes first, so libgate's usmarc.abs wins over Debian's.
        f"profilePath: .:{_SYSTEM_TAB}\n"
        "attset: bib1.att\n"
        "attset: explain.att\n"
        "index: libgate.idx\n"
        "recordType: grs.marc.usmarc\n"
        f"modulePath: {_marc_module_directory()}\n"
    )
    (directory / "yazgfs.xml").write_text(
        f"""<yazgfs>
  <listen id="public">tcp:127.0.0.1:{port}</listen>
  <server id="s1" listenref="public">
    <config>zebra.cfg</config>
    <cql2rpn>pqf.properties</cql2rpn>
    <retrievalinfo>
      <retrieval syntax="usmarc" name="F"/>
      <retrieval syntax="xml" name="marcxml" identifier="info:srw/schema/1/marcxml-v1.1">
        <backend syntax="usmarc" name="F">
          <marc inputformat="marc" outputformat="marcxml" inputcharset="utf-8"/>
        </backend>
      </retrieval>
      <retrieval syntax="xml" name="dc" identifier="info:srw/schema/1/dc-v1.1">
        <backend syntax="usmarc" name="F">
          <marc inputformat="marc" outputformat="marcxml" inputcharset="utf-8"/>
          <xslt stylesheet="{_MARC_TO_DC}"/>
        </backend>
      </retrieval>
    </retrievalinfo>
  </server>
</yazgfs>
"""
    )
    for stale in [*directory.glob("*.mf"), *directory.glob("*.LCK")]:
        stale.unlink()


def _index(directory: Path, command: list[str], log: Path, deadline: float) -> None:
    with log.open("ab") as sink:
        result = subprocess.run(
            ["zebraidx", "-c", "zebra.cfg", *command],
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            timeout=max(deadline - time.monotonic(), 1.0),
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"zebraidx {command[-1]} failed; see {log}:\n{_tail(log)}")


def _records_indexed(log: str) -> int:
    counts = re.findall(r"Records: *(\d+)", log)
    return int(counts[-1]) if counts else 0


def _wait_until_listening(server: ZebraServer, deadline: float) -> None:
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"zebrasrv exited with status {server.process.returncode}; "
                f"see {server.directory / 'zebrasrv.log'}:\n"
                f"{_tail(server.directory / 'zebrasrv.log')}"
            )
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"zebrasrv did not accept connections on port {server.port}; "
                    f"see {server.directory / 'zebrasrv.log'}"
                ) from None
            time.sleep(0.05)


def _marc_module_directory() -> Path | None:
    for libdir in (Path("/usr/lib"), Path("/usr/local/lib")):
        for pattern in ("idzebra-2.0/modules", "*/idzebra-2.0/modules"):
            for module in libdir.glob(f"{pattern}/{_MARC_MODULE}"):
                return module.parent
    return None


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory", type=Path, help="for the index, configuration and logs")
    parser.add_argument("port", type=int)
    parser.add_argument("marc_files", type=Path, nargs="+", metavar="FILE.mrc")
    options = parser.parse_args(argv)
    server = start_zebra(options.directory, options.port, options.marc_files)
    print(f"{server.records} records; SRU {server.sru_url}; Z39.50 {server.z3950_url}")
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        signal.sigwait(stop_signals)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
