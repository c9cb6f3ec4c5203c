"""National or provincial roll-up: agency runs merged into one table; their ratings are never pooled.

Raters never cross agencies (instansi), so a province or the nation is
appraised as one ``appraisal run`` per agency, each needing the time and
memory of its own size only.  :func:`roll_up` then merges the agencies'
``results.csv`` into one, with an ``agency`` column in front, and writes
``rollup.json`` with each agency's counts and the totals.

It refuses, naming the file, row and column, anything that would make the
merged table wrong: runs scored with different rubrics (their scores and
categories do not compare), a ``results.csv`` that no longer matches the
hash its run recorded (edited after the run), different columns, or one
employee appraised by two agencies.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, Problem
from .i18n import Message
from .output import MANIFEST, sha256_of, write_atomically

RESULTS = "results.csv"
ROLLUP = "rollup.json"


@dataclass(frozen=True)
class AgencyRun:
    """One agency's finished run, checked against its own manifest."""

    agency: str
    directory: Path
    manifest: dict[str, Any]
    header: list[str]
    results_sha256: str

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line, row) of its results.csv, streamed: a national table never sits in memory."""
        with (self.directory / RESULTS).open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            yield from enumerate(reader, start=2)


@dataclass(frozen=True)
class RollupReport:
    agencies: list[dict[str, Any]]
    total: dict[str, Any]
    paths: list[Path]


def _problem(path: Path, line: int | None, field: str, code: str, **params: Any) -> Problem:
    return Problem(str(path), line, field, Message(code, params))


def load_agency_run(directory: Path) -> tuple[AgencyRun | None, list[Problem]]:
    """Read one run directory; returns the run, or None with the problems that make it unusable."""
    manifest_path, results_path = directory / MANIFEST, directory / RESULTS
    if not manifest_path.is_file() or not results_path.is_file():
        return None, [_problem(directory, None, "", "rollup_not_a_run")]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        recorded = {entry["file"]: entry["sha256"] for entry in manifest["outputs"]}
        manifest["rubric"]["id"], manifest["rubric"]["sha256"]  # noqa: B018 (compared across agencies below)
    except (ValueError, KeyError, TypeError) as exc:
        return None, [_problem(manifest_path, None, "", "file_unreadable", detail=str(exc))]
    digest = sha256_of(results_path)
    if recorded.get(RESULTS) != digest:
        return None, [_problem(results_path, None, "", "rollup_changed_since_run")]
    with results_path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    if "employee_id" not in header:
        return None, [_problem(results_path, 1, "employee_id", "column_missing", column="employee_id", found=", ".join(header))]
    return AgencyRun(directory.name, directory, manifest, header, digest), []


def roll_up(directories: Sequence[Path], out_dir: Path) -> RollupReport:
    """Merge the agency runs in ``directories`` (each named by its directory) into ``out_dir``.

    :raises InputError: every problem found, in all runs at once.
    """
    runs: list[AgencyRun] = []
    problems: list[Problem] = []
    for directory in directories:
        run, found = load_agency_run(directory)
        problems += found
        if run is not None:
            runs.append(run)
    names = Counter(run.agency for run in runs)
    problems += [
        _problem(run.directory, None, "", "rollup_agency_twice", agency=run.agency) for run in runs if names[run.agency] > 1
    ]
    if runs:
        first = runs[0]
        for run in runs[1:]:
            if run.manifest["rubric"]["sha256"] != first.manifest["rubric"]["sha256"]:
                problems.append(
                    _problem(run.directory / MANIFEST, None, "rubric.sha256", "rollup_other_rubric",
                             rubric=run.manifest["rubric"]["id"], first=str(first.directory), first_rubric=first.manifest["rubric"]["id"])
                )
            elif run.header != first.header:
                problems.append(_problem(run.directory / RESULTS, 1, "", "rollup_other_columns", first=str(first.directory / RESULTS)))
    found, counts = _scan(runs)
    problems += found
    if problems:
        raise InputError(problems)

    agencies = [_agency_summary(run, employees, categories) for run, (employees, categories) in zip(runs, counts)]
    total = {
        "agencies": len(runs),
        "employees": sum(a["employees"] for a in agencies),
        "ratings": {key: sum(a["ratings"].get(key, 0) for a in agencies) for key in ("read", "accepted", "rejected")},
        "categories": dict(sum((Counter(a["categories"]) for a in agencies), Counter())),
    }

    def produce(staging: Path) -> list[Path]:
        results = staging / RESULTS
        with results.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
            writer.writerow(["agency", *(runs[0].header if runs else [])])
            for run in runs:
                writer.writerows([run.agency, *row] for _, row in run.rows())
        summary = staging / ROLLUP
        summary.write_text(json.dumps({"agencies": agencies, "total": total}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return [results, summary]

    def manifest(outputs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "rollup_of": [{"agency": run.agency, "run": str(run.directory), "results_sha256": a["results_sha256"]} for run, a in zip(runs, agencies)],
            "rubric": runs[0].manifest["rubric"] if runs else None,
            "outputs": outputs,
        }

    paths = write_atomically(out_dir, produce, manifest)
    return RollupReport(agencies, total, paths)


def _scan(runs: Sequence[AgencyRun]) -> tuple[list[Problem], list[tuple[int, Counter[str]]]]:
    """One pass over every results.csv: employees appraised by two agencies; each agency's employees, and per category."""
    seen: dict[str, str] = {}
    problems = []
    counts = []
    for run in runs:
        column = run.header.index("employee_id")
        category = run.header.index("category") if "category" in run.header else None
        categories: Counter[str] = Counter()
        employees = 0
        for line, row in run.rows():
            employees += 1
            employee = row[column]
            if employee in seen:
                problems.append(
                    _problem(run.directory / RESULTS, line, "employee_id", "rollup_employee_twice", employee=employee, other=seen[employee])
                )
            else:
                seen[employee] = run.agency
            if category is not None:
                categories[row[category]] += 1
        counts.append((employees, categories))
    return problems, counts


def _agency_summary(run: AgencyRun, employees: int, categories: Counter[str]) -> dict[str, Any]:
    ratings = run.manifest.get("rows", {}).get("ratings", {})
    return {
        "agency": run.agency,
        "run": str(run.directory),
        "employees": employees,
        "ratings": {key: int(ratings.get(key, 0)) for key in ("read", "accepted", "rejected")},
        "categories": dict(sorted(categories.items())),
        "inputs": run.manifest.get("inputs", []),
        "results_sha256": run.results_sha256,
    }
