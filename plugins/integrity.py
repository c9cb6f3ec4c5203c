"""Built-in integrity flag rules: how raters rated, for HR's audit queue.

Every flag here names a rater (or a pair or group of raters), so every flag
goes to HR only (``audience="hr"``); none reaches an employee's report.  The
statistics live in :mod:`appraisal.integrity`; these rules only choose the
ratings and word the flags.

* ``straight-lining`` — forms with one score on every item (IRV = 0 on ≥ 6
  ratings), and raters whose forms are mostly flat.
* ``central-tendency`` — raters who put most ratings on the scale midpoint, or
  whose ratings barely vary.
* ``leniency`` — extreme leniency or severity: the rater effect of the
  additive model (as ``additive-bias`` fits it), |b̂| > 2·SE and ≥ 0.5 points.
* ``mutual-high-scoring`` — pairs who rate each other far above the model's
  prediction, against a permutation null of the largest such pair, plus
  *cliques*: groups of ≥ 3 raters joined by flagged pairs (one flag per group,
  subject ``unit``, meaning a group of raters rather than an org unit).
  Cliques are part of this rule rather than a rule of their own so that the
  permutation test runs once and the cliques are always built from exactly
  the pairs flagged next to them.
* ``unit-favouritism`` — raters whose ratings of people in their own unit run
  above (or below) their ratings of people outside it.

Which ratings: the rules about a rater's own way of filling in forms
(straight-lining, central tendency) read every non-self rating they gave,
counted or not; the model-based rules (leniency, collusion, favouritism) read
only ratings that count in someone's score, the same ratings the calibration
steps see.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from appraisal import hookimpl
from appraisal.components import ComponentOptions, Flag, FlagRule, StepInput
from appraisal.effects import additive_fit
from appraisal.frame import work_units
from appraisal.rasch import fit_mfrm
from appraisal.integrity import (
    central_tendency,
    cliques,
    dyads,
    extreme_raters,
    mutual_high_scoring,
    rater_interaction,
    straight_lining,
)

MAX_ROWS = 200
"""Source rows listed on one flag at most."""


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------


def _non_self(data: StepInput) -> np.ndarray:
    """Observed ratings of other people: not the self group, not rating oneself."""
    frame = data.frame
    own = frame.rater_employee[frame.rater] == frame.ratee
    return ~np.isnan(frame.score) & ~own & (frame.group != data.rubric.layout.self_group)


def _counted(data: StepInput) -> np.ndarray:
    """Observed ratings that count in someone's score (rater cell weight > 0)."""
    if data.cells is None or data.weights is None:
        return _non_self(data)
    return (data.weights > 0)[data.cells.of_rating] & ~np.isnan(data.frame.score)


class _Rows:
    """Source row numbers of the ratings whose key is one of ``wanted`` (what was flagged), by key.

    Only those ratings are sorted: a stable sort of every rating by rater
    took 0.3-0.4 s at 100,000 employees for the few hundred raters flagged.
    """

    def __init__(self, key: np.ndarray, rows: np.ndarray, wanted: np.ndarray) -> None:
        mine = np.flatnonzero(np.isin(key, wanted))
        order = mine[np.argsort(key[mine], kind="stable")]
        self.key, self.rows = key[order], rows[order]

    def of(self, *keys: int) -> tuple[int, ...]:
        parts = [self.rows[np.searchsorted(self.key, k, "left") : np.searchsorted(self.key, k, "right")] for k in keys]
        found = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        return tuple(int(row) for row in found[:MAX_ROWS])


