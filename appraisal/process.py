"""Process-wide settings the command-line program applies before a run: glibc's heap, huge pages, BLAS threads, garbage collection.

Each changes the whole process, so only ``appraisal`` (``cli.main``) applies
them; importing the engine as a library changes nothing.

**Heap.** glibc serves every allocation above its mmap threshold (at most
32 MB, the size of a float64 array of 4 million ratings) with new pages
from the kernel and hands them back on free, so each temporary of a large
run costs page faults and zeroing: in the Rasch fit at 100,000 employees
that was 23 of its 54 seconds, in system time.  Raising the threshold lets
freed arrays be reused (same fit: 35 s, 6.5 s system time; peak memory
unchanged).  Setting the mmap threshold also freezes glibc's trim threshold
at 128 KB (it otherwise follows the mmap threshold up), so the free memory
at the top of the heap went back to the kernel after nearly every large
free and came back as fresh pages on the next allocation; the trim
threshold is raised with it: a base run at 100,000 employees took 291,000
page faults and 10.1 s of system time before, 103,000 and 6.6 s after
(21.2 → 18.5 s wall).  Threads that allocate (the reliability report runs
beside the aggregation, the reader's columns are coded two at a time) would
each get a heap of their own, whose freed arrays the main thread cannot
reuse and, with trimming raised, nobody returns: one heap for the process
(``M_ARENA_MAX`` 1) took the base run's peak at 100,000 employees from 1.98
back to 1.81 GB.

**Huge pages.** numpy asks the kernel for transparent huge pages
(``madvise(MADV_HUGEPAGE)``) on every array of 4 MB or more.  Where the
kernel's policy is ``madvise`` for both enabling and defragmenting (Debian's
and Ubuntu's default), each first touch of such a region makes the kernel find,
often by compacting memory on the spot, and zero a whole 2 MB page.  A run
makes and drops arrays of millions of cells all the time, so that is paid over
and over, for a gain in address translation that these memory-bound passes
hardly feel: with numpy's advice off, a base run at 100,000 employees spent
1.4-1.6 s of system time instead of 2.3-3.9 and took 5.0-5.5 s instead of
5.7-6.9 (six pairs); the full pipeline, whose time goes mostly to workers
that fault in fresh pages either way, did not move (33.1-33.5 s against
32.7-34.9, four pairs), nor did runs at 10,000 employees.
``NUMPY_MADVISE_HUGEPAGE`` set in the environment, numpy's own switch, is
obeyed.

**BLAS threads.** The engine's matrix products are small and memory-bound
(a few columns against a hundred thousand rows), and the run already uses
the cores through forked worker processes.  OpenBLAS's own threads only
spin waiting for work between calls, taking a core from those workers: at
100,000 employees they were 13% of the full pipeline's CPU samples, and one
BLAS thread per process cut its run from 113 to 98 s.  One thread also
makes the numbers independent of the machine's core count: a threaded
matrix-vector product adds in an order that depends on the threads, and an
iterative fit stopped at its tolerance then lands a little differently.

**Garbage collection.** Python's cycle collector runs after every 700 new
container objects, and every hundredth time it walks every live one.  A
large run holds millions of them (development plans, flags, records) and
makes hundreds of thousands more, so the walks found almost nothing and
cost 5.0 of the pipeline's 72 CPU seconds at 100,000 employees (4.3 in full
collections).  Collecting after every 100,000 new objects: 2.7 s.  Garbage
in cycles is still collected, only later.  At exit the interpreter walks
every live object again in each of its final collections while it tears
down the modules, although the operating system frees the memory anyway:
0.1-0.3 s of a base run at 10,000-100,000 employees.  The program moves
what is alive then out of the collector's reach (``gc.freeze``) after the
exit handlers registered during the run have run; objects are still
released by their reference counts, and ``weakref.finalize`` callbacks
still run.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import gc
import os
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
LARGE_ALLOCATION = 1 << 30  # bytes: allocations up to 1 GiB come from the heap, and up to 1 GiB free stays there
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
# New objects before a young collection; young, then middle-aged, collections before the next older one.
COLLECTION_THRESHOLDS = (100_000, 20, 10)


def keep_large_allocations() -> bool:
    """Ask glibc to serve allocations up to 1 GiB from one heap shared by all threads, and keep up to 1 GiB of it free.

    :returns: False where that is not glibc (macOS, Windows, musl) or it refused.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    settings = ((M_MMAP_THRESHOLD, LARGE_ALLOCATION), (M_TRIM_THRESHOLD, LARGE_ALLOCATION), (M_ARENA_MAX, 1))
    return all([bool(mallopt(parameter, value)) for parameter, value in settings])


def numpy_multiarray():
    """numpy's ``multiarray`` module, which holds the huge-page switch (numpy 2 renamed ``numpy.core``)."""
    import numpy

    return (getattr(numpy, "_core", None) or numpy.core).multiarray


def no_huge_pages() -> bool:
    """Stop numpy advising the kernel to back large arrays with huge pages, unless ``NUMPY_MADVISE_HUGEPAGE`` chose.

    :returns: False when the environment variable decided, or this numpy has no such switch.
    """
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    switch = getattr(numpy_multiarray(), "_set_madvise_hugepage", None)
    if switch is None:
        return False
    switch(False)
    return True


def single_threaded_blas() -> bool:
    """One BLAS thread per process, unless the environment already chose a number.

    BLAS libraries read these variables once, when numpy loads them, so this
    must run before numpy is imported.

    :returns: False when numpy was already imported (nothing changed then).
    """
    if "numpy" in sys.modules:
        return False
    for variable in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
    return True


def fewer_collections() -> None:
    """Run the cycle collector after every 100,000 new objects instead of every 700, and not over
    what is still alive at exit (see the module's note).

    Exit handlers run last registered first: registered at start-up, this runs after those that
    libraries and plugins register during the run.
    """
    gc.set_threshold(*COLLECTION_THRESHOLDS)
    atexit.register(gc.freeze)
