"""One appraisal run end to end: the entry point the CLI (or a notebook) calls.

    load rubric → ingest and validate → pipeline → writers → run directory
"""

from __future__ import annotations

import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .components import RunView
from .errors import AppraisalError, InputError
from .i18n import Lang
from .ingest import IngestReport, Inputs, ingest
from .output import REJECTS, sha256_of, write_atomically, write_rejects
from .pipeline import Outcome, Overrides, Progress, run_pipeline
from .plugins import PluginHost
from .results import ComputedRun, StoredRun
from .rubric import LoadedRubric, load_rubric

DEFAULT_FORMATS = ("csv", "json")


@dataclass(frozen=True)
class RunRequest:
    """What to run; mirrors ``appraisal run``'s options."""

    rubric: str
    ratings: Sequence[Path]
    out_dir: Path
    roster: Path | None = None
    tables: Mapping[str, Path] = field(default_factory=dict)
    overrides: Overrides = field(default_factory=Overrides)
    lenient: bool = False
    lang: Lang | None = None
    formats: Sequence[str] = DEFAULT_FORMATS


@dataclass(frozen=True)
class RunReport:
    outcome: Outcome
    report: IngestReport
    outputs: list[Path]
    manifest: dict[str, Any]


def load_checked_rubric(host: PluginHost, rubric: str | Path) -> LoadedRubric:
    """Load a rubric and check its components against the installed plugins."""
    return load_rubric(rubric, host.check_rubric_components)


def load_inputs(
    host: PluginHost, loaded: LoadedRubric, ratings: Sequence[Path], roster: Path | None, tables: Mapping[str, Path] | None = None
) -> Inputs:
    return ingest(host, loaded.rubric, ratings, roster, tables)


def run(host: PluginHost, request: RunRequest, progress: Progress = lambda step: None) -> RunReport:
    """Execute a run and write its directory.

    :raises RubricError: invalid rubric.
    :raises InputError: unusable input file, or (strict mode) any rejected row.
    :raises PluginError: a plugin broke its contract.
    """
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    stages = StageClock(progress)
    progress = stages.enter
    loaded = load_checked_rubric(host, request.rubric)
    lang: Lang = request.lang or loaded.rubric.language
    formats = [host.component("output format", name) for name in request.formats]
    progress("ingest")
    # The manifest's input hashes are computed beside the reading, in the time it leaves a core idle:
    # pyarrow's parse keeps both busy, the validation after it one (the hash of a 600 MB file takes
    # half a second). Done before the pipeline, which forks.
    with ThreadPoolExecutor(max_workers=1, initializer=lowest_thread_priority) as hashing:
        digests = hashing.submit(input_digests, request)
        inputs = load_inputs(host, loaded, request.ratings, request.roster, request.tables)
        hashes = digests.result()
    report = inputs.report
    if report.rejected and not request.lenient:
        raise InputError(report.errors)
    outcome = run_pipeline(host, loaded, inputs, request.overrides, progress)
    view = ComputedRun(outcome)
    progress("write")

    def produce(staging: Path) -> list[Path]:
        written: list[Path] = []
        for registered in formats:
            component = registered.component
            written += component.write(view, staging, lang, host.options(component, {}))
        if report.rejected:
            write_rejects(report.rejected, staging / REJECTS, lang)
            written.append(staging / REJECTS)
        return written

    built: dict[str, Any] = {}

    def manifest(outputs: list[dict[str, Any]]) -> dict[str, Any]:
        seconds = time.perf_counter() - clock
        built.update(build_manifest(host, request, loaded, report, outcome, outputs, started, seconds, lang, hashes))
        built["stage_seconds"] = stages.finish()
        return built

    paths = write_atomically(request.out_dir, produce, manifest)
    return RunReport(outcome, report, paths, built)


