"""Built-in development recommenders.

* ``gap-training`` (default) — per competency, gap = required level (position
  profile) − achieved score; priority = gap × competency weight × the
  probability that the gap is real (from the score's standard error).  Each
  gap gets a programme from a catalogue (form, hours in JP, provider); the
  plan reaches the yearly minimum of learning hours for civil servants (PNS,
  20 JP, PP 11/2017 Pasal 203(4) [V]) and respects the maximum for contract
  staff (PPPK, 24 JP, PP 49/2018 Pasal 40(1) [V]) when the roster gives the
  employment type; both are options.  It also finds self–other agreement,
  blind spots, hidden strengths and strengths to leverage.
* ``gaps`` — the gap list only, without a catalogue.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from appraisal import hookimpl
from appraisal.components import ComponentOptions, DevelopmentPlan, PlanEntry, Recommender
from appraisal.errors import RubricError
from appraisal.rubric import Identifier, StrictModel, Text, load_model_file
from appraisal.uncertainty import overall_coefficients

FORMS = {
    "pelatihan-klasikal": {"id": "Pelatihan klasikal", "en": "Classroom training"},
    "bimbingan-teknis": {"id": "Bimbingan teknis", "en": "Technical guidance"},
    "seminar": {"id": "Seminar/konferensi", "en": "Seminar/conference"},
    "workshop": {"id": "Workshop/lokakarya", "en": "Workshop"},
    "kursus": {"id": "Kursus", "en": "Course"},
    "coaching": {"id": "Coaching", "en": "Coaching"},
    "mentoring": {"id": "Mentoring", "en": "Mentoring"},
    "e-learning": {"id": "E-learning", "en": "E-learning"},
    "pelatihan-jarak-jauh": {"id": "Pelatihan jarak jauh", "en": "Distance learning"},
    "detasering": {"id": "Detasering (penugasan sementara)", "en": "Secondment"},
    "patok-banding": {"id": "Patok banding", "en": "Benchmarking"},
    "magang": {"id": "Magang/praktik kerja", "en": "Placement"},
    "bimbingan-di-tempat-kerja": {"id": "Bimbingan di tempat kerja", "en": "On-the-job guidance"},
    "belajar-mandiri": {"id": "Belajar mandiri", "en": "Self-study"},
    "komunitas-belajar": {"id": "Komunitas belajar", "en": "Community of practice"},
    "tugas-belajar": {"id": "Tugas belajar", "en": "Sponsored study"},
    "izin-belajar": {"id": "Izin belajar", "en": "Study leave"},
}
"""Forms of competency development, Peraturan LAN 10/2018 and the SIASN reference list [V]."""


class Programme(StrictModel):
    """One development activity in the catalogue."""

    id: Identifier
    name: Text
    form: Literal[tuple(FORMS)]  # type: ignore[valid-type]
    competencies: list[str] = Field(min_length=1, description="Competency ids served; '*' serves every competency")
    levels: tuple[float, float] = Field((1, 5), strict=False, description="Range [from, to] of required levels it prepares for")
    gap: tuple[float, float] = Field((0, 5), strict=False, description="Range [from, to] of gaps it suits")
    hours: float = Field(gt=0, description="Learning hours in JP")
    provider: Text | None = None
    general: bool = Field(False, description="May be planned to reach the yearly minimum of learning hours")

    def covers(self, competency: str) -> bool:
        return competency in self.competencies or "*" in self.competencies

    def serves(self, competency: str, required: float, gap: float) -> bool:
        return (
            self.covers(competency)
            and self.levels[0] <= required <= self.levels[1]
            and self.gap[0] <= gap + 1e-9
            and gap <= self.gap[1] + 1e-9
        )

    def action(self) -> dict[str, object]:
        return {
            "programme": self.id,
            "name": self.name.model_dump(),
            "form": self.form,
            "form_label": FORMS[self.form],
            "hours": self.hours,
            "provider": self.provider.model_dump() if self.provider else None,
        }


class Catalogue(StrictModel):
    """A development catalogue YAML (``rubrics/catalogues/``)."""

    id: Identifier
    version: str
    name: Text
    programmes: list[Programme] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        ids = [p.id for p in self.programmes]
        if len(set(ids)) != len(ids):
            raise ValueError("programme ids must be unique")
        return self


def load_catalogue(name_or_path: str) -> Catalogue:
    """A catalogue by built-in name (``katalog-pengembangan``) or path.

    :raises RubricError: with every problem, as file:line: field: message.
    """
    return load_model_file(Catalogue, name_or_path, "catalogues")[0]


class GapTrainingOptions(ComponentOptions):
    catalogue: str = Field("katalog-pengembangan", description="Built-in catalogue name or a YAML file")
    min_gap: float = Field(0.0, ge=0, description="Only gaps larger than this enter the plan")
    min_jp: dict[str, float] = Field(
        default_factory=lambda: {"PNS": 20}, description="Yearly minimum of JP by employment type (PNS: PP 11/2017 [V])"
    )
    max_jp: dict[str, float] = Field(
        default_factory=lambda: {"PPPK": 24}, description="Yearly maximum of JP by employment type (PPPK: PP 49/2018 [V])"
    )
    employment_column: str = Field("employment_type", description="Roster column with the employment type")
    agreement_band: float = Field(0.5, ge=0, description="Self and others agree when they differ by at most this")
    blind_spot_gap: float = Field(1.0, gt=0, description="A blind spot needs self − others of at least this (points) ...")
    z: float = Field(1.96, gt=0, description="... and at least this many standard errors of the others' score")
    strength_margin: float = Field(0.5, ge=0, description="A strength is this far above the required level (or the scale's top point minus one)")


class GapTraining(Recommender):
    """Gaps by priority, each with a catalogue programme; learning-hour rules; self–other insights."""

    name = "gap-training"
    summary = "competency gaps × weight × certainty, each with a catalogue programme; 20 JP (PNS) / 24 JP (PPPK); blind spots"
    Options = GapTrainingOptions

    def check(self, rubric, options):
        try:
            load_catalogue(options.catalogue)
        except RubricError as exc:
            return [(("catalogue",), f"catalogue {options.catalogue!r} is not valid: {exc.problems[0].format('en')}")]
        return []

    def recommend(self, scores, data, options):
        rubric, layout = data.rubric, data.rubric.layout
        catalogue = load_catalogue(options.catalogue)
        n = len(data.employees)
        required = _required(rubric, data.employees.profile)
        achieved, se = scores.shown_competency, scores.competency_se
        gap = required - achieved
        with np.errstate(invalid="ignore"):
            has_gap = ~np.isnan(gap) & (gap > options.min_gap + 1e-9)
        priority = np.where(has_gap, priorities(gap, layout.competency_weight, se), -np.inf)
        employment = data.employees.extra.get(options.employment_column, np.full(n, "", dtype=object))
        agreement = _self_other(scores, layout, options)
        strengths = _strengths(scores, required, rubric, options)
        unit_of = np.unique(np.asarray(data.employees.units, dtype=str), return_inverse=True)[1].reshape(-1).tolist()
        ids = [str(i) for i in data.employees.ids]
        # Possible mentees: the colleagues with a gap, per (unit, competency) in employee order, listed
        # once for the run instead of searched per employee with strengths.
        with_gap: dict[tuple[int, int], list[int]] = {}
        for e, c in zip(*(index.tolist() for index in np.nonzero(has_gap))):
            with_gap.setdefault((unit_of[e], c), []).append(e)
        # The general programmes that top up a plan depend only on the employment type, the hours so far
        # and the programmes already in it: for most employees (no gap, or the same few) they repeat.
        top_ups: dict[tuple[str, float, frozenset[str]], tuple[list[str], float]] = {}
        # Each employee's gaps, highest priority first: a gap's priority is finite, so they lead the order.
        gaps_by_priority = [order[:k] for order, k in zip(_by_priority(priority), has_gap.sum(axis=1).tolist())]
        # Built once, not per employee: the catalogue's programmes for each competency (in catalogue
        # order) and each programme's action (copied into each plan, so no two plans share one).
        candidates = {
            competency: [p for p in catalogue.programmes if p.covers(competency)] for competency in layout.competency_ids
        }
        action_of = {p.id: p.action() for p in catalogue.programmes}
        plans = []
        for e in range(n):
            kind = str(employment[e]).strip().upper()
            minimum, maximum = options.min_jp.get(kind), options.max_jp.get(kind)
            entries, skipped, planned, hours = [], [], [], 0.0
            for c in gaps_by_priority[e]:
                competency = layout.competency_ids[c]
                programme = next((p for p in candidates[competency] if p.serves(competency, required[e, c], gap[e, c])), None)
                actions = []
                if programme is not None and (maximum is None or hours + programme.hours <= maximum + 1e-9):
                    actions, hours = [dict(action_of[programme.id])], hours + programme.hours
                    planned.append(programme.id)
                elif programme is not None:
                    skipped.append({"competency": competency, "programme": programme.id, "hours": programme.hours})
                entries.append(PlanEntry(competency, float(required[e, c]), float(achieved[e, c]), float(gap[e, c]),
                                         float(priority[e, c]), actions))
            used = frozenset(planned)
            key = (kind, hours, used)
            if key not in top_ups:
                top_ups[key] = _top_up(catalogue.programmes, minimum, maximum, hours, used)
            added, hours = top_ups[key]
            entries += [PlanEntry("", np.nan, np.nan, 0.0, 0.0, [dict(action_of[programme])]) for programme in added]
            mentees = {
                competency: [ids[v] for v in with_gap.get((unit_of[e], layout.competency_index[competency]), []) if v != e]
                for competency in strengths[e]
            }
            plans.append(
                DevelopmentPlan(
                    entries=entries,
                    insights={
                        "learning_hours": {
                            "total": hours,
                            "employment_type": kind or None,
                            "minimum": minimum,
                            "maximum": maximum,
                            "meets_minimum": minimum is None or hours >= minimum - 1e-9,
                            "not_scheduled": skipped,
                        },
                        **agreement[e],
                        "strengths": strengths[e],
                        "could_mentor": sum(map(len, mentees.values())),
                    },
                    hr_only={"mentor_for": {c: ids for c, ids in mentees.items() if ids}},
                )
            )
        return plans


def _top_up(programmes, minimum: float | None, maximum: float | None, hours: float, used: frozenset[str]) -> tuple[list[str], float]:
    """General programmes, in catalogue order, added until ``minimum`` hours are met without passing ``maximum``; and the hours then."""
    added = []
    for programme in programmes:
        if minimum is None or hours >= minimum - 1e-9:
            break
        if programme.general and programme.id not in used and (maximum is None or hours + programme.hours <= maximum + 1e-9):
            added.append(programme.id)
            hours += programme.hours
    return added, hours


def _by_priority(priority: np.ndarray) -> list[list[int]]:
    """Each employee's competency indices by ``priority[E, C]``, highest first, ties in rubric order."""
    return np.argsort(-priority, axis=1, kind="stable").tolist()


