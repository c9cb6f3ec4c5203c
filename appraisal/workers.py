"""Work spread over processes forked from this one, which inherit its arrays instead of receiving them.

A run's frame and scores are hundreds of megabytes at provincial scale:
pickling them to a worker would cost more than the work.  A forked process
sees them as they are (copy-on-write), so a task names only what differs —
a range of employees, the index of a flag rule — and sends back only its
result.  Python's threads would not help: building records and most numpy
gathers hold the GIL.

Where processes cannot be forked (Windows, and macOS by default), callers
do the work in-process; :func:`can_fork` tells them.
"""

from __future__ import annotations

import multiprocessing
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

Result = TypeVar("Result")

_state: Any = None
"""What the workers of the open :class:`ForkedWorkers` inherit (set in the parent before the fork)."""


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _with_state(function: Callable[..., Result], *arguments: Any) -> Result:
    return function(_state, *arguments)


class ForkedWorkers:
    """A pool of ``workers`` processes forked with ``state``; each task runs ``function(state, *arguments)``.

    Use as a context manager, one at a time: the workers are forked at the
    first :meth:`submit`, and leaving the block waits for them (or cancels
    what has not started, when leaving on an exception).  Functions must be
    defined at module level, and results must pickle.
    """

    def __init__(self, state: Any, workers: int) -> None:
        self._given = state
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> ForkedWorkers:
        global _state
        if _state is not None:
            raise RuntimeError("ForkedWorkers blocks cannot be nested")
        _state = self._given
        self._pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("fork"))
        return self

    def submit(self, function: Callable[..., Result], *arguments: Any) -> Future[Result]:
        assert self._pool is not None, "submit inside the with block"
        with warnings.catch_warnings():
            # Python 3.12+ warns when a process with threads forks (a lock held by another thread stays
            # locked in the child). The run's other threads are Arrow's idle pool, which Arrow re-creates
            # in a forked child, and the workers take no lock the parent's threads hold.
            warnings.filterwarnings("ignore", r".*use of fork\(\) may lead to deadlocks", DeprecationWarning)
            return self._pool.submit(_with_state, function, *arguments)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        global _state
        try:
            assert self._pool is not None
            self._pool.shutdown(wait=True, cancel_futures=kind is not None)
        finally:
            _state = None
