"""Helpers for testing the engine and plugins: build a host, score rows in memory.

Plugin authors can use them in their own test suites::

    from appraisal.testing import make_host, score_rows

    def test_my_scheme(tmp_path):
        host = make_host(MyPlugin())
        run = score_rows(host, "contoh-360", rows, tmp_path, weighting="my-scheme")
        assert run.record(0)["overall"] == 3.5
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .ingest import ingest
from .pipeline import Overrides, run_pipeline
from .plugins import PluginHost, PluginInfo, get_plugin_host
from .results import ComputedRun
from .runner import load_checked_rubric

RATING_HEADER = ("ratee_id", "rater_id", "relationship", "competency", "item", "score")


def make_host(*plugins: Any) -> PluginHost:
    """A fresh plugin host with the built-ins, no installed entry points, and ``plugins`` registered."""
    host = get_plugin_host(load_entrypoints=False)
    for plugin in plugins:
        name = getattr(plugin, "__name__", type(plugin).__name__)
        host.register(plugin, name, PluginInfo(name, None, "test"))
    return host


def write_rows(path: Path, rows: Iterable[Sequence[Any] | Mapping[str, Any]], header: Sequence[str] = RATING_HEADER) -> Path:
    """Write rows (tuples in ``header`` order, or dicts) as a UTF-8 CSV file."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(h, "") for h in header] if isinstance(row, Mapping) else row)
    return path


def score_rows(
    host: PluginHost,
    rubric: str | Path,
    rows: Iterable[Sequence[Any] | Mapping[str, Any]],
    workdir: Path,
    *,
    roster: Iterable[Sequence[Any] | Mapping[str, Any]] | None = None,
    tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    weighting: str | None = None,
    calibration: Sequence[str] | None = None,
) -> ComputedRun:
    """Validate and score ``rows`` (no files are written besides the inputs in ``workdir``).

    :param tables: further input tables by name, as lists of dicts (column → value).

    :raises AssertionError: when a row is rejected — tests should feed valid rows
        (use :func:`appraisal.ingest.ingest` directly to test rejections).
    """
    loaded = load_checked_rubric(host, rubric)
    ratings = write_rows(workdir / "ratings.csv", rows)
    roster_path = None
    if roster is not None:
        roster = list(roster)
        header = tuple(roster[0]) if roster and isinstance(roster[0], Mapping) else ("employee_id", "name", "unit", "position", "supervisor_id")
        roster_path = write_rows(workdir / "roster.csv", roster, header)
    table_paths = {
        name: write_rows(workdir / f"{name}.csv", rows, tuple(rows[0]) if rows else ())
        for name, rows in (tables or {}).items()
    }
    inputs = ingest(host, loaded.rubric, [ratings], roster_path, table_paths)
    assert not inputs.report.rejected, [p.format("en") for p in inputs.report.errors]
    outcome = run_pipeline(host, loaded, inputs, Overrides(weighting=weighting, calibration=calibration))
    return ComputedRun(outcome)
