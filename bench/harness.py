"""The benchmark's moving parts: child processes spoken to line by line, CPU sampling from
/proc, the dedicated PostgreSQL database, a ``libgate serve`` process tree and the optional
node-oidc-provider peer. bench/run.py puts them together; bench/profile_refresh.py reuses
them."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from libgate.testing.processes import (
    free_port,
    libgate_env,
    register_client_by_cli,
    run_libgate,
)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TICK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
REDIRECT_URI = "http://127.0.0.1:9/bench/callback"  # never contacted: the client stops there


class BenchError(RuntimeError):
    """Something the benchmark needs is missing or broke; the message says what."""


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise BenchError(f"the benchmark only targets this machine (127.0.0.1), not {host!r}")


# ---------- child processes with a line protocol ----------


class LineProcess:
    """A child process that takes commands on stdin and answers one line per command.
    Every wait is bounded; stderr goes to a log file."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._sink = log.open("ab")
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._sink,
            env=env,
            text=True,
            bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def read(self, timeout: float) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise BenchError(f"{self.log.name}: no answer within {timeout:.0f}s") from None
        if line is None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise BenchError(f"{self.log.name}: the process ended:\n{tail}")
        return line

    def ask(self, line: str, timeout: float) -> str:
        self.send(line)
        return self.read(timeout)

    def close(self, goodbye: str | None = None) -> None:
        if self.process.poll() is None and goodbye is not None:
            with suppress(OSError, ValueError):
                self.send(goodbye)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._sink.close()


class LoadClient:
    """bench/loadgen.mjs: the Node closed-loop client for one (target, mode, concurrency)."""

    def __init__(self, node: str, log: Path) -> None:
        self._proc = LineProcess([node, str(BENCH / "loadgen.mjs")], log)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _ask(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self._proc.ask(json.dumps(message), timeout))
        if answer.get("ok") is False:
            raise BenchError(f"load client: {answer.get('error')}")
        return answer

    def setup(self, target: dict[str, Any], mode: str, concurrency: int) -> dict[str, Any]:
        require_loopback(target["issuer"])
        message = {"cmd": "setup", "target": target, "mode": mode, "concurrency": concurrency}
        return self._ask(message, timeout=180)

    def run(self, seconds: float, max_ops: int) -> dict[str, Any]:
        message = {"cmd": "run", "seconds": seconds, "max_ops": max_ops}
        return self._ask(message, timeout=seconds + 90)

    def close(self) -> None:
        self._proc.close(json.dumps({"cmd": "quit"}))


class HashPool:
    """Processes running bench/hash_worker.py: Argon2 verification alone, libgate's
    PinHasher parameters, P processes at once."""

    def __init__(self, size: int, log: Path) -> None:
        self.workers = [
            LineProcess([sys.executable, str(BENCH / "hash_worker.py")], log) for _ in range(size)
        ]
        for worker in self.workers:
            if worker.read(timeout=60) != "ready":
                raise BenchError("hash worker did not start")

    def pids(self, parallel: int | None = None) -> list[int]:
        return [w.pid for w in self.workers[: parallel or len(self.workers)]]

    def run(self, parallel: int, seconds: float, limit: int) -> dict[str, Any]:
        chosen = self.workers[:parallel]
        for worker in chosen:
            worker.send(f"run {seconds} {limit}")
        answers = [json.loads(w.read(timeout=seconds + 60)) for w in chosen]
        count = sum(a["count"] for a in answers)
        rate = sum(a["count"] / a["seconds"] for a in answers)
        cpu = sum(a["cpu_s"] for a in answers)
        return {
            "parallel": parallel,
            "count": count,
            "rate": round(rate, 2),
            "cpu_ms_per_verify": round(1000 * cpu / count, 2) if count else None,
        }

    def close(self) -> None:
        for worker in self.workers:
            worker.close("quit")


