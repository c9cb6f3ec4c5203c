"""Distribution curve of employee predikat per unit (SE MenPANRB 03/2023).

The unit's organisational predikat (input table ``predikat-unit``) fixes a
pattern for its employees' predikat: e.g. an organisation rated Baik must have
Baik as the most frequent predikat, at most 70 % Baik, and at least one
Butuh Perbaikan or Kurang.  The percentages are options whose defaults are the
SE's values as reported in ``asn-rules.md`` §1.4 — tagged **[S]** (single
secondary source): check them against the SE before relying on them.

Small units need an explicit rounding rule; by default a percentage becomes a
headcount by the **largest remainder** (Hamilton) between the category and
the rest of the unit — 70 % of 4 = 2.8 → 3 — and a remainder of exactly one
half is a *tie*, reported, with the unit given the benefit of the doubt
(``rounding: strict`` uses floor for maxima and ceiling for minima instead).

For a unit that breaks its curve the rule reports every violation with the
numbers and, optionally, proposes the smallest set of changes that would
satisfy the curve: each change moves the employee with the lowest (for a
downgrade) or highest (for an upgrade) calibrated 360 score in that
predikat.  Ties are reported, never broken; close calls (the probability
that the proposed employee really ranks below the next one is between 0.2
and 0.8, from the scores' standard errors) are sent to the human panel.
Proposals never change anything: the supervisor's decision stands.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from statistics import NormalDist
from typing import Literal

import numpy as np
from pydantic import Field

from appraisal import hookimpl
from appraisal.components import ComponentOptions, Flag, FlagRule

from .asn import PREDIKAT_LABELS, PREDIKAT_ORDER

PredikatCode = Literal["SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG_MISCONDUCT", "SANGAT_KURANG"]
SHORT = {"SANGAT_BAIK": "SB", "BAIK": "B", "BUTUH_PERBAIKAN": "BP", "KURANG_MISCONDUCT": "K", "SANGAT_KURANG": "SK"}


class CombinedMinimum(ComponentOptions):
    categories: list[PredikatCode]
    percent: float = Field(ge=0, le=100)


class CurveRule(ComponentOptions):
    """The pattern one organisational predikat imposes (percentages of the unit's employees)."""

    mode: PredikatCode | None = Field(None, description="The predikat that must be the most frequent")
    max: dict[PredikatCode, float] = Field(default_factory=dict, description="Upper bounds, in percent")
    min: dict[PredikatCode, float] = Field(default_factory=dict, description="Lower bounds, in percent")
    min_combined: list[CombinedMinimum] = Field(default_factory=list, description="Lower bounds on categories together")
    at_least_one_of: list[PredikatCode] = Field(default_factory=list, description="At least one employee in one of these")


def se_03_2023() -> dict[str, CurveRule]:
    """SE MenPANRB 03/2023 as reported by one secondary source [S] (asn-rules.md §1.4)."""
    return {
        "ISTIMEWA": CurveRule(mode="SANGAT_BAIK", max={"SANGAT_BAIK": 70}),
        "BAIK": CurveRule(mode="BAIK", max={"BAIK": 70}, at_least_one_of=["BUTUH_PERBAIKAN", "KURANG_MISCONDUCT"]),
        "BUTUH_PERBAIKAN": CurveRule(max={"SANGAT_BAIK": 10}, min={"BUTUH_PERBAIKAN": 60}),
        "KURANG": CurveRule(max={"SANGAT_BAIK": 10}, min={"BUTUH_PERBAIKAN": 10, "KURANG_MISCONDUCT": 60}),
        "SANGAT_KURANG": CurveRule(
            max={"SANGAT_BAIK": 0},
            min={"SANGAT_KURANG": 60},
            min_combined=[CombinedMinimum(categories=["KURANG_MISCONDUCT", "BUTUH_PERBAIKAN"], percent=10)],
            at_least_one_of=["KURANG_MISCONDUCT", "BUTUH_PERBAIKAN"],
        ),
    }


class CurveOptions(ComponentOptions):
    rules: dict[Literal["ISTIMEWA", "BAIK", "BUTUH_PERBAIKAN", "KURANG", "SANGAT_KURANG"], CurveRule] = Field(
        default_factory=se_03_2023, description="Pattern per organisational predikat; default: SE MenPANRB 03/2023 [S]"
    )
    rounding: Literal["largest-remainder", "strict"] = Field(
        "largest-remainder", description="Percent → headcount: largest remainder (ties reported) or strict floor/ceiling"
    )
    propose: bool = Field(True, description="Propose the smallest set of changes for units that break their curve")
    max_changes: int = Field(12, ge=1, le=40, description="Search proposals of at most this many changes")
    borderline: tuple[float, float] = Field((0.2, 0.8), description="Probability band that sends a proposal to the panel")


def headcount(percent: float, n: int, bound: Literal["max", "min"], rounding: str) -> tuple[int, bool]:
    """The headcount a percentage allows in a unit of ``n``, and whether the rounding was a tie.

    Largest remainder between the category (share p) and the rest (1 − p):
    the extra seat goes to the larger remainder; equal remainders are a tie,
    resolved in the unit's favour (the looser bound) and reported.
    """
    quota = Fraction(str(percent)) * n / 100
    base = quota.numerator // quota.denominator
    remainder = quota - base
    if rounding == "strict":
        return (base, False) if bound == "max" else (base + (remainder > 0), False)
    if remainder == 0:
        return base, False
    if remainder == Fraction(1, 2):
        return (base + 1 if bound == "max" else base), True
    return base + (remainder > Fraction(1, 2)), False


class Bounds:
    """A curve rule turned into headcounts for one unit size."""

    def __init__(self, rule: CurveRule, n: int, rounding: str) -> None:
        self.rule = rule
        self.ties: list[str] = []
        index = {code: k for k, code in enumerate(PREDIKAT_ORDER)}
        self.upper: list[tuple[int, int, float]] = []
        for code, percent in rule.max.items():
            limit, tie = headcount(percent, n, "max", rounding)
            self.upper.append((index[code], limit, percent))
            if tie:
                self.ties.append(f"max {SHORT[code]} {percent:g}% of {n}")
        self.lower: list[tuple[tuple[int, ...], int, float]] = []
        for code, percent in rule.min.items():
            limit, tie = headcount(percent, n, "min", rounding)
            self.lower.append(((index[code],), limit, percent))
            if tie:
                self.ties.append(f"min {SHORT[code]} {percent:g}% of {n}")
        for combined in rule.min_combined:
            limit, tie = headcount(combined.percent, n, "min", rounding)
            self.lower.append((tuple(index[c] for c in combined.categories), limit, combined.percent))
            if tie:
                self.ties.append(f"min {'+'.join(SHORT[c] for c in combined.categories)} {combined.percent:g}% of {n}")
        self.mode = index[rule.mode] if rule.mode else None
        self.one_of = tuple(index[c] for c in rule.at_least_one_of)

    def violations(self, counts: tuple[int, ...]) -> list[dict[str, str]]:
        """Every broken part of the rule, in words with the numbers."""
        found = []
        n = sum(counts)
        for k, limit, percent in self.upper:
            if counts[k] > limit:
                found.append({"id": f"{SHORT[PREDIKAT_ORDER[k]]} {counts[k]} dari {n} melebihi maksimum {percent:g}% (= {limit} orang)",
                              "en": f"{SHORT[PREDIKAT_ORDER[k]]} {counts[k]} of {n} exceeds the maximum {percent:g}% (= {limit})"})
        for ks, limit, percent in self.lower:
            have = sum(counts[k] for k in ks)
            if have < limit:
                name = "+".join(SHORT[PREDIKAT_ORDER[k]] for k in ks)
                found.append({"id": f"{name} {have} dari {n} kurang dari minimum {percent:g}% (= {limit} orang)",
                              "en": f"{name} {have} of {n} is below the minimum {percent:g}% (= {limit})"})
        if self.mode is not None and any(counts[k] > counts[self.mode] for k in range(len(counts)) if k != self.mode):
            name = SHORT[PREDIKAT_ORDER[self.mode]]
            found.append({"id": f"{name} ({counts[self.mode]}) harus menjadi predikat terbanyak",
                          "en": f"{name} ({counts[self.mode]}) must be the most frequent predikat"})
        if self.one_of and not any(counts[k] for k in self.one_of):
            names = " atau ".join(SHORT[PREDIKAT_ORDER[k]] for k in self.one_of)
            names_en = " or ".join(SHORT[PREDIKAT_ORDER[k]] for k in self.one_of)
            found.append({"id": f"harus ada sedikitnya satu {names}", "en": f"there must be at least one {names_en}"})
        return found


def smallest_changes(counts: tuple[int, ...], bounds: Bounds, max_changes: int) -> list[tuple[int, int]] | None:
    """The fewest employees to move between predikat so the unit fits, as (from, to) moves; None if more than max.

    Breadth-first over headcount vectors; moves to a neighbouring predikat are
    tried before longer ones, downgrades before upgrades, so the first plan
    found is also the mildest.
    """
    if not bounds.violations(counts):
        return []
    size = len(counts)
    moves = sorted(((a, b) for a in range(size) for b in range(size) if a != b), key=lambda m: (abs(m[0] - m[1]), m[1] < m[0], m))
    seen = {counts}
    queue = deque([(counts, [])])
    while queue:
        state, path = queue.popleft()
        if len(path) >= max_changes:
            continue
        for a, b in moves:
            if state[a] == 0:
                continue
            nxt = list(state)
            nxt[a] -= 1
            nxt[b] += 1
            nxt_t = tuple(nxt)
            if nxt_t in seen:
                continue
            seen.add(nxt_t)
            if not bounds.violations(nxt_t):
                return [*path, (a, b)]
            queue.append((nxt_t, [*path, (a, b)]))
    return None


class DistributionCurve(FlagRule):
    """Each unit's predikat distribution against the curve its organisational predikat sets."""

    name = "kurva-distribusi"
    summary = "per unit: employee predikat vs the SE MenPANRB 03/2023 curve; violations and the smallest proposed changes (HR)"
    Options = CurveOptions

    def flags(self, scores, data, options):
        predikat = data.classifications.get("predikat-kinerja")
        units_table = data.tables.get("predikat-unit")
        if predikat is None or units_table is None:
            return [self._unit_flag("-", "info",
                                    "Kurva distribusi tidak diperiksa: perlu predikat-kinerja dan file predikat-unit (--input predikat-unit=FILE).",
                                    "Distribution curve not checked: needs predikat-kinerja and the predikat-unit file (--input predikat-unit=FILE).")]
        org = dict(zip(units_table["unit"].tolist(), units_table["predikat_organisasi"].tolist()))
        units = np.asarray(data.employees.units, dtype=object)
        codes = np.asarray(predikat.categories, dtype=object)
        index = {code: k for k, code in enumerate(PREDIKAT_ORDER)}
        found: list[Flag] = []
        for unit in sorted(set(units.tolist()) - {""}):
            members = np.flatnonzero(units == unit)
            if unit not in org:
                found.append(self._unit_flag(unit, "info",
                                             f"Unit {unit}: predikat organisasi tidak diberikan; kurva tidak diperiksa.",
                                             f"Unit {unit}: no organisational predikat given; curve not checked."))
                continue
            rated = members[codes[members] != ""]
            counts = tuple(int((codes[rated] == code).sum()) for code in PREDIKAT_ORDER)
            rule = options.rules.get(org[unit])
            if rule is None:
                continue
            bounds = Bounds(rule, len(rated), options.rounding)
            found += self._check(unit, org[unit], counts, len(members) - len(rated), bounds, rated, index, scores, data, options)
        return found

    def _check(self, unit, org_predikat, counts, unrated, bounds, rated, index, scores, data, options) -> list[Flag]:
        shown = " ".join(f"{SHORT[code]} {count}" for code, count in zip(PREDIKAT_ORDER, counts))
        ties_id = f" Pembulatan seri (dipakai batas yang lebih longgar): {'; '.join(bounds.ties)}." if bounds.ties else ""
        ties_en = f" Rounding ties (the looser bound is used): {'; '.join(bounds.ties)}." if bounds.ties else ""
        unrated_id = f" {unrated} pegawai belum berpredikat." if unrated else ""
        unrated_en = f" {unrated} employee(s) without a predikat yet." if unrated else ""
        violations = bounds.violations(counts)
        org_label = org_predikat.replace("_", " ").title()
        if not violations:
            return [self._unit_flag(unit, "info",
                                    f"Unit {unit} (predikat organisasi {org_label}): distribusi predikat sesuai kurva ({shown}).{ties_id}{unrated_id}",
                                    f"Unit {unit} (organisational predikat {org_label}): predikat distribution fits the curve ({shown}).{ties_en}{unrated_en}",
                                    statistic=0.0)]
        flags = [self._unit_flag(
            unit, "review",
            f"Unit {unit} (predikat organisasi {org_label}) tidak sesuai kurva distribusi SE MenPANRB 03/2023 ({shown}): "
            f"{'; '.join(v['id'] for v in violations)}.{ties_id}{unrated_id}",
            f"Unit {unit} (organisational predikat {org_label}) breaks the SE MenPANRB 03/2023 curve ({shown}): "
            f"{'; '.join(v['en'] for v in violations)}.{ties_en}{unrated_en}",
            statistic=float(len(violations)),
        )]
        if not options.propose:
            return flags
        plan = smallest_changes(counts, bounds, options.max_changes)
        if plan is None:
            flags.append(self._unit_flag(unit, "review",
                                         f"Unit {unit}: perlu lebih dari {options.max_changes} perubahan; tidak ada usulan otomatis.",
                                         f"Unit {unit}: more than {options.max_changes} changes needed; no automatic proposal."))
            return flags
        return flags + self._proposals(unit, plan, rated, scores, data, options)

    def _proposals(self, unit, plan, rated, scores, data, options) -> list[Flag]:
        predikat = np.asarray(data.classifications["predikat-kinerja"].categories, dtype=object)
        score, se = scores.overall, scores.overall_se
        shown = scores.shown_overall
        current = {int(e): PREDIKAT_ORDER.index(predikat[e]) for e in rated}
        moved: set[int] = set()
        low, high = options.borderline
        flags = []
        for a, b in plan:
            candidates = [e for e, k in current.items() if k == a and e not in moved and not np.isnan(score[e])]
            if not candidates:
                continue
            downgrade = b > a
            ordered = sorted(candidates, key=lambda e: (score[e], str(data.employees.ids[e])), reverse=not downgrade)
            pick = ordered[0]
            moved.add(pick)
            tied = [e for e in ordered[1:] if shown[e] == shown[pick]]
            following = [e for e in ordered[1:] if e not in tied]
            notes_id, notes_en = [], []
            if tied:
                names = ", ".join(f"{data.employees.ids[e]} ({shown[e]:.2f})" for e in tied)
                notes_id.append(f"SERI dengan {names}: skor sama, panel memilih (tidak dipecah otomatis)")
                notes_en.append(f"TIED with {names}: equal scores, the panel chooses (never broken automatically)")
            if following:
                nxt = following[0]
                spread = float(np.hypot(se[pick], se[nxt])) if np.isfinite(se[pick]) and np.isfinite(se[nxt]) else np.nan
                if spread > 0:
                    gap = (score[nxt] - score[pick]) if downgrade else (score[pick] - score[nxt])
                    probability = NormalDist().cdf(gap / spread)
                    if low <= probability <= high:
                        notes_id.append(f"batas tipis dengan {data.employees.ids[nxt]} ({shown[nxt]:.2f}; peluang urutan benar {probability:.2f}): rujuk ke panel")
                        notes_en.append(f"close call with {data.employees.ids[nxt]} ({shown[nxt]:.2f}; probability the order is right {probability:.2f}): refer to the panel")
            direction_id = "terendah" if downgrade else "tertinggi"
            direction_en = "lowest" if downgrade else "highest"
            frm, to = PREDIKAT_ORDER[a], PREDIKAT_ORDER[b]
            flags.append(
                Flag(
                    rule=self.name,
                    severity="review",
                    subject="employee",
                    subject_id=str(data.employees.ids[pick]),
                    message={
                        "id": f"USULAN (bukan keputusan) untuk unit {unit}: predikat {PREDIKAT_LABELS[frm]['id']} → {PREDIKAT_LABELS[to]['id']}; "
                        f"skor 360 terkalibrasi {shown[pick]:.2f} ± {se[pick]:.2f}, {direction_id} di antara {PREDIKAT_LABELS[frm]['id']} di unit ini. "
                        + ("; ".join(notes_id) + ". " if notes_id else "")
                        + "Keputusan tetap pada atasan.",
                        "en": f"PROPOSAL (not a decision) for unit {unit}: predikat {PREDIKAT_LABELS[frm]['en']} → {PREDIKAT_LABELS[to]['en']}; "
                        f"calibrated 360 score {shown[pick]:.2f} ± {se[pick]:.2f}, the {direction_en} among {PREDIKAT_LABELS[frm]['en']} in this unit. "
                        + ("; ".join(notes_en) + ". " if notes_en else "")
                        + "The supervisor's decision stands.",
                    },
                    audience="hr",
                    statistic=float(score[pick]),
                )
            )
        return flags

    def _unit_flag(self, unit: str, severity: str, id_text: str, en_text: str, statistic: float | None = None) -> Flag:
        return Flag(rule=self.name, severity=severity, subject="unit", subject_id=unit,  # type: ignore[arg-type]
                    message={"id": id_text, "en": en_text}, audience="hr", statistic=statistic)


@hookimpl
def register_flag_rules(register):
    register(DistributionCurve())
