"""What the organisation-level reports say, gathered in one pass over a run's records.

Report formats (HTML organisation summary, XLSX workbook) share this so that
the numbers HR sees are the same whichever file they open. The aggregator is
fed one employee record at a time (:meth:`OrganisationSummary.add`) so a
writer can render individual reports in the same single pass and memory
stays bounded by units × competencies × programmes, not by employees.

Small cells: a unit × competency mean over fewer than ``min_cell`` employees
would show a named person's score to everyone who reads the summary, so such
cells carry their count but no mean (``None``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .components import Flag
from .i18n import Lang, choose

NINE_BOX = "nine-box"
DEFAULT_MIN_CELL = 3


@dataclass
class UnitSummary:
    """One work unit: headcount, primary categories and competency score sums."""

    name: str
    employees: int = 0
    insufficient_evidence: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    score_sum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    score_count: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    people_with_gap: Counter[str] = field(default_factory=Counter)

    def competency_means(self, min_cell: int) -> list[float | None]:
        """Mean shown score per competency (rubric order); ``None`` below ``min_cell`` employees."""
        return [
            float(total / count) if count >= min_cell else None
            for total, count in zip(self.score_sum.tolist(), self.score_count.tolist(), strict=True)
        ]


@dataclass
class CompetencyNeed:
    """A competency's shortfall against position profiles across the organisation."""

    competency: str
    people: int = 0
    gap_total: float = 0.0

    @property
    def mean_gap(self) -> float | None:
        """Mean gap among the people who have one."""
        return self.gap_total / self.people if self.people else None


@dataclass
class ProgrammeNeed:
    """A catalogue programme: how many people the plans send to it and the learning hours (JP) that takes."""

    programme: str
    name: dict[str, str | None]
    form: str
    form_label: dict[str, str | None]
    provider: dict[str, str | None] | None
    people: int = 0
    hours: float = 0.0
    competencies: Counter[str] = field(default_factory=Counter)


@dataclass
class FlagCount:
    """Flags of one rule, audience and severity."""

    rule: str
    audience: str
    severity: str
    subject: str
    count: int = 0