# ---------- CPU from /proc ----------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may hold spaces or parentheses: the fields start after the last ')'.
    return [raw[raw.index("(") + 1 : raw.rindex(")")], *raw[raw.rindex(")") + 2 :].split()]


def process_table() -> dict[int, tuple[str, int, int]]:
    """pid -> (comm, ppid, utime+stime ticks) for every process visible now."""
    table: dict[int, tuple[str, int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None:
            continue
        # fields[0] = comm, [1] = state, [2] = ppid, ..., [12] = utime, [13] = stime
        table[int(entry.name)] = (fields[0], int(fields[2]), int(fields[12]) + int(fields[13]))
    return table


def descendants(root: int, table: dict[int, tuple[str, int, int]]) -> list[int]:
    found = [root] if root in table else []
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (_, ppid, _) in table.items() if ppid == parent]
        found += children
        frontier += children
    return found


def system_busy_ticks() -> int:
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return user + nice + system + irq + softirq + steal


def postgres_backends(database: str) -> Callable[[dict[int, tuple[str, int, int]]], list[int]]:
    """Picks the PostgreSQL backends serving ``database``, by their process title
    ("postgres: 15/main: user database 127.0.0.1(port) idle"), whenever they were born."""
    marker = f" {database} "

    def pick(table: dict[int, tuple[str, int, int]]) -> list[int]:
        found = []
        for pid, (comm, _, _) in table.items():
            if comm != "postgres":
                continue
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in title:
                found.append(pid)
        return found

    return pick


def postmaster_reaped_ticks(table: dict[int, tuple[str, int, int]]) -> int:
    """CPU of PostgreSQL backends that have exited (the postmaster's cutime + cstime).
    Connections opened and closed inside a window show up only here; it also holds the
    exited backends of other databases (other tenants' tests), so it is reported apart."""
    for pid, (comm, ppid, _) in table.items():
        if comm == "postgres" and table.get(ppid, ("",))[0] != "postgres":
            fields = _stat_fields(pid)
            if fields is not None:
                return int(fields[14]) + int(fields[15])
    return 0


@dataclass
class Snapshot:
    at: float
    busy: int
    groups: dict[str, dict[int, int]]
    reaped: int = 0
    counters: dict[str, float] = field(default_factory=dict)


@dataclass
class Sampler:
    """CPU used by named groups of processes between two snapshots, in cores (CPU seconds
    per wall second); ``other`` is the rest of the machine (other tenants, PostgreSQL's
    background writers, the kernel)."""

    groups: dict[str, Callable[[dict[int, tuple[str, int, int]]], list[int]]] = field(
        default_factory=dict
    )
    counters: Callable[[], dict[str, float]] | None = None

    def snap(self) -> Snapshot:
        counters = self.counters() if self.counters else {}
        table = process_table()
        return Snapshot(
            at=time.monotonic(),
            busy=system_busy_ticks(),
            groups={
                name: {pid: table[pid][2] for pid in pick(table) if pid in table}
                for name, pick in self.groups.items()
            },
            reaped=postmaster_reaped_ticks(table),
            counters=counters,
        )

    @staticmethod
    def usage(a: Snapshot, b: Snapshot) -> dict[str, Any]:
        wall = max(b.at - a.at, 1e-6)
        out: dict[str, Any] = {}
        reaped = max(0, b.reaped - a.reaped)
        out["pg_exited"] = round(reaped / TICK / wall, 3)
        for name, value in b.counters.items():
            out[f"{name}_per_s"] = round((value - a.counters.get(name, value)) / wall, 1)
        ours = reaped
        for name, after in b.groups.items():
            before = a.groups.get(name, {})
            # A process born inside the window spent all its CPU inside it.
            per_pid = {pid: t - before.get(pid, 0) for pid, t in after.items()}
            ticks = sum(per_pid.values())
            ours += ticks
            out[name] = round(ticks / TICK / wall, 3)
            if name == "server" and len(per_pid) > 1:
                # How the load spread over the worker processes (busiest first).
                spread = sorted((v / TICK / wall for v in per_pid.values()), reverse=True)
                out["server_by_process"] = [round(v, 2) for v in spread if v >= 0.01]
        out["other"] = round(max(0, b.busy - a.busy - ours) / TICK / wall, 3)
        out["wall_s"] = round(wall, 3)
        return out

    def wait_quiet(self, limit_s: float, threshold: float = 0.25) -> dict[str, Any]:
        """Wait (at most limit_s) for one second in which the rest of the machine used
        less than ``threshold`` cores. Other people's tests share this machine."""
        started = time.monotonic()
        last: float | None = None
        while time.monotonic() - started < limit_s:
            a = self.snap()
            time.sleep(1.0)
            last = self.usage(a, self.snap())["other"]
            if last < threshold:
                return {"waited_s": round(time.monotonic() - started, 1), "other_before": last}
        return {"waited_s": round(time.monotonic() - started, 1), "other_before": last}


# ---------- PostgreSQL ----------


def database_url(admin_url: str, name: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _check_name(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise BenchError(f"database name {name!r}: use lower-case letters, digits and _")
    return name


async def _admin(admin_url: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def postgres_reachable(admin_url: str) -> str | None:
    """None when PostgreSQL answers at admin_url, else why not."""
    require_loopback(admin_url)
    try:
        asyncio.run(_admin(admin_url, "SELECT 1"))
    except Exception as exc:  # any failure to connect is reported as the reason
        return f"{type(exc).__name__}: {exc}"
    return None


def postgres_version(admin_url: str) -> str:
    import asyncpg

    async def get() -> str:
        connection = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=5)
        try:
            return str(await connection.fetchval("SHOW server_version"))
        finally:
            await connection.close()

    return asyncio.run(get())


def recreate_database(admin_url: str, name: str) -> str:
    """Drop and create the benchmark's own database; returns its URL."""
    quoted = f'"{_check_name(name)}"'
    asyncio.run(_admin(admin_url, f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    asyncio.run(_admin(admin_url, f"CREATE DATABASE {quoted}"))
    return database_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    quoted = f'"{_check_name(name)}"'
    asyncio.run(_admin(admin_url, f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))


def pg_sessions(admin_url: str, name: str) -> float:
    """Sessions ever opened on database ``name`` (pg_stat_database.sessions, PostgreSQL 14+;
    0 before that): its rate tells whether a connection pool is churning."""
    import asyncpg

    async def get() -> float:
        connection = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=5)
        try:
            value = await connection.fetchval(
                "SELECT sessions FROM pg_stat_database WHERE datname = $1", name
            )
            return float(value or 0)
        except asyncpg.PostgresError:
            return 0.0
        finally:
            await connection.close()

    return asyncio.run(get())


# ---------- libgate ----------


def libgate_cli(
    db_url: str, *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> str:
    try:
        return run_libgate(db_url, *args, timeout=timeout, env=env)
    except RuntimeError as exc:
        raise BenchError(str(exc)) from exc


@dataclass(frozen=True)
class Account:
    card: str
    pin: str


def bench_accounts(count: int) -> list[Account]:
    # A card per concurrent loop, so no loop's sign-ins touch another's rows.
    return [Account(f"2999{n:010d}", f"{(4000 + 37 * n) % 10000:04d}") for n in range(count)]


def prepare_libgate(db_url: str, accounts: list[Account], work: Path) -> dict[str, str]:
    """Migrate, import the patrons, register the confidential client; returns the client."""
    libgate_cli(db_url, "migrate")
    csv_path = work / "patrons.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["card", "pin", "name", "email", "expires", "branch", "category"])
        for n, account in enumerate(accounts):
            writer.writerow(
                [
                    account.card,
                    account.pin,
                    f"Bench Reader {n}",
                    f"reader{n}@example.org",
                    "2031-12-31",
                    "Central",
                    "ADULT",
                ]
            )
    libgate_cli(db_url, "patrons", "import", str(csv_path))
    csv_path.unlink()
    registered = register_client_by_cli(db_url, "Bench portal", REDIRECT_URI, ["profile", "email"])
    return {"client_id": registered["client_id"], "client_secret": registered["client_secret"]}


class LibgateServer:
    """``python -m libgate serve --workers N`` on a free loopback port."""

    def __init__(
        self, db_url: str, workers: int, log: Path, log_level: str, env: dict[str, str]
    ) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log = log
        extra = {"LIBGATE_LOG_LEVEL": log_level, **env}
        with log.open("ab") as sink:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "libgate",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(workers),
                ],
                env=libgate_env(db_url, self.issuer, **extra),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        self._tree: list[int] = [self.process.pid]
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        good = 0
        while good < 5:
            if self.process.poll() is not None:
                raise BenchError(f"libgate exited early:\n{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise BenchError(f"libgate did not become ready:\n{self.log.read_text()[-3000:]}")
            try:
                ready = httpx.get(f"{self.issuer}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                ready = False
            # With several workers, each must have started (own process, own pool).
            python_children = [
                pid
                for pid in self.tree()
                if pid != self.process.pid and "python" in process_table().get(pid, ("",))[0]
            ]
            if ready and (self.workers == 1 or len(python_children) >= self.workers):
                good += 1
            time.sleep(0.2)

    def tree(self, table: dict[int, tuple[str, int, int]] | None = None) -> list[int]:
        found = descendants(self.process.pid, table or process_table())
        self._tree = sorted(set(self._tree) | set(found))
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # Only the processes this server started: any worker that outlived its parent.
        table = process_table()
        for pid in self._tree:
            if pid != self.process.pid and pid in table:
                with suppress(ProcessLookupError):
                    os.kill(pid, 9)


@contextmanager
def libgate_server(
    db_url: str, workers: int, log: Path, log_level: str = "warning", **env: str
) -> Iterator[LibgateServer]:
    server = LibgateServer(db_url, workers, log, log_level, env)
    try:
        yield server
    finally:
        server.stop()


# ---------- the node-oidc-provider peer ----------


def default_peer_dir() -> Path:
    return (ROOT.parent / "shared" / "peers" / "oidc-provider").resolve()


def prepare_peer(source: Path, work: Path, node: str, npm: str) -> tuple[Path, dict[str, Any]]:
    """Copy the peer to a writable temporary place, ``npm ci`` it, read its client."""
    if not (source / "server.mjs").exists():
        raise BenchError(f"no peer at {source}")
    target = work / "oidc-provider"
    shutil.copytree(
        source, target, ignore=shutil.ignore_patterns("node_modules", "results", ".venv")
    )
    installed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if installed.returncode != 0:
        raise BenchError(f"npm ci failed for the peer:\n{installed.stderr[-2000:]}")
    config = subprocess.run(
        [
            node,
            "--input-type=module",
            "-e",
            "const m = await import(process.argv[1]); console.log(JSON.stringify(m));",
            (target / "lib" / "config.mjs").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if config.returncode != 0:
        raise BenchError(f"cannot read the peer's client settings:\n{config.stderr[-1000:]}")
    return target, json.loads(config.stdout)


class PeerServer:
    """The peer's server.mjs on a free loopback port; its login verifies an Argon2id PIN
    hash (LOGIN_ARGON2=1) so that its flows do the work libgate's do."""

    def __init__(self, directory: Path, node: str, log: Path) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update(PORT=str(self.port), HOST="127.0.0.1", NODE_ENV="production", LOGIN_ARGON2="1")
        with log.open("ab") as sink:
            self.process = subprocess.Popen(
                [node, "server.mjs"], cwd=directory, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise BenchError(f"the peer exited early:\n{log.read_text()[-2000:]}")
            try:
                url = f"{self.issuer}/.well-known/openid-configuration"
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"the peer did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