def priorities(gap: np.ndarray, weight: np.ndarray, se: np.ndarray) -> np.ndarray:
    """gap × weight × P(the true gap is positive), P = Φ(gap / SE); without an SE the gap is taken as certain."""
    gap = np.asarray(gap, dtype=np.float64)
    known = np.isfinite(se) & (se > 0) & np.isfinite(gap)
    certainty = np.ones_like(gap)
    cdf = NormalDist().cdf
    certainty[known] = [cdf(r) for r in (gap[known] / se[known]).tolist()]
    return gap * weight * certainty


def _required(rubric, profile: np.ndarray) -> np.ndarray:
    """``float64[E, C]``: the required level for each employee and competency, NaN where none."""
    layout = rubric.layout
    table = np.full((len(rubric.positions), len(layout.competency_ids)), np.nan)
    for p, position in enumerate(rubric.positions):
        for competency_id, level in position.required.items():
            table[p, layout.competency_index[competency_id]] = level
    if not rubric.positions:
        return np.full((len(profile), len(layout.competency_ids)), np.nan)
    return np.where((profile >= 0)[:, None], table[np.maximum(profile, 0)], np.nan)


def _self_other(scores, layout, options) -> list[dict[str, object]]:
    """Self–other agreement (Atwater & Yammarino): over/under-estimator or in agreement (good/poor); blind spots.

    The difference counts only when it exceeds both ``agreement_band`` and
    ``z`` standard errors of the others' score: a gap within the score's own
    uncertainty is not evidence of a blind spot.
    """
    own, others, se = scores.self_score, scores.competency_raw, scores.competency_se
    both = ~np.isnan(own) & ~np.isnan(others)
    coefficient = overall_coefficients(np.where(both, others, np.nan), layout)
    self_overall = np.where(both.any(axis=1), (np.where(both, own, 0) * coefficient).sum(axis=1), np.nan)
    others_overall = np.where(both.any(axis=1), (np.where(both, others, 0) * coefficient).sum(axis=1), np.nan)
    difference = self_overall - others_overall
    median_others = float(np.nanmedian(others_overall)) if np.isfinite(others_overall).any() else np.nan
    threshold = np.maximum(options.agreement_band, options.z * np.nan_to_num(scores.overall_se))
    # The tolerances keep a value exactly on the band (0.5 written as 3.5 - 3.0) or on the median from flipping with float noise.
    with np.errstate(invalid="ignore"):
        category = np.where(
            difference > threshold + 1e-9,
            "over-estimator",
            np.where(
                difference < -threshold - 1e-9,
                "under-estimator",
                np.where(others_overall >= median_others - 1e-9, "in-agreement-good", "in-agreement-poor"),
            ),
        )
        d = own - others
        margin = np.maximum(options.blind_spot_gap, options.z * np.nan_to_num(se))
        blind = both & (d >= margin - 1e-9)
        hidden = both & ~blind & (-d >= margin - 1e-9)
    spots, strengths = _entries_by_employee(blind, own, others, d, layout), _entries_by_employee(hidden, own, others, d, layout)
    result = []
    for e, (category_e, self_e, others_e, difference_e, threshold_e) in enumerate(
        zip(category.tolist(), self_overall.tolist(), others_overall.tolist(), difference.tolist(), threshold.tolist())
    ):
        if difference_e != difference_e:  # NaN: no competency with both self and others
            result.append({"self_other": None, "blind_spots": [], "hidden_strengths": []})
            continue
        result.append(
            {
                "self_other": {
                    "category": category_e,
                    "self": round(self_e, 6),
                    "others": round(others_e, 6),
                    "difference": round(difference_e, 6),
                    "threshold": round(threshold_e, 6),
                },
                "blind_spots": spots.get(e, []),
                "hidden_strengths": strengths.get(e, []),
            }
        )
    return result


