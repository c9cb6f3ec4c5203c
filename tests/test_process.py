"""The command-line program's process-wide settings (see appraisal/process.py)."""

from __future__ import annotations

import gc
import json
import os
import platform
import subprocess
import sys
import threading

import pytest

from appraisal.process import (
    BLAS_THREAD_VARIABLES,
    COLLECTION_THRESHOLDS,
    LARGE_ALLOCATION,
    keep_large_allocations,
    no_huge_pages,
    numpy_multiarray,
    single_threaded_blas,
)

MULTIARRAY = numpy_multiarray()


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_glibc_accepts_the_thresholds():
    # mallopt answers 0 for a value it refuses; the program would then run as before, only slower.
    assert keep_large_allocations()
    assert LARGE_ALLOCATION > 32 * 1024 * 1024  # above the ceiling glibc's own adaptive threshold stops at


def test_elsewhere_the_heap_is_left_alone(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert keep_large_allocations() is False


def _blas_threads(code: str, **environment: str) -> dict:
    """Run ``code`` in a fresh interpreter, then report what threadpoolctl sees of numpy's BLAS."""
    env = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARIABLES and k != "OMP_NUM_THREADS"}
    script = (
        f"{code}\n"
        "import json, numpy, threadpoolctl\n"
        "blas = [p for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas']\n"
        "print(json.dumps({'threads': [p['num_threads'] for p in blas], 'env': __import__('os').environ.get('OPENBLAS_NUM_THREADS')}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env={**env, **environment}, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_program_runs_one_blas_thread():
    # --help exits through SystemExit before any numpy work; numpy is loaded afterwards, as in a run.
    seen = _blas_threads(
        "import sys\nfrom appraisal_cli.cli import main\nsys.argv = ['appraisal', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert seen["env"] == "1"
    assert seen["threads"] and set(seen["threads"]) == {1}


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="BLAS never runs more threads than cores")
def test_a_thread_count_chosen_in_the_environment_is_kept():
    seen = _blas_threads("from appraisal.process import single_threaded_blas\nassert single_threaded_blas()", OPENBLAS_NUM_THREADS="2")
    assert seen["threads"] == [2]


def test_too_late_once_numpy_is_loaded(monkeypatch):
    assert "numpy" in sys.modules  # the test session imported it long ago
    for variable in BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    assert single_threaded_blas() is False
    assert not any(variable in os.environ for variable in BLAS_THREAD_VARIABLES)


def test_the_program_collects_cycles_less_often():
    script = (
        "import gc, sys\nfrom appraisal_cli.cli import main\nsys.argv = ['appraisal', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\nprint(gc.get_threshold())"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == str(COLLECTION_THRESHOLDS)
    assert COLLECTION_THRESHOLDS[0] > gc.get_threshold()[0]  # Python's default, which this test session keeps


def test_what_is_alive_at_exit_is_not_walked_again_but_still_finalised():
    # An exit handler registered before the program's (so run after it) sees the frozen objects;
    # a weakref.finalize callback (how tempfile cleans up) still runs.
    script = (
        "import atexit, gc, sys, weakref\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0, flush=True))\n"
        "from appraisal_cli.cli import main\nsys.argv = ['appraisal', '--help']\n"
        "class Held: pass\nheld = Held()\nweakref.finalize(held, print, 'finalised')\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\nprint('frozen', gc.get_freeze_count() > 0, flush=True)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split("Usage:")[-1].strip().splitlines()[-3:] == ["frozen False", "finalised", "frozen True"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a priority per thread is Linux's")
def test_the_input_hashes_run_at_the_lowest_priority_and_only_their_thread_does():
    from concurrent.futures import ThreadPoolExecutor

    from appraisal.runner import lowest_thread_priority

    def own_priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = own_priority()
    with ThreadPoolExecutor(max_workers=1, initializer=lowest_thread_priority) as pool:
        assert pool.submit(own_priority).result() == 19
    assert own_priority() == before


def _huge_page_advice(**environment: str) -> str:
    """numpy's huge-page advice after the program's start-up, in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    script = (
        "import sys\nfrom appraisal_cli.cli import main\nsys.argv = ['appraisal', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "from appraisal.process import numpy_multiarray\nprint(numpy_multiarray()._get_madvise_hugepage())"
    )
    done = subprocess.run([sys.executable, "-c", script], env={**env, **environment}, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(not hasattr(MULTIARRAY, "_set_madvise_hugepage"), reason="numpy without the switch")
def test_the_program_asks_for_no_huge_pages():
    assert _huge_page_advice() == "False"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="numpy advises huge pages only on Linux")
def test_numpys_own_switch_is_obeyed():
    assert _huge_page_advice(NUMPY_MADVISE_HUGEPAGE="1") == "True"


def test_no_huge_pages_leaves_the_environments_choice(monkeypatch):
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    before = MULTIARRAY._get_madvise_hugepage()
    assert no_huge_pages() is False
    assert MULTIARRAY._get_madvise_hugepage() == before