def _fit(data: StepInput, ridge: float, source_effects: bool, tolerance: float):
    """The additive model on the counted ratings: (indices of those ratings, fit).

    ``mutual-high-scoring`` and ``unit-favouritism`` use the same model by
    default, and one fit takes seconds on a large run, so it is kept in the
    run's memo and reused for the same model options.
    """
    key = ("additive-fit", ridge, source_effects, tolerance)
    if key not in data.memo:
        frame, layout = data.frame, data.rubric.layout
        used = np.flatnonzero(_counted(data))
        fixed: tuple[tuple[np.ndarray, int], ...] = ((frame.competency[used], len(layout.competency_ids)),)
        if source_effects:
            fixed += ((frame.group[used], len(layout.group_ids)),)
        units = work_units(data.employees, frame)
        data.memo[key] = (
            used,
            additive_fit(frame.score[used], frame.ratee[used], frame.rater[used], fixed, ridge=ridge, tol=tolerance, groups=units),
        )
    return data.memo[key]


def _hr_flag(rule: FlagRule, severity: str, subject: str, subject_id: str, id_text: str, en_text: str, **details) -> Flag:
    return Flag(
        rule=rule.name,
        severity=severity,  # type: ignore[arg-type]
        subject=subject,  # type: ignore[arg-type]
        subject_id=subject_id,
        message={"id": id_text, "en": en_text},
        audience="hr",
        **details,
    )


