"""Targets' answers read into records in worker processes.

Reading (XML into the record model) is most of the CPU a federated search takes. Done in a
thread of the serving process it holds the interpreter lock that the event loop and the
merging need, and uses one core whatever the machine has; in worker processes, answers
are read on every core while the serving process merges what has arrived.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")


class ReaderStopped(Exception):
    """The worker process reading an answer died (killed, out of memory)."""


class AnswerReaders:
    """Runs a reading function in one of ``processes`` worker processes (started on first
    use), or, with ``processes=0``, in a thread of this process.
    ``read`` and its arguments travel to the worker by pickling: a module-level function
    and plain values."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, read: Callable[..., T], *args: Any) -> T:
        if self.processes == 0:
            return await asyncio.to_thread(read, *args)
        pool = self._pool
        if pool is None:
            # spawn: a fresh interpreter, never a fork of one that holds threads and locks.
            context = multiprocessing.get_context("spawn")
            pool = self._pool = ProcessPoolExecutor(self.processes, mp_context=context)
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, read, *args)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): the next answer gets fresh workers.
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise ReaderStopped from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
