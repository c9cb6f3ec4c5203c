"""Built-in flag rules about the evidence behind each employee's scores."""

from __future__ import annotations

import numpy as np

from appraisal import hookimpl
from appraisal.components import FlagRule


class HiddenGroups(FlagRule):
    """A group rated the employee but had too few raters to be shown."""

    name = "anonymity"
    summary = "rater groups hidden because they have fewer raters than their minimum"

    def flags(self, scores, data, options):
        layout = data.rubric.layout
        stats = scores.group_stats
        hidden = ((stats.n > 0) & ~stats.visible).any(axis=1)  # [E, G]
        found = []
        for e, g in zip(*np.nonzero(hidden)):
            label = data.rubric.rater_groups[layout.group_ids[g]].label
            minimum = int(layout.group_min_raters[g])
            found.append(
                self.employee_flag(
                    data,
                    e,
                    "info",
                    f"Penilaian {label.get('id')} tidak ditampilkan dan tidak dihitung: "
                    f"kurang dari {minimum} penilai (menjaga kerahasiaan penilai).",
                    f"{label.get('en')} ratings are neither shown nor counted: "
                    f"fewer than {minimum} raters (to protect rater anonymity).",
                    threshold=float(minimum),
                )
            )
        return found


class MissingScores(FlagRule):
    """Competencies left without a score."""

    name = "coverage"
    summary = "competencies with no score (no counted ratings)"

    def flags(self, scores, data, options):
        layout = data.rubric.layout
        missing = np.isnan(scores.competency)
        found = []
        for e in np.flatnonzero(missing.any(axis=1)):
            if missing[e].all():
                found.append(
                    self.employee_flag(
                        data,
                        e,
                        "warning",
                        "Tidak ada penilaian yang dapat dihitung untuk pegawai ini.",
                        "No ratings that can be counted for this employee.",
                    )
                )
                continue
            names = ", ".join(layout.competency_ids[c] for c in np.flatnonzero(missing[e]))
            found.append(
                self.employee_flag(
                    data,
                    e,
                    "warning",
                    f"Tidak ada skor untuk kompetensi: {names}; skor keseluruhan dihitung dari kompetensi lainnya.",
                    f"No score for competencies: {names}; the overall score uses the other competencies.",
                    statistic=float(missing[e].sum()),
                )
            )
        return found


class SupervisorMissing(FlagRule):
    """Under PermenPANRB 6/2022 the direct supervisor assesses; a 360 without the supervisor is incomplete."""

    name = "supervisor-missing"
    summary = "employees with no supervisor rating"

    def flags(self, scores, data, options):
        layout = data.rubric.layout
        if "supervisor" not in layout.group_ids:
            return []
        g = layout.group_ids.index("supervisor")
        rated = scores.group_stats.n[:, :, g].sum(axis=1) > 0
        return [
            self.employee_flag(data, e, "warning", "Belum ada penilaian dari atasan.", "No rating from the supervisor.")
            for e in np.flatnonzero(~rated)
        ]


class ThinEvidence(FlagRule):
    """Scores too uncertain to act on: reliability below the rubric's minimum, or a required group missing."""

    name = "evidence"
    summary = "scores with insufficient evidence (low reliability or a required rater group missing)"

    def flags(self, scores, data, options):
        minimum = data.rubric.scoring.min_reliability
        found = []
        for e in np.flatnonzero(~scores.sufficient & ~np.isnan(scores.overall)):
            reliability = scores.reliability[e]
            value = "–" if np.isnan(reliability) else f"{reliability:.2f}"
            found.append(
                self.employee_flag(
                    data,
                    e,
                    "warning",
                    f"Bukti belum cukup: reliabilitas skor {value} (minimum {minimum:.2f}) atau kelompok penilai "
                    "wajib belum ada. Skor ini jangan dipakai sendirian untuk keputusan.",
                    f"Insufficient evidence: score reliability {value} (minimum {minimum:.2f}) or a required rater "
                    "group is missing. Do not base a decision on this score alone.",
                    statistic=None if np.isnan(reliability) else float(reliability),
                    threshold=float(minimum),
                )
            )
        return found


@hookimpl
def register_flag_rules(register):
    register(HiddenGroups())
    register(MissingScores())
    register(SupervisorMissing())
    register(ThinEvidence())
