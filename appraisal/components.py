"""Component contracts: what a plugin registers and what the engine calls.

Plugins add *components* by name through the registration hooks in
:mod:`appraisal.hookspecs`; a rubric (or a command-line option) chooses them by
name.  Every component class has

* ``name`` — the stable, kebab-case name used in rubric YAML;
* ``summary`` — one line for ``appraisal plugins``;
* ``Options`` — a pydantic model validating the options the rubric gives it
  (unknown keys are errors).

The engine validates every output against the contract below and names the
plugin when one breaks it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from .frame import Employees, RatingFrame
    from .i18n import Lang
    from .rubric import Rubric
    from .scoring import GroupStats, RaterCells


class ComponentOptions(BaseModel):
    """Base of every component's options model: strict, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Component(ABC):
    """Common base of all components."""

    kind: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str] = ""
    Options: ClassVar[type[ComponentOptions]] = ComponentOptions

    def check(self, rubric: Rubric, options: ComponentOptions) -> list[tuple[tuple[str | int, ...], str]]:
        """Problems with ``options`` that need the rubric to see (e.g. an unknown group id).

        :returns: ``(location inside options, message)`` pairs; empty when fine.
        """
        return []


# ---------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RawTable:
    """A table as read from a file: text columns, before any validation.

    :param columns: column name (as written in the file) -> text: a pyarrow
        string array, a dictionary-encoded one (int32 codes into the distinct
        values: what the CSV and Parquet readers give, so millions of repeated
        ids cost 4 bytes a row), either chunked or not, or a sequence of ``str``.
        Blank cells are ``""``; nulls count as blank.
    :param rows: the row number a person would use to find each record
        (spreadsheet rows count the header as row 1; JSON Lines count lines).
    :param malformed: records the reader could not split into the header's
        columns, as ``(row, text, columns found)``; they count as read and rejected.
    """

    path: str
    columns: dict[str, Any]  # name -> pyarrow (dictionary-encoded) string array, or a sequence of str
    rows: np.ndarray  # int64[N]
    malformed: tuple[tuple[int, str, int], ...] = ()

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class Column:
    """One column of an :class:`InputTable`.

    :param choices: accepted values → canonical code; matched ignoring case,
        spaces, hyphens and underscores (``Di Atas Ekspektasi`` = ``di_atas_ekspektasi``).
    """

    description: str
    required: bool = True
    choices: Mapping[str, str] | None = None


class InputTable(Component):
    """A further input file a plugin needs, e.g. the supervisors' final decisions.

    ``appraisal run --input NAME=FILE`` reads it with the same row accounting
    as ratings (rows read = accepted + rejected).  A table keyed by
    ``employee_id`` adds its columns to the employees (``data.employees.extra``);
    any other key gives ``data.tables[NAME]``: a column name → array mapping.
    """

    kind = "input table"
    key: ClassVar[str]
    columns: ClassVar[Mapping[str, Column]]


class TableReader(Component):
    """Reads one file format into a :class:`RawTable`."""

    kind = "reader"
    suffixes: ClassVar[tuple[str, ...]]

    @abstractmethod
    def read(self, path: Path) -> RawTable:
        """Read ``path``.  Raise :class:`appraisal.errors.InputError` for unreadable files."""


# ---------------------------------------------------------------------------
# Pipeline steps
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StepInput:
    """What every pipeline step may look at (read-only).

    ``tables`` holds further input tables not keyed by employee (see
    :class:`InputTable`).  ``cells`` and ``weights`` are set from the calibration step on: the rater
    cells and each cell's weight in its competency score (normalised to sum
    to 1 per employee × competency; 0 for cells that do not count).
    ``classifications`` holds the results of the classifiers that ran before
    (by name), from the classification step on.
    ``memo`` lets components share expensive work within one run (e.g. a model
    fit several flag rules need); key it by component and options.
    """

    rubric: Rubric
    employees: Employees
    frame: RatingFrame
    tables: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)
    cells: RaterCells | None = None
    weights: np.ndarray | None = None
    classifications: Mapping[str, Classification] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


