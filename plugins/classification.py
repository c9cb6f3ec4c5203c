"""Built-in classifier: score bands.

A band applies from its ``min`` (inclusive) up to the next band's ``min``.
The score compared is the one people see, rounded half-up to the rubric's
``decimals``, so a shown 4.50 is never classified below a band starting at 4.50.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, overload

import numpy as np
from pydantic import Field, field_validator

from appraisal import hookimpl
from appraisal.components import Classification, Classifier, ComponentOptions
from appraisal.rubric import Identifier, Text
from appraisal.scoring import round_half_up


class Band(ComponentOptions):
    code: Identifier
    min: float = Field(description="Lowest score (inclusive) in this band")
    label: Text


class BandOptions(ComponentOptions):
    bands: list[Band] = Field(min_length=1, description="Bands, any order; each runs up to the next higher min")
    score: Literal["overall", "overall_raw"] = Field("overall", description="Which overall score is classified")

    @field_validator("bands")
    @classmethod
    def _distinct(cls, bands: list[Band]) -> list[Band]:
        codes = [b.code for b in bands]
        mins = [b.min for b in bands]
        if len(set(codes)) != len(codes):
            raise ValueError("band codes must be distinct")
        if len(set(mins)) != len(mins):
            raise ValueError("two bands start at the same min")
        return sorted(bands, key=lambda b: b.min)


class Bands(Classifier):
    name = "bands"
    title = {"id": "Kategori skor", "en": "Score category"}
    summary = "score bands: each category from its min (inclusive) to the next band's min"
    Options = BandOptions

    def check(self, rubric, options):
        lowest = options.bands[0]
        if lowest.min > rubric.scale.min:
            return [(("bands",), f"the lowest band starts at {lowest.min}, above the scale minimum {rubric.scale.min}; "
                     "lower scores would get no category")]
        return []

    def classify(self, scores, data, options):
        decimals = data.rubric.scoring.decimals
        values = scores.shown_overall if options.score == "overall" else round_half_up(scores.overall_raw, decimals)
        mins = np.array([band.min for band in options.bands])
        index = np.searchsorted(mins, np.where(np.isnan(values), -np.inf, values), side="right") - 1
        scored = ~np.isnan(values) & (index >= 0)
        codes = np.array([band.code for band in options.bands] + [""], dtype=object)
        categories = codes[np.where(scored, index, -1)]
        labels = {band.code: band.label.model_dump() for band in options.bands}
        tails = [_reason_tails(options.bands, k) for k in range(len(options.bands))]  # once per band, not per employee
        return Classification(categories=categories, labels=labels, reasons=_Reasons(values, index, scored, tails, decimals))


class _Reasons(Sequence[Mapping[str, str]]):
    """Each employee's reason, e.g. '3.72 ≥ 3.5 dan < 4.5 → Baik', spelled when asked for.

    The leave-one-rater-out check classifies a pseudo-employee per (employee,
    rater) pair, 700,000 at 100,000 employees, and reads only their
    categories: spelling their reasons took 1.2 s.
    """

    def __init__(self, values: np.ndarray, index: np.ndarray, scored: np.ndarray, tails: list[tuple[str, str]], decimals: int):
        self._values, self._index, self._scored, self._tails, self._decimals = values, index, scored, tails, decimals

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def __getitem__(self, e: int) -> Mapping[str, str]: ...
    @overload
    def __getitem__(self, e: slice) -> list[Mapping[str, str]]: ...
    def __getitem__(self, e):
        if isinstance(e, slice):
            return [self[k] for k in range(*e.indices(len(self)))]
        if not self._scored[e]:
            return {}
        text = f"{float(self._values[e]):.{self._decimals}f}"
        id_tail, en_tail = self._tails[int(self._index[e])]
        return {"id": text + id_tail, "en": text + en_tail}


def _reason_tails(bands: list[Band], index: int) -> tuple[str, str]:
    """What follows the score in a reason, e.g. ' ≥ 3.5 dan < 4.5 → Baik' (Indonesian, English)."""
    band = bands[index]
    if index + 1 < len(bands):
        upper = bands[index + 1].min
        id_text, en_text = f" ≥ {band.min:g} dan < {upper:g}", f" ≥ {band.min:g} and < {upper:g}"
    else:
        id_text = en_text = f" ≥ {band.min:g}"
    return f"{id_text} → {band.label.get('id')}", f"{en_text} → {band.label.get('en')}"


@hookimpl
def register_classifiers(register):
    register(Bands())