class OrganisationSummary:
    """Organisation-wide tables built from employee records and flags.

    :param meta: the run's ``meta`` (results.json ``run``).
    :param min_cell: the fewest employees a unit × competency mean is shown for.
    """

    def __init__(self, meta: dict[str, Any], min_cell: int = DEFAULT_MIN_CELL) -> None:
        self.meta = meta
        self.min_cell = min_cell
        self.competency_ids: list[str] = [c["id"] for c in meta["competencies"]]
        self.category_codes: list[str] = list(meta["categories"])
        self.employees = 0
        self.insufficient_evidence = 0
        self.units: dict[str, UnitSummary] = {}
        self.categories: Counter[str] = Counter()
        self.other_classifications: dict[str, Counter[str]] = {
            entry["name"]: Counter() for entry in meta.get("classifications", []) if not entry["primary"]
        }
        self.competency_needs: dict[str, CompetencyNeed] = {cid: CompetencyNeed(cid) for cid in self.competency_ids}
        self.programmes: dict[str, ProgrammeNeed] = {}
        self.learning_hours_total = 0.0
        self.below_minimum_hours = 0
        self.self_other: Counter[str] = Counter()
        self.flag_counts: dict[tuple[str, str, str, str], FlagCount] = {}
        self._index = {cid: c for c, cid in enumerate(self.competency_ids)}

    @property
    def has_nine_box(self) -> bool:
        return NINE_BOX in self.other_classifications

    def add(self, record: dict[str, Any]) -> None:
        """Count one employee record (as in results.json)."""
        self.employees += 1
        unit = self.units.get(record["unit"])
        if unit is None:
            size = len(self.competency_ids)
            unit = self.units[record["unit"]] = UnitSummary(
                record["unit"], score_sum=np.zeros(size), score_count=np.zeros(size, dtype=np.int64)
            )
        unit.employees += 1
        if record["status"] != "ok":
            unit.insufficient_evidence += 1
            self.insufficient_evidence += 1
        code = (record.get("category") or {}).get("code", "")
        unit.categories[code] += 1
        self.categories[code] += 1
        for name, counter in self.other_classifications.items():
            counter[((record.get("classifications") or {}).get(name) or {}).get("code", "")] += 1
        for competency in record["competencies"]:
            if competency["score_shown"] is not None:
                c = self._index[competency["id"]]
                unit.score_sum[c] += competency["score_shown"]
                unit.score_count[c] += 1
        self._add_plan(record, unit)

    def _add_plan(self, record: dict[str, Any], unit: UnitSummary) -> None:
        seen: set[str] = set()
        for entry in record.get("development_plan") or []:
            if entry["competency"] and entry["gap"] and entry["gap"] > 0:
                need = self.competency_needs[entry["competency"]]
                need.people += 1
                need.gap_total += entry["gap"]
                unit.people_with_gap[entry["competency"]] += 1
            for action in entry["actions"]:
                programme = self.programmes.get(action["programme"])
                if programme is None:
                    programme = self.programmes[action["programme"]] = ProgrammeNeed(
                        action["programme"], action["name"], action["form"], action["form_label"], action.get("provider")
                    )
                programme.people += action["programme"] not in seen
                seen.add(action["programme"])
                programme.hours += action["hours"] or 0.0
                if entry["competency"]:
                    programme.competencies[entry["competency"]] += 1
        development = record.get("development") or {}
        hours = development.get("learning_hours") or {}
        self.learning_hours_total += hours.get("total") or 0.0
        if hours.get("meets_minimum") is False:
            self.below_minimum_hours += 1
        self_other = development.get("self_other")
        if self_other:
            self.self_other[self_other["category"]] += 1

    def add_flags(self, flags: Iterable[Flag]) -> None:
        """Count flags by rule, audience, severity and subject kind."""
        for flag in flags:
            key = (flag.rule, flag.audience, flag.severity, flag.subject)
            if key not in self.flag_counts:
                self.flag_counts[key] = FlagCount(*key)
            self.flag_counts[key].count += 1

    def unit_names(self) -> list[str]:
        """Units in name order (the empty name, employees without a unit, last)."""
        return sorted(self.units, key=lambda name: (name == "", name))

    def training_needs(self) -> list[CompetencyNeed]:
        """Competencies with a shortfall, most people first, then the largest mean gap."""
        needs = [need for need in self.competency_needs.values() if need.people]
        return sorted(needs, key=lambda need: (-need.people, -(need.mean_gap or 0.0), need.competency))

    def programme_needs(self) -> list[ProgrammeNeed]:
        """Programmes in the plans, most people first."""
        return sorted(self.programmes.values(), key=lambda p: (-p.people, -p.hours, p.programme))

    def nine_box(self) -> dict[int, int]:
        """People per official box number 1–9 (empty when the nine-box classifier did not run)."""
        counter = self.other_classifications.get(NINE_BOX)
        if counter is None:
            return {}
        return {box: counter.get(f"kotak-{box}", 0) for box in range(1, 10)}

    def hr_queue(self) -> list[FlagCount]:
        """Flag counts for HR: integrity and curve checks first (audience ``hr``), then reviews of employees."""
        order = {"hr": 0, "employee": 1}
        return sorted(self.flag_counts.values(), key=lambda f: (order.get(f.audience, 2), f.rule, f.severity, f.subject))


def summarise(meta: dict[str, Any], records: Iterable[dict[str, Any]], flags: Iterable[Flag], min_cell: int = DEFAULT_MIN_CELL) -> OrganisationSummary:
    """Build an :class:`OrganisationSummary` from all records and flags at once."""
    summary = OrganisationSummary(meta, min_cell)
    for record in records:
        summary.add(record)
    summary.add_flags(flags)
    return summary


def classification_titles(meta: dict[str, Any], lang: Lang) -> dict[str, str]:
    """Classifier name -> what reports call it in ``lang`` (the name itself when the classifier gave no title)."""
    return {entry["name"]: choose(entry.get("title") or {}, lang) or entry["name"] for entry in meta.get("classifications", [])}