class WeightingScheme(Component):
    """Decides how much each rater's competency score counts."""

    kind = "weighting scheme"

    @abstractmethod
    def weights(self, cells: RaterCells, data: StepInput, options: ComponentOptions) -> np.ndarray:
        """Return a non-negative weight per rater cell (``float64[len(cells)]``).

        Weights are relative: the engine sets the weight of cells that must not
        count (hidden or non-counting groups, too few items answered) to zero
        and renormalises per employee × competency, so a scheme never needs to.
        """


@dataclass(frozen=True)
class Calibration:
    """Output of a calibration step.

    :param scores: adjusted rating scores, ``float64[N]`` aligned with the
        frame; NaN exactly where the input was NaN.
    :param summary: JSON-serialisable facts about the fit shown in the run's
        trace (e.g. variance components, iterations).
    :param rater_effects: optional estimated leniency per rater
        (``float64[R]``, NaN where not estimated, positive = generous); listed
        by rater for HR only, and to an employee only as a group average.
    :param rater_se: optional standard error of each rater effect.
    :param notes: optional plain-words notes for particular employees (employee
        code → ``{"id": ..., "en": ...}``), shown in their trace.
    """

    scores: np.ndarray
    summary: Mapping[str, Any] = field(default_factory=dict)
    rater_effects: np.ndarray | None = None
    rater_se: np.ndarray | None = None
    notes: Mapping[int, Mapping[str, str]] = field(default_factory=dict)


class Calibrator(Component):
    """Adjusts rating scores for rater effects before aggregation."""

    kind = "calibration step"

    @abstractmethod
    def calibrate(self, scores: np.ndarray, data: StepInput, options: ComponentOptions) -> Calibration:
        """Adjust ``scores`` (the output of the previous step, NaN = not observed)."""


@dataclass(frozen=True)
class ScoreSummary:
    """Employee-level scores the later steps use (arrays indexed by employee code).

    ``competency`` and ``overall`` are final (after calibration); ``*_raw``
    are before calibration.  ``shown_*`` are rounded half-up to the rubric's
    decimals: the numbers people see and categories are decided on.
    ``*_se`` are standard errors of the final scores (see
    :mod:`appraisal.uncertainty`); ``sufficient`` is False where the evidence
    is too thin to act on (reliability below the rubric's minimum, or a
    required rater group missing).
    """

    competency_raw: np.ndarray  # float64[E, C]
    competency: np.ndarray  # float64[E, C]
    self_score: np.ndarray  # float64[E, C]
    cluster: np.ndarray  # float64[E, K]
    overall_raw: np.ndarray  # float64[E]
    overall: np.ndarray  # float64[E]
    shown_overall: np.ndarray  # float64[E]
    shown_competency: np.ndarray  # float64[E, C]
    group_stats: GroupStats
    competency_se: np.ndarray  # float64[E, C]
    overall_se: np.ndarray  # float64[E]
    reliability: np.ndarray  # float64[E]
    sufficient: np.ndarray  # bool[E]


@dataclass(frozen=True)
class Classification:
    """Output of a classifier.

    :param categories: category code per employee (``object[E]``), ``""`` = not classified.
    :param labels: category code -> ``{"id": ..., "en": ...}``.
    :param reasons: per employee, a plain-words reason ``{"id": ..., "en": ...}``
        (may be empty dicts for unclassified employees): a list, or any
        sequence that spells each reason when it is asked for (the
        leave-one-rater-out check classifies a pseudo-employee per rater and
        reads only the categories).
    :param details: optional per employee, JSON-serialisable facts behind the
        category (e.g. a percentage and a second category scheme).
    :param title: what the classification is called, ``{"id": ..., "en": ...}``;
        the pipeline fills it from :attr:`Classifier.title`.
    """

    categories: np.ndarray
    labels: Mapping[str, Mapping[str, str]]
    reasons: Sequence[Mapping[str, str]]
    details: list[Mapping[str, Any]] | None = None
    title: Mapping[str, str] | None = None