def _entries_by_employee(mask, own, others, difference, layout) -> dict[int, list[dict[str, object]]]:
    """Employee → the competencies flagged in ``mask`` with self, others and their difference."""
    found: dict[int, list[dict[str, object]]] = {}
    employees, competencies = np.nonzero(mask)
    for e, c, self_score, others_score, d in zip(
        employees.tolist(), competencies.tolist(), own[mask].tolist(), others[mask].tolist(), difference[mask].tolist()
    ):
        found.setdefault(e, []).append(
            {"competency": layout.competency_ids[c], "self": self_score, "others": others_score, "difference": round(d, 6)}
        )
    return found


def _strengths(scores, required, rubric, options) -> list[list[str]]:
    """Competencies clearly above the required level (or near the scale's top without a profile), with certainty."""
    achieved, se = scores.shown_competency, scores.competency_se
    bar = np.where(np.isnan(required), rubric.scale.max - 1, required + options.strength_margin)
    with np.errstate(invalid="ignore"):
        strong = ~np.isnan(achieved) & (achieved - options.z * np.nan_to_num(se) >= bar - 1e-9)
    ids = rubric.layout.competency_ids
    found: list[list[str]] = [[] for _ in range(len(strong))]
    for e, c in zip(*(index.tolist() for index in np.nonzero(strong))):  # row by row, columns in order
        found[e].append(ids[c])
    return found


class GapsOptions(ComponentOptions):
    min_gap: float = Field(0.0, ge=0, description="Only gaps larger than this enter the plan")


class Gaps(Recommender):
    name = "gaps"
    summary = "competency gaps against the position profile, by gap × competency weight (no catalogue)"
    Options = GapsOptions

    def recommend(self, scores, data, options):
        layout = data.rubric.layout
        required = _required(data.rubric, data.employees.profile)
        gap = required - scores.shown_competency
        with np.errstate(invalid="ignore"):
            has_gap = ~np.isnan(gap) & (gap > options.min_gap + 1e-9)
        priority = np.where(has_gap, gap * layout.competency_weight, -np.inf)
        plans = []
        for e, order in enumerate(_by_priority(priority)):
            plans.append(
                DevelopmentPlan(
                    [
                        PlanEntry(layout.competency_ids[c], float(required[e, c]), float(scores.shown_competency[e, c]),
                                  float(gap[e, c]), float(priority[e, c]))
                        for c in order
                        if has_gap[e, c]
                    ]
                )
            )
        return plans


@hookimpl
def register_recommenders(register):
    register(GapTraining())
    register(Gaps())