class StageClock:
    """Wall time per pipeline stage (for the manifest), passing each stage on to ``progress``."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._current: str | None = None
        self._since = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def enter(self, stage: str) -> None:
        self._close()
        self._current = stage
        self._progress(stage)

    def finish(self) -> dict[str, float]:
        self._close()
        return self.seconds

    def _close(self) -> None:
        now = time.perf_counter()
        if self._current is not None:
            self.seconds[self._current] = round(self.seconds.get(self._current, 0.0) + now - self._since, 3)
        self._current, self._since = None, now


def row_totals(report: IngestReport) -> dict[str, Any]:
    """Rows read, accepted and rejected per file and in total; ``balanced`` checks the sum."""
    files = [count.as_dict() for count in report.counts]
    ratings = [count for count in report.counts if count.kind == "ratings"]
    totals = {
        "read": sum(c.read for c in ratings),
        "accepted": sum(c.accepted for c in ratings),
        "rejected": sum(c.rejected for c in ratings),
        "not_observed": sum(c.not_observed for c in ratings),
    }
    totals["balanced"] = all(c.read == c.accepted + c.rejected for c in report.counts)
    return {"files": files, "ratings": totals, "warnings": len(report.warnings)}


def build_manifest(
    host: PluginHost,
    request: RunRequest,
    loaded: LoadedRubric,
    report: IngestReport,
    outcome: Outcome,
    outputs: list[dict[str, Any]],
    started: datetime,
    seconds: float,
    lang: Lang,
    hashes: Mapping[Path, str],
) -> dict[str, Any]:
    """Everything needed to audit or reproduce the run; ``hashes`` are the inputs' (:func:`input_digests`)."""
    inputs = [{"kind": "ratings", "path": str(p), "sha256": hashes[p]} for p in request.ratings]
    if request.roster is not None:
        inputs.append({"kind": "roster", "path": str(request.roster), "sha256": hashes[request.roster]})
    inputs += [{"kind": name, "path": str(path), "sha256": hashes[path]} for name, path in request.tables.items()]
    return {
        "engine": {"name": "appraisal", "version": __version__},
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "plugins": [{"name": i.name, "version": i.version, "source": i.source} for i in host.info.values()],
        "rubric": {
            "id": loaded.rubric.id,
            "version": loaded.rubric.version,
            "source": loaded.source,
            "sha256": loaded.sha256,
            "includes": [{"source": source, "sha256": digest} for source, digest in dict(loaded.includes).items()],
        },
        "inputs": inputs,
        "parameters": {
            "lenient": request.lenient,
            "lang": lang,
            "formats": list(request.formats),
            "weighting_override": request.overrides.weighting,
            "calibration_override": None
            if request.overrides.calibration is None
            else list(request.overrides.calibration),
            "steps": [record.as_dict() for record in outcome.steps],
        },
        "rows": row_totals(report),
        "started_at": started.isoformat(timespec="seconds"),
        "duration_seconds": round(seconds, 3),
        "outputs": outputs,
    }


def lowest_thread_priority() -> None:
    """Give the calling thread the lowest scheduling priority, so it runs on what the others leave idle.

    Only Linux sets a priority per thread (elsewhere the call would change the whole process, so
    nothing is done); a refusal leaves the priority as it was.
    """
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except OSError:
            pass


def input_digests(request: RunRequest) -> dict[Path, str]:
    """SHA-256 of every input file of the run, by path (files that cannot be read are left out:
    reading them fails the run with its own message)."""
    paths = [*request.ratings, *([request.roster] if request.roster is not None else []), *request.tables.values()]
    return {path: sha256_of(path) for path in paths if path.is_file()}


class _Counting(RunView):
    """A run view that reports progress as its employee records are read."""

    def __init__(self, run: RunView, progress: Callable[[int], None]) -> None:
        self._run, self._progress = run, progress

    @property
    def meta(self) -> dict[str, Any]:
        return self._run.meta

    def employees(self) -> Iterator[dict[str, Any]]:
        for record in self._run.employees():
            yield record
            self._progress(1)

    def flags(self):
        return self._run.flags()

    def raters(self) -> list[dict[str, Any]]:
        return self._run.raters()

    def rater_summary(self) -> dict[str, Any]:
        return self._run.rater_summary()

    def summary(self) -> dict[str, Any]:
        return self._run.summary()


def write_reports(
    host: PluginHost,
    run_dir: Path,
    formats: Sequence[str],
    out_dir: Path,
    lang: Lang | None = None,
    employees: Sequence[str] | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> list[Path]:
    """Write report formats for a finished run into ``out_dir``, atomically, with a manifest.

    :param employees: only these employee ids (default: everyone).
    :param progress: called with (records just done, records in all) as writers read employees.
    :raises AppraisalError: for an unknown format or employee, or a run without results.json.
    """
    components = [host.component("output format", name) for name in formats]
    if not (run_dir / "results.json").is_file():
        raise AppraisalError(f"{run_dir} holds no results.json; run `appraisal run ... --out {run_dir}` first")
    stored = StoredRun(run_dir, employees)
    if employees is not None:
        missing = sorted(set(employees) - {record["employee_id"] for record in stored.employees()})
        if missing:
            raise AppraisalError(f"not in the run {run_dir}: {', '.join(missing)}")
    language: Lang = lang or stored.meta.get("language", "id")
    # Counting records would parse them all once more; the meta knows how many there are.
    count = len(set(employees)) if employees is not None else int(stored.meta.get("employees", 0))
    total = count * len(components)
    progress(0, total)
    view = _Counting(stored, lambda done: progress(done, total))
    started = datetime.now(timezone.utc)

    def produce(staging: Path) -> list[Path]:
        written: list[Path] = []
        for registered in components:
            component = registered.component
            written += component.write(view, staging, language, host.options(component, {}))
        return written

    def manifest(outputs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "engine": {"name": "appraisal", "version": __version__},
            "source_run": {"path": str(run_dir), "results_sha256": sha256_of(run_dir / "results.json")},
            "formats": list(formats),
            "lang": language,
            "employees": count,
            "started_at": started.isoformat(timespec="seconds"),
            "outputs": outputs,
        }

    return write_atomically(out_dir, produce, manifest)