def _number(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


# ---------------------------------------------------------------------------
# straight-lining
# ---------------------------------------------------------------------------


class StraightLiningOptions(ComponentOptions):
    min_items: int = Field(6, ge=2, description="A form is judged only with at least this many observed ratings (Meade & Craig: 6)")
    min_share: float = Field(0.5, gt=0, le=1, description="Flag a rater when at least this share of their judged forms is flat")
    min_forms: int = Field(2, ge=1, description="A rater is judged only with at least this many judged forms")
    form_flags: bool = Field(True, description="Also flag single flat forms of raters who are not flagged as a whole")


class StraightLining(FlagRule):
    """IRV = 0 (one score for every item) on forms of ≥ min_items ratings; raters with mostly flat forms."""

    name = "straight-lining"
    reads_scores = False
    summary = "forms with the same score on every item, and raters whose forms mostly are (HR only)"
    Options = StraightLiningOptions

    def flags(self, scores, data, options):
        frame = data.frame
        used = np.flatnonzero(_non_self(data))
        found = straight_lining(
            frame.rater[used],
            frame.ratee[used],
            frame.score[used],
            min_items=options.min_items,
            min_forms=options.min_forms,
            min_share=options.min_share,
        )
        forms = found.forms
        if not forms.flat.any():
            return []
        flat_forms = np.flatnonzero(forms.flat)
        rows = _Rows(forms.of_rating, frame.row[used], flat_forms)
        flat_of_rater: dict[int, list[int]] = {}
        for f in flat_forms.tolist():
            flat_of_rater.setdefault(int(forms.rater[f]), []).append(f)
        out = []
        flagged_raters = set(found.rater[found.flagged].tolist())
        for k in np.flatnonzero(found.flagged):
            r = int(found.rater[k])
            rater_id = str(frame.raters[r])
            flat, judged, share = int(found.n_flat[k]), int(found.n_forms[k]), float(found.share[k])
            out.append(
                _hr_flag(
                    self,
                    "review",
                    "rater",
                    rater_id,
                    f"Penilai {rater_id} memberi nilai yang sama untuk semua butir pada {flat} dari {judged} formulir "
                    f"({share:.0%}; batas {options.min_share:.0%}, formulir dengan minimal {options.min_items} butir). "
                    "Periksa apakah penilaian diisi dengan sungguh-sungguh.",
                    f"Rater {rater_id} gave the same score to every item on {flat} of {judged} forms "
                    f"({share:.0%}; limit {options.min_share:.0%}, forms with at least {options.min_items} items). "
                    "Check that the ratings were given in earnest.",
                    statistic=share,
                    threshold=float(options.min_share),
                    rows=rows.of(*flat_of_rater[r]),
                )
            )
        if options.form_flags:
            for f in flat_forms.tolist():
                r = int(forms.rater[f])
                if r in flagged_raters:
                    continue
                rater_id, ratee_id = str(frame.raters[r]), str(data.employees.ids[forms.ratee[f]])
                value, n = _number(forms.value[f]), int(forms.n[f])
                out.append(
                    _hr_flag(
                        self,
                        "info",
                        "rater",
                        rater_id,
                        f"Penilai {rater_id} memberi nilai {value} untuk semua {n} butir pada formulir pegawai {ratee_id} "
                        "(simpangan baku formulir = 0).",
                        f"Rater {rater_id} gave {value} to all {n} items on the form for employee {ratee_id} "
                        "(the form's standard deviation is 0).",
                        statistic=0.0,
                        threshold=0.0,
                        rows=rows.of(f),
                    )
                )
        return out


# ---------------------------------------------------------------------------
# central-tendency
# ---------------------------------------------------------------------------


class CentralTendencyOptions(ComponentOptions):
    min_ratings: int = Field(30, ge=2, description="A rater is judged only with at least this many non-self ratings")
    max_midpoint_share: float = Field(
        0.8, gt=0, le=1, description="Flag a rater with at least this share of ratings within half a point of the scale midpoint"
    )
    min_sd_fraction: float = Field(
        0.075, ge=0, lt=1, description="Flag a rater whose rating SD is below this fraction of the scale range (0.3 points on 1–5)"
    )


class CentralTendency(FlagRule):
    """Raters who overuse the scale midpoint or hardly spread their ratings."""

    name = "central-tendency"
    reads_scores = False
    summary = "raters who put most ratings on the scale midpoint or barely vary them (HR only)"
    Options = CentralTendencyOptions

    def flags(self, scores, data, options):
        frame, scale = data.frame, data.rubric.scale
        used = np.flatnonzero(_non_self(data))
        midpoint = (scale.min + scale.max) / 2
        min_sd = options.min_sd_fraction * (scale.max - scale.min)
        found = central_tendency(
            frame.rater[used],
            frame.score[used],
            midpoint=midpoint,
            min_ratings=options.min_ratings,
            max_midpoint_share=options.max_midpoint_share,
            min_sd=min_sd,
        )
        if not found.flagged.any():
            return []
        rows = _Rows(frame.rater[used], frame.row[used], found.rater[found.flagged])
        out = []
        for k in np.flatnonzero(found.flagged):
            r = int(found.rater[k])
            rater_id = str(frame.raters[r])
            share, sd, n = float(found.midpoint_share[k]), float(found.sd[k]), int(found.n[k])
            facts_id = (
                f"{share:.0%} dari {n} nilainya berada di titik tengah skala ({_number(midpoint)}; batas "
                f"{options.max_midpoint_share:.0%}), simpangan baku {sd:.2f} (batas bawah {min_sd:.2f})"
            )
            facts_en = (
                f"{share:.0%} of their {n} ratings are at the scale midpoint ({_number(midpoint)}; limit "
                f"{options.max_midpoint_share:.0%}), standard deviation {sd:.2f} (lower limit {min_sd:.2f})"
            )
            by_share = bool(found.by_share[k])
            out.append(
                _hr_flag(
                    self,
                    "warning",
                    "rater",
                    rater_id,
                    f"Penilai {rater_id} hampir tidak membedakan: {facts_id}. Nilai seperti ini sedikit informasinya; "
                    "pertimbangkan pelatihan penilai.",
                    f"Rater {rater_id} hardly differentiates: {facts_en}. Such ratings carry little information; "
                    "consider rater training.",
                    statistic=share if by_share else sd,
                    threshold=float(options.max_midpoint_share) if by_share else float(min_sd),
                    rows=rows.of(r),
                )
            )
        return out


# ---------------------------------------------------------------------------
# leniency
# ---------------------------------------------------------------------------


class ModelOptions(ComponentOptions):
    """Options of the additive model the model-based rules fit (shared fits need equal options)."""

    ridge: float = Field(1.0, ge=0, description="Ridge on rater effects, in ratings, as additive-bias uses it")
    source_effects: bool = Field(True, description="Model each rater group's systematic effect first")
    tolerance: float = Field(1e-8, gt=0, lt=1e-2)


class LeniencyOptions(ModelOptions):
    z: float = Field(2.0, gt=0, description="Flag when |effect| exceeds this many standard errors ...")
    min_points: float = Field(0.5, ge=0, description="... and is at least this many scale points")
    source_effects: bool = Field(
        False, description="Model each rater group's systematic effect (off: the additive-bias model, leniency relative to all raters)"
    )


class Leniency(FlagRule):
    """Extreme leniency or severity from the additive fixed-effects model: |b̂| > z·SE and |b̂| ≥ min_points."""

    name = "leniency"
    reads_scores = False
    summary = "raters far more lenient or severe than the others (additive model, |effect| > 2 SE and ≥ 0.5 points; HR only)"
    Options = LeniencyOptions

    def flags(self, scores, data, options):
        frame = data.frame
        used, fit = _fit(data, options.ridge, options.source_effects, options.tolerance)
        extreme = extreme_raters(fit.effect, fit.se, z=options.z, min_points=options.min_points)
        if not extreme.any():
            return []
        rows = _Rows(frame.rater[used], frame.row[used], fit.rater[extreme])
        out = []
        for k in np.flatnonzero(extreme):
            r = int(fit.rater[k])
            rater_id = str(frame.raters[r])
            effect, se, n = float(fit.effect[k]), float(fit.se[k]), int(fit.n[k])
            limit = max(options.z * se, options.min_points)
            lenient = effect > 0
            out.append(
                _hr_flag(
                    self,
                    "info",
                    "rater",
                    rater_id,
                    f"Penilai {rater_id} memberi nilai jauh lebih {'tinggi' if lenient else 'rendah'} daripada penilai lain "
                    f"untuk orang yang sama: efek penilai {effect:+.2f} poin (SE {se:.2f}; batas |efek| > {options.z:g}×SE "
                    f"dan ≥ {options.min_points:g} poin) dari {n} penilaian. Kalibrasi dapat mengoreksinya; "
                    "pertimbangkan pelatihan penilai.",
                    f"Rater {rater_id} rates far more {'leniently' if lenient else 'severely'} than the other raters of the "
                    f"same people: rater effect {effect:+.2f} points (SE {se:.2f}; limit |effect| > {options.z:g}×SE and "
                    f"≥ {options.min_points:g} points) from {n} ratings. Calibration can correct it; consider rater training.",
                    statistic=effect,
                    threshold=float(limit),
                    rows=rows.of(r),
                )
            )
        return out


# ---------------------------------------------------------------------------
# mutual-high-scoring (+ cliques)
# ---------------------------------------------------------------------------


class MutualOptions(ModelOptions):
    permutations: int = Field(500, ge=20, le=100_000, description="Permutations of the null distribution of the largest MHS")
    quantile: float = Field(0.95, gt=0.5, lt=1, description="Flag pairs whose MHS exceeds this quantile of the permutation null")
    seed: int = Field(0, ge=0, description="Seed of the permutations, so a run can be repeated exactly")
    min_ratings: int = Field(3, ge=1, description="Ratings a rater must have given the other for a direction to count")
    min_clique_size: int = Field(3, ge=3, description="Report groups of at least this many raters joined by flagged pairs")


class MutualHighScoring(FlagRule):
    """Reciprocal pairs rating each other above the model (MHS permutation test), and cliques of such pairs."""

    name = "mutual-high-scoring"
    reads_scores = False
    summary = "pairs who rate each other far above expectation (permutation test), and groups of such pairs (HR only)"
    Options = MutualOptions

    def flags(self, scores, data, options):
        frame, ids = data.frame, data.employees.ids
        used, fit = _fit(data, options.ridge, options.source_effects, options.tolerance)
        person = frame.rater_employee[frame.rater[used]]
        employee = person >= 0
        used, residual, person = used[employee], fit.residual[employee], person[employee]
        directed = dyads(person, frame.ratee[used], residual)
        enough = directed.n >= options.min_ratings
        kept = np.flatnonzero(enough)
        found = mutual_high_scoring(
            directed.rater[kept],
            directed.ratee[kept],
            directed.mean[kept],
            permutations=options.permutations,
            quantile=options.quantile,
            seed=options.seed,
        )
        if not found.flagged.any():
            return []
        pairs = np.flatnonzero(found.flagged)
        pair_rows = {k: (int(kept[found.dyad_ab[k]]), int(kept[found.dyad_ba[k]])) for k in pairs.tolist()}
        rows = _Rows(directed.of_rating, frame.row[used], np.array([d for both in pair_rows.values() for d in both], dtype=np.int64))
        out = []
        for k in pairs.tolist():
            a_id, b_id = str(ids[found.a[k]]), str(ids[found.b[k]])
            ab, ba, mhs, p = float(found.ab[k]), float(found.ba[k]), float(found.mhs[k]), float(found.p_value[k])
            out.append(
                _hr_flag(
                    self,
                    "review",
                    "pair",
                    f"{a_id}+{b_id}",
                    f"{a_id} dan {b_id} saling memberi nilai jauh di atas perkiraan model: rata-rata residual "
                    f"{a_id}→{b_id} {ab:+.2f}, {b_id}→{a_id} {ba:+.2f}. MHS {mhs:.2f} melebihi batas peluang "
                    f"{found.threshold:.2f} (persentil {options.quantile * 100:g}% dari MHS terbesar pada {options.permutations} "
                    f"permutasi; p = {p:.3f}). Periksa kemungkinan kolusi.",
                    f"{a_id} and {b_id} rate each other far above what the model predicts: mean residual "
                    f"{a_id}→{b_id} {ab:+.2f}, {b_id}→{a_id} {ba:+.2f}. MHS {mhs:.2f} exceeds the chance limit "
                    f"{found.threshold:.2f} (the {options.quantile * 100:g}% point of the largest MHS over {options.permutations} "
                    f"permutations; p = {p:.3f}). Check for collusion.",
                    statistic=mhs,
                    threshold=found.threshold,
                    rows=rows.of(*pair_rows[k]),
                )
            )
        for members in cliques(found.a[pairs], found.b[pairs], options.min_clique_size):
            inside = pairs[np.isin(found.a[pairs], members) & np.isin(found.b[pairs], members)]
            names = [str(ids[m]) for m in members.tolist()]
            listed = ", ".join(names)
            out.append(
                _hr_flag(
                    self,
                    "review",
                    "unit",
                    "+".join(names),
                    f"Kelompok {len(names)} penilai yang saling terhubung lewat {len(inside)} pasangan bernilai tinggi "
                    f"yang ditandai: {listed}. Periksa kemungkinan kolusi kelompok.",
                    f"A group of {len(names)} raters joined by {len(inside)} flagged high-scoring pairs: {listed}. "
                    "Check for collusion within the group.",
                    statistic=float(len(names)),
                    threshold=float(options.min_clique_size),
                    rows=rows.of(*[d for k in inside.tolist() for d in pair_rows[k]]),
                )
            )
        return out


# ---------------------------------------------------------------------------
# unit-favouritism
# ---------------------------------------------------------------------------


class FavouritismOptions(ModelOptions):
    min_forms: int = Field(2, ge=2, description="Forms a rater needs both inside and outside their unit to be judged")
    min_t: float = Field(2.0, gt=0, description="Flag when Welch's |t| exceeds this ...")
    min_points: float = Field(0.5, ge=0, description="... and the inside − outside difference is at least this many points")


class UnitFavouritism(FlagRule):
    """Rater × same-unit interaction: mean residual of forms inside vs outside the rater's own unit (Welch t)."""

    name = "unit-favouritism"
    reads_scores = False
    summary = "raters who rate their own unit's people higher (or lower) than others, beyond the model (HR only)"
    Options = FavouritismOptions

    def flags(self, scores, data, options):
        frame = data.frame
        employee_unit, unit_of_rater = work_units(data.employees, frame)
        if (employee_unit < 0).all():
            return []
        used, fit = _fit(data, options.ridge, options.source_effects, options.tolerance)
        rater_unit = unit_of_rater[frame.rater[used]]
        ratee_unit = employee_unit[frame.ratee[used]]
        known = (rater_unit >= 0) & (ratee_unit >= 0)
        used, residual = used[known], fit.residual[known]
        inside_rating = rater_unit[known] == ratee_unit[known]
        directed = dyads(frame.rater[used], frame.ratee[used], residual)
        inside = np.zeros(len(directed.n), dtype=bool)
        inside[directed.of_rating] = inside_rating  # the same for every rating of a dyad
        found = rater_interaction(
            directed.rater, inside, directed.mean, min_forms=options.min_forms, min_t=options.min_t, min_points=options.min_points
        )
        if not found.flagged.any():
            return []
        rows = _Rows(frame.rater[used], frame.row[used], found.rater[found.flagged])
        out = []
        for k in np.flatnonzero(found.flagged):
            r = int(found.rater[k])
            rater_id = str(frame.raters[r])
            unit = str(data.employees.units[frame.rater_employee[r]])
            diff, t = float(found.difference[k]), float(found.t[k])
            n_in, n_out = int(found.n_inside[k]), int(found.n_outside[k])
            m_in, m_out = float(found.mean_inside[k]), float(found.mean_outside[k])
            higher = diff > 0
            out.append(
                _hr_flag(
                    self,
                    "review",
                    "rater",
                    rater_id,
                    f"Penilai {rater_id} ({unit}) menilai pegawai unitnya sendiri {'lebih tinggi' if higher else 'lebih rendah'} "
                    f"daripada pegawai unit lain, di luar perkiraan model: selisih rata-rata residual {diff:+.2f} poin "
                    f"({n_in} formulir di dalam unit {m_in:+.2f}, {n_out} di luar {m_out:+.2f}), t Welch = {t:.2f} "
                    f"(batas |t| > {options.min_t:g} dan selisih ≥ {options.min_points:g} poin). Periksa kemungkinan favoritisme.",
                    f"Rater {rater_id} ({unit}) rates people in their own unit {'higher' if higher else 'lower'} than people "
                    f"in other units, beyond the model: mean residual difference {diff:+.2f} points ({n_in} forms inside "
                    f"{m_in:+.2f}, {n_out} outside {m_out:+.2f}), Welch t = {t:.2f} (limit |t| > {options.min_t:g} and a "
                    f"difference of ≥ {options.min_points:g} points). Check for favouritism.",
                    statistic=t,
                    threshold=float(options.min_t),
                    rows=rows.of(r),
                )
            )
        return out


# ---------------------------------------------------------------------------
# misfit (Many-Facet Rasch)
# ---------------------------------------------------------------------------


# The flags need mean-squares to two decimals, and measures within 0.01 logits give far more than that: on
# 10,000 simulated employees, against a fit to 1e-8, rater severities are within 1.5e-5 logits and
# mean-squares within 6.1e-6 (8 Newton steps instead of 10); on 100,000, severities within 1.6e-7 and
# mean-squares within 1.9e-5 of a fit to 1e-6, the same 666 raters flagged, 17 s instead of 21 s.
MISFIT_TOLERANCE = 1e-2


class MisfitOptions(ComponentOptions):
    max_mean_square: float = Field(1.5, gt=1, description="Underfit (erratic): infit or outfit mean-square above this ...")
    min_mean_square: float = Field(0.5, gt=0, lt=1, description="Overfit (too predictable): infit below this ...")
    min_zstd: float = Field(2.0, gt=0, description="... and |ZSTD| above this (Wright & Linacre 1994)")
    min_ratings: int = Field(20, ge=5, description="A rater is judged only with at least this many counted ratings")


class Misfit(FlagRule):
    """Raters whose ratings fit the Many-Facet Rasch model badly (infit/outfit mean-squares with ZSTD)."""

    name = "misfit"
    reads_scores = False
    summary = "raters whose ratings fit the Rasch model badly: erratic (MnSq > 1.5) or too predictable (< 0.5); HR only"
    Options = MisfitOptions

    def flags(self, scores, data, options):
        frame, layout, scale = data.frame, data.rubric.layout, data.rubric.scale
        used = np.flatnonzero(_counted(data))
        if len(used) == 0:
            return []
        # Items: rated items keep their code; competencies rated as a whole follow them.
        item = np.where(frame.item[used] >= 0, frame.item[used], len(layout.item_keys) + frame.competency[used])
        category = np.rint(frame.score[used] - scale.min)
        if category.min() == category.max():  # one category (the counted ratings are observed: no NaN)
            return []
        # Work units as the solver's groups: people rate mostly inside their unit (see fit_mfrm).
        fit = fit_mfrm(
            frame.ratee[used],
            frame.rater[used],
            item,
            category,
            scale.max - scale.min + 1,
            n_raters=len(frame.raters),
            tol=MISFIT_TOLERANCE,
            groups=work_units(data.employees, frame),
        )
        counts = fit.rater_count
        underfit = ((fit.rater_infit > options.max_mean_square) & (fit.rater_infit_zstd > options.min_zstd)) | (
            (fit.rater_outfit > options.max_mean_square) & (fit.rater_outfit_zstd > options.min_zstd)
        )
        overfit = (fit.rater_infit < options.min_mean_square) & (fit.rater_infit_zstd < -options.min_zstd)
        flagged = np.flatnonzero((counts >= options.min_ratings) & np.nan_to_num(underfit | overfit, nan=False))
        rows = _Rows(frame.rater[used], frame.row[used], flagged)
        out = []
        for r in flagged:
            rater_id = str(frame.raters[r])
            infit, outfit = float(fit.rater_infit[r]), float(fit.rater_outfit[r])
            erratic = bool(underfit[r])
            out.append(
                _hr_flag(
                    self,
                    "review",
                    "rater",
                    rater_id,
                    (
                        f"Penilaian dari {rater_id} {'tidak konsisten (acak)' if erratic else 'terlalu seragam (halo/pola tetap)'} "
                        f"menurut model Rasch: infit {infit:.2f}, outfit {outfit:.2f} "
                        f"(batas {'>' if erratic else '<'} {options.max_mean_square if erratic else options.min_mean_square:g}, "
                        f"|ZSTD| > {options.min_zstd:g}) dari {int(counts[r])} penilaian."
                    ),
                    (
                        f"Ratings by {rater_id} are {'erratic' if erratic else 'too uniform (halo or a fixed pattern)'} by the "
                        f"Rasch model: infit {infit:.2f}, outfit {outfit:.2f} "
                        f"(limit {'>' if erratic else '<'} {options.max_mean_square if erratic else options.min_mean_square:g}, "
                        f"|ZSTD| > {options.min_zstd:g}) from {int(counts[r])} ratings."
                    ),
                    statistic=max(infit, outfit) if erratic else infit,
                    threshold=options.max_mean_square if erratic else options.min_mean_square,
                    rows=rows.of(int(r)),
                )
            )
        return out


@hookimpl
def register_flag_rules(register):
    register(StraightLining())
    register(CentralTendency())
    register(Leniency())
    register(MutualHighScoring())
    register(UnitFavouritism())
    register(Misfit())
