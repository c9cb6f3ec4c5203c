"""The command-line program keeps large arrays in glibc's heap (see appraisal/allocator.py)."""

from __future__ import annotations

import platform
import sys

import pytest

from appraisal.allocator import LARGE_ALLOCATION, keep_large_allocations


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_glibc_accepts_the_threshold():
    # mallopt answers 0 for a value it refuses; the program would then run as before, only slower.
    assert keep_large_allocations()
    assert LARGE_ALLOCATION > 32 * 1024 * 1024  # above the ceiling glibc's own adaptive threshold stops at


def test_elsewhere_it_changes_nothing(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert keep_large_allocations() is False