class Classifier(Component):
    """Turns scores into a category per employee."""

    kind = "classifier"
    title: ClassVar[Mapping[str, str]] = {}
    """What reports call the classification, ``{"id": ..., "en": ...}``; the component name when empty."""

    @abstractmethod
    def classify(self, scores: ScoreSummary, data: StepInput, options: ComponentOptions) -> Classification: ...


@dataclass(frozen=True)
class PlanEntry:
    """One line of a development plan: a competency gap and what to do about it.

    ``competency`` is ``""`` for general development that serves no single gap
    (e.g. to reach the yearly minimum of learning hours).
    """

    competency: str
    required: float
    achieved: float
    gap: float
    priority: float
    actions: list[Mapping[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DevelopmentPlan:
    """An employee's plan: the entries, and what else the recommender found.

    :param insights: JSON-serialisable findings shown with the plan, e.g.
        self–other agreement, blind spots, hidden strengths, learning hours.
    :param hr_only: findings for HR only (e.g. which colleagues one could
        mentor) — never in the employee's own report.
    """

    entries: list[PlanEntry] = field(default_factory=list)
    insights: Mapping[str, Any] = field(default_factory=dict)
    hr_only: Mapping[str, Any] = field(default_factory=dict)


class Recommender(Component):
    """Writes a development plan per employee."""

    kind = "development recommender"

    @abstractmethod
    def recommend(self, scores: ScoreSummary, data: StepInput, options: ComponentOptions) -> list[DevelopmentPlan]:
        """Return one :class:`DevelopmentPlan` per employee (with no entries when nothing is needed)."""


Severity = Literal["info", "warning", "review"]
Audience = Literal["employee", "hr"]


@dataclass(frozen=True)
class Flag:
    """Something a person should look at, with the evidence behind it.

    :param audience: ``employee`` flags may appear in the employee's own
        report; ``hr`` flags (e.g. naming raters) go only to the HR queue.
    """

    rule: str
    severity: Severity
    subject: Literal["employee", "rater", "pair", "unit"]
    subject_id: str
    message: Mapping[str, str]
    audience: Audience = "employee"
    competency: str | None = None
    statistic: float | None = None
    threshold: float | None = None
    rows: tuple[int, ...] = ()


class FlagRule(Component):
    """Raises flags from the data and the scores.

    ``flags`` must return its findings and change nothing else: on large runs
    it is called in a forked worker process (see ``register_flag_rules``).
    """

    kind = "flag rule"
    reads_scores: ClassVar[bool] = True
    """False for a rule that looks only at the ratings and their weights (``data.frame``,
    ``data.cells``, ``data.weights``), never at scores or classifications: it is checked as soon
    as the weights are known, on large runs in a worker beside the rest of the run, and its
    ``flags`` receives ``scores=None`` and ``data`` without classifications."""

    def employee_flag(self, data: StepInput, employee: int, severity: Severity, id_text: str, en_text: str, **details: Any) -> Flag:
        """A flag about employee code ``employee``, with its message in both languages."""
        return Flag(
            rule=self.name,
            severity=severity,
            subject="employee",
            subject_id=str(data.employees.ids[employee]),
            message={"id": id_text, "en": en_text},
            **details,
        )

    @abstractmethod
    def flags(self, scores: ScoreSummary | None, data: StepInput, options: ComponentOptions) -> list[Flag]: ...


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


class RunView(ABC):
    """A finished run as writers see it, whether just computed or read back from ``results.json``.

    A writer may read different parts from two threads at once (the ``csv``
    format summarises the raters beside writing results.csv), so a view must
    allow that: the built-in ones hold arrays or open a file handle per call.
    """

    @property
    @abstractmethod
    def meta(self) -> dict[str, Any]:
        """Run-level facts: rubric, competencies, steps, counts (the ``run`` object of results.json)."""

    @abstractmethod
    def employees(self) -> Iterator[dict[str, Any]]:
        """Yield one result record per employee, in output order."""

    @abstractmethod
    def flags(self) -> Iterator[Flag]:
        """Yield every flag, employee and HR audience alike."""

    @abstractmethod
    def raters(self) -> list[dict[str, Any]]:
        """One record per rater for HR (names raters: never for an employee's own report).

        Keys: ``rater_id``, ``employee`` (is on the roster), ``ratings``,
        ``ratees``, ``relationships``, ``mean``, ``sd``, ``centring_offset``
        (mean − run mean: a diagnostic only, it mixes leniency with team
        quality), ``units_rated``, and per calibration step ``leniency`` and
        ``leniency_se`` keyed by step name.
        """

    def rater_summary(self) -> dict[str, Any]:
        """The rater records of :meth:`raters` as columns, for tabular writers (raters.csv).

        Keys: ``rater_id``, ``employee`` (bool), ``ratings``, ``ratees``,
        ``relationships`` (the group ids joined by spaces), ``mean``, ``sd``,
        ``centring_offset``, ``units_rated`` — each a sequence in rater order,
        numbers as ``float64`` with NaN for none — and ``leniency`` and
        ``leniency_se``: such a column per calibration step, by step name.
        This default builds them from :meth:`raters`; a view that holds
        arrays returns them directly.
        """
        records = self.raters()
        steps = sorted({name for record in records for name in record["leniency"]})

        def numbers(values: Iterable[Any]) -> np.ndarray:
            return np.array([np.nan if value is None else value for value in values], dtype=np.float64)

        def counts(key: str) -> np.ndarray:
            return np.array([record[key] for record in records], dtype=np.int64)

        return {
            "rater_id": [record["rater_id"] for record in records],
            "employee": np.array([record["employee"] for record in records], dtype=bool),
            "ratings": counts("ratings"),
            "ratees": counts("ratees"),
            "relationships": [" ".join(record["relationships"]) for record in records],
            "mean": numbers(record["mean"] for record in records),
            "sd": numbers(record["sd"] for record in records),
            "centring_offset": numbers(record["centring_offset"] for record in records),
            "units_rated": counts("units_rated"),
            "leniency": {step: numbers(record["leniency"].get(step) for record in records) for step in steps},
            "leniency_se": {step: numbers(record["leniency_se"].get(step) for record in records) for step in steps},
        }

    @abstractmethod
    def summary(self) -> dict[str, Any]:
        """The headline numbers as columns, for tabular writers (no per-employee records needed).

        Keys: ``employee_id``, ``name``, ``unit``, ``overall_raw`` and
        ``overall`` (shown, rounded), ``category`` (codes, ``""`` = none) —
        each a sequence in employee order — and ``competencies``, a
        ``float64[E, C]`` array of shown competency scores in ``meta["competencies"]`` order,
        and ``classifications``: the codes of every other classifier, by name.
        """


class OutputFormat(Component):
    """Writes files from a run (results.csv, results.json, reports...)."""

    kind = "output format"

    @abstractmethod
    def write(self, run: RunView, out_dir: Path, lang: Lang, options: ComponentOptions) -> list[Path]:
        """Write into ``out_dir`` (a private staging directory) and return the files written."""


class Example(Component):
    """A ready-to-run example for ``appraisal init --profile NAME``."""

    kind = "example"

    @abstractmethod
    def write(self, target: Path) -> list[Path]:
        """Write the example's files into ``target`` and return them.

        :raises FileExistsError: when a file would be overwritten (never overwrite).
        """


COMPONENT_KINDS: dict[str, type[Component]] = {
    "reader": TableReader,
    "input table": InputTable,
    "weighting scheme": WeightingScheme,
    "calibration step": Calibrator,
    "classifier": Classifier,
    "development recommender": Recommender,
    "flag rule": FlagRule,
    "output format": OutputFormat,
    "example": Example,
}
