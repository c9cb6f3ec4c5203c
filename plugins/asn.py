"""The Indonesian civil-service (ASN) profile: the national rules as plugin components.

* Input tables ``keputusan-atasan`` (the direct supervisor's final ratings of
  hasil kerja and perilaku kerja, with an optional reason) and
  ``predikat-unit`` (each unit's organisational predikat).
* ``perilaku-360`` — suggests Di Atas / Sesuai / Di Bawah Ekspektasi per
  BerAKHLAK value and overall from the 360 scores, with thresholds the rubric
  states; under PermenPANRB 6/2022 the supervisor decides, 360 is evidence.
* ``predikat-kinerja`` — the PermenPANRB 6/2022 matrix of hasil kerja ×
  perilaku kerja → Sangat Baik, Baik, Butuh Perbaikan, Kurang/Misconduct,
  Sangat Kurang; optionally the predikat → angka kredit conversion.
* ``jpm`` — Job Person Match: achieved ÷ required competency levels, with the
  position-filling (MS/MMS/KMS) and mapping (Optimal/Cukup/Kurang Optimal) categories.
* ``nine-box`` — the PermenPANRB 3/2020 (as amended) talent grid, official
  box numbering 1–9, labels, recommended follow-up and succession pools.
* ``keputusan-berbeda`` — every case where the supervisor's decision differs
  from the 360 evidence (the transparency the public asks for).

The distribution curve (SE MenPANRB 03/2023) lives in ``appraisal_plugins.asn_curve``.
Confidence tags follow ``asn-rules.md``: [V] verified, [S] single source, [P] local practice.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from appraisal import hookimpl
from appraisal.components import Classification, Classifier, Column, ComponentOptions, FlagRule, InputTable

# ---------------------------------------------------------------------------
# Vocabulary (PermenPANRB 6/2022 [V])
# ---------------------------------------------------------------------------

ABOVE, MEETS, BELOW = "DI_ATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", "DI_BAWAH_EKSPEKTASI"
RATING_LABELS = {
    ABOVE: {"id": "Di Atas Ekspektasi", "en": "Above expectations"},
    MEETS: {"id": "Sesuai Ekspektasi", "en": "Meets expectations"},
    BELOW: {"id": "Di Bawah Ekspektasi", "en": "Below expectations"},
}
RATING_SPELLINGS = {
    **{code: code for code in RATING_LABELS},
    **{label["id"]: code for code, label in RATING_LABELS.items()},
    **{label["en"]: code for code, label in RATING_LABELS.items()},
    "di atas": ABOVE, "atas": ABOVE, "above": ABOVE,
    "sesuai": MEETS, "meets": MEETS,
    "di bawah": BELOW, "bawah": BELOW, "below": BELOW,
}

SANGAT_BAIK, BAIK, BUTUH_PERBAIKAN, KURANG, SANGAT_KURANG = (
    "SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG_MISCONDUCT", "SANGAT_KURANG",
)
PREDIKAT_ORDER = (SANGAT_BAIK, BAIK, BUTUH_PERBAIKAN, KURANG, SANGAT_KURANG)
PREDIKAT_LABELS = {
    SANGAT_BAIK: {"id": "Sangat Baik", "en": "Very good"},
    BAIK: {"id": "Baik", "en": "Good"},
    BUTUH_PERBAIKAN: {"id": "Butuh Perbaikan", "en": "Needs improvement"},
    KURANG: {"id": "Kurang/Misconduct", "en": "Poor/misconduct"},
    SANGAT_KURANG: {"id": "Sangat Kurang", "en": "Very poor"},
}
PREDIKAT_MATRIX = {  # [hasil kerja][perilaku kerja], PermenPANRB 6/2022 Lampiran (kuadran kinerja) [V]
    ABOVE: {BELOW: KURANG, MEETS: BAIK, ABOVE: SANGAT_BAIK},
    MEETS: {BELOW: KURANG, MEETS: BAIK, ABOVE: BAIK},
    BELOW: {BELOW: SANGAT_KURANG, MEETS: BUTUH_PERBAIKAN, ABOVE: BUTUH_PERBAIKAN},
}
ORG_LABELS = {
    "ISTIMEWA": {"id": "Istimewa", "en": "Outstanding"},
    "BAIK": {"id": "Baik", "en": "Good"},
    "BUTUH_PERBAIKAN": {"id": "Butuh Perbaikan", "en": "Needs improvement"},
    "KURANG": {"id": "Kurang", "en": "Poor"},
    "SANGAT_KURANG": {"id": "Sangat Kurang", "en": "Very poor"},
}


def _spellings(labels: dict[str, dict[str, str]]) -> dict[str, str]:
    return {**{code: code for code in labels}, **{label["id"]: code for code, label in labels.items()},
            **{label["en"]: code for code, label in labels.items()}}


# ---------------------------------------------------------------------------
# Input tables
# ---------------------------------------------------------------------------


class SupervisorDecisions(InputTable):
    """The direct supervisor's final ratings (PermenPANRB 6/2022: the Pejabat Penilai Kinerja decides)."""

    name = "keputusan-atasan"
    summary = "supervisors' final ratings: employee_id, rating_hasil_kerja, rating_perilaku_kerja, alasan (optional)"
    key = "employee_id"
    columns = {
        "employee_id": Column("the employee"),
        "rating_hasil_kerja": Column("results rating: Di Atas / Sesuai / Di Bawah Ekspektasi", choices=RATING_SPELLINGS),
        "rating_perilaku_kerja": Column("behaviour rating: Di Atas / Sesuai / Di Bawah Ekspektasi", choices=RATING_SPELLINGS),
        "alasan": Column("the supervisor's reason (recommended where it differs from the 360 evidence)", required=False),
    }


class UnitPredikat(InputTable):
    """Each unit's organisational predikat (SE MenPANRB 03/2023, stage 1)."""

    name = "predikat-unit"
    summary = "organisational predikat per unit: unit, predikat_organisasi (Istimewa ... Sangat Kurang)"
    key = "unit"
    columns = {
        "unit": Column("the unit, as written in the roster"),
        "predikat_organisasi": Column("Istimewa, Baik, Butuh Perbaikan, Kurang or Sangat Kurang", choices=_spellings(ORG_LABELS)),
    }


# ---------------------------------------------------------------------------
# Behaviour suggestion from 360 evidence
# ---------------------------------------------------------------------------


class PerilakuOptions(ComponentOptions):
    above: float = Field(description="Scores from this (rounded, inclusive) up suggest Di Atas Ekspektasi [P: agency choice]")
    meets: float = Field(description="Scores from this up suggest Sesuai Ekspektasi; below: Di Bawah Ekspektasi [P]")
    cluster: str = Field("berakhlak", description="The cluster holding the BerAKHLAK values")

    @model_validator(mode="after")
    def _ordered(self) -> PerilakuOptions:
        if self.meets >= self.above:
            raise ValueError("meets must be below above")
        return self


def _level(value: float, above: float, meets: float) -> str:
    if np.isnan(value):
        return ""
    return ABOVE if value >= above - 1e-9 else MEETS if value >= meets - 1e-9 else BELOW


class PerilakuSuggestion(Classifier):
    """Di Atas / Sesuai / Di Bawah Ekspektasi suggested by the 360 scores, per value and overall."""

    name = "perilaku-360"
    title = {"id": "Saran perilaku kerja dari 360", "en": "Work behaviour suggested by the 360"}
    summary = "suggested behaviour rating (Di Atas/Sesuai/Di Bawah Ekspektasi) per BerAKHLAK value and overall, from 360"
    Options = PerilakuOptions

    def check(self, rubric, options):
        if options.cluster not in {c.id for c in rubric.clusters}:
            return [(("cluster",), f"no cluster {options.cluster!r} in this rubric")]
        return []

    def classify(self, scores, data, options):
        layout = data.rubric.layout
        decimals = data.rubric.scoring.decimals
        k = layout.cluster_ids.index(options.cluster)
        members = np.flatnonzero(layout.competency_cluster == k)
        score = np.floor(scores.cluster[:, k] * 10**decimals + 0.5 + 1e-9) / 10**decimals
        decided = data.employees.extra.get("rating_perilaku_kerja", np.full(len(score), "", dtype=object))
        reasons_given = data.employees.extra.get("alasan", np.full(len(score), "", dtype=object))
        categories = np.array([_level(v, options.above, options.meets) for v in score], dtype=object)
        reasons, details = [], []
        for e, code in enumerate(categories):
            per_value = {
                layout.competency_ids[c]: _level(scores.shown_competency[e, c], options.above, options.meets) or None
                for c in members
            }
            decision = str(decided[e]) or None
            details.append(
                {
                    "score": None if np.isnan(score[e]) else float(score[e]),
                    "per_value": per_value,
                    "decided": decision,
                    "differs": bool(decision and code and decision != code),
                    "reason_given": str(reasons_given[e]) or None,
                    "sufficient_evidence": bool(scores.sufficient[e]),
                }
            )
            if not code:
                reasons.append({})
                continue
            label = RATING_LABELS[code]
            reasons.append(
                {
                    "id": f"skor perilaku 360 {score[e]:.{decimals}f} (batas: ≥ {options.above:g} di atas, ≥ {options.meets:g} sesuai) → saran {label['id']}",
                    "en": f"360 behaviour score {score[e]:.{decimals}f} (cut-offs: ≥ {options.above:g} above, ≥ {options.meets:g} meets) → suggests {label['en']}",
                }
            )
        return Classification(categories=categories, labels=RATING_LABELS, reasons=reasons, details=details)


# ---------------------------------------------------------------------------
# Predikat kinerja
# ---------------------------------------------------------------------------

ANGKA_KREDIT_PERCENT = {SANGAT_BAIK: 150, BAIK: 100, BUTUH_PERBAIKAN: 75, KURANG: 50, SANGAT_KURANG: 25}
"""PermenPANRB 1/2023 + Peraturan BKN 3/2023 [V]: annual angka kredit = % × the grade's coefficient."""
ANGKA_KREDIT_COEFFICIENT = {
    "pemula": 3.75, "terampil": 5, "mahir": 12.5, "penyelia": 25,
    "ahli pertama": 12.5, "ahli muda": 25, "ahli madya": 37.5, "ahli utama": 50,
}


class PredikatOptions(ComponentOptions):
    undecided_perilaku: Literal["suggestion", "none"] = Field(
        "suggestion",
        description="Without the supervisor's behaviour rating: use the 360 suggestion (marked provisional) or give no predikat",
    )
    angka_kredit_column: str | None = Field(
        None, description="Roster column with the functional grade (e.g. 'Ahli Muda') to convert the predikat to angka kredit"
    )


class PredikatKinerja(Classifier):
    """PermenPANRB 6/2022 quadrant: rating hasil kerja × rating perilaku kerja → predikat kinerja pegawai."""

    name = "predikat-kinerja"
    title = {"id": "Predikat kinerja", "en": "Performance rating (predikat)"}
    summary = "predikat kinerja (Sangat Baik … Sangat Kurang) from the supervisor's hasil kerja and perilaku ratings (PermenPANRB 6/2022)"
    Options = PredikatOptions

    def classify(self, scores, data, options):
        n = len(data.employees)
        blank = np.full(n, "", dtype=object)
        hasil = data.employees.extra.get("rating_hasil_kerja", blank)
        decided = data.employees.extra.get("rating_perilaku_kerja", blank)
        suggestion = data.classifications.get("perilaku-360")
        grades = data.employees.extra.get(options.angka_kredit_column, blank) if options.angka_kredit_column else blank
        categories, reasons, details = np.full(n, "", dtype=object), [], []
        for e in range(n):
            perilaku, source = str(decided[e]), "keputusan-atasan"
            if not perilaku and options.undecided_perilaku == "suggestion" and suggestion is not None:
                perilaku, source = str(suggestion.categories[e]), "saran-360"
            result = str(hasil[e])
            detail = {"hasil_kerja": result or None, "perilaku_kerja": perilaku or None, "perilaku_source": source if perilaku else None,
                      "provisional": source == "saran-360"}
            if not result or not perilaku:
                missing_id = "rating hasil kerja" if not result else "rating perilaku kerja"
                missing_en = "results rating" if not result else "behaviour rating"
                reasons.append({"id": f"belum ada {missing_id} dari atasan: predikat belum dapat ditetapkan",
                                "en": f"no {missing_en} from the supervisor yet: no predikat"})
                details.append(detail)
                continue
            predikat = PREDIKAT_MATRIX[result][perilaku]
            categories[e] = predikat
            grade = str(grades[e]).strip().lower()
            if grade in ANGKA_KREDIT_COEFFICIENT:
                detail["angka_kredit"] = round(ANGKA_KREDIT_PERCENT[predikat] / 100 * ANGKA_KREDIT_COEFFICIENT[grade], 3)
            details.append(detail)
            provisional_id = " (sementara: saran 360, belum diputuskan atasan)" if source == "saran-360" else ""
            provisional_en = " (provisional: 360 suggestion, not yet decided by the supervisor)" if source == "saran-360" else ""
            reasons.append(
                {
                    "id": f"hasil kerja {RATING_LABELS[result]['id']} × perilaku kerja {RATING_LABELS[perilaku]['id']}{provisional_id} "
                    f"→ {PREDIKAT_LABELS[predikat]['id']} (matriks PermenPANRB 6/2022)",
                    "en": f"results {RATING_LABELS[result]['en']} × behaviour {RATING_LABELS[perilaku]['en']}{provisional_en} "
                    f"→ {PREDIKAT_LABELS[predikat]['en']} (PermenPANRB 6/2022 matrix)",
                }
            )
        return Classification(categories=categories, labels=PREDIKAT_LABELS, reasons=reasons, details=details)


# ---------------------------------------------------------------------------
# Job Person Match
# ---------------------------------------------------------------------------

JPM_MAPPING_LABELS = {
    "OPTIMAL": {"id": "Optimal", "en": "Optimal"},
    "CUKUP_OPTIMAL": {"id": "Cukup Optimal", "en": "Fairly optimal"},
    "KURANG_OPTIMAL": {"id": "Kurang Optimal", "en": "Less than optimal"},
}
JPM_FILLING_LABELS = {
    "MS": {"id": "Memenuhi Syarat", "en": "Meets the requirements"},
    "MMS": {"id": "Masih Memenuhi Syarat", "en": "Still meets the requirements"},
    "KMS": {"id": "Kurang Memenuhi Syarat", "en": "Does not meet the requirements"},
}


class JpmOptions(ComponentOptions):
    optimal: float = Field(90, description="JPM % from which the mapping category is Optimal (Peraturan BRIN 3/2023 [V])")
    cukup_optimal: float = Field(78, description="... Cukup Optimal; below: Kurang Optimal [V]")
    memenuhi_syarat: float = Field(80, description="JPM % from which position filling is Memenuhi Syarat (Berita Negara 35/2020 [V])")
    masih_memenuhi_syarat: float = Field(68, description="... Masih Memenuhi Syarat; below: Kurang Memenuhi Syarat [V]")
    cap_at_required: bool = Field(
        True, description="A competency above its required level counts as fully met, no more [P: common practice]"
    )


class JobPersonMatch(Classifier):
    """JPM = Σ achieved level ÷ Σ required level over the position profile's competencies, as a percentage."""

    name = "jpm"
    title = {"id": "Job Person Match (JPM)", "en": "Job Person Match (JPM)"}
    summary = "Job Person Match %: achieved ÷ required competency levels; Optimal/Cukup/Kurang Optimal and MS/MMS/KMS"
    Options = JpmOptions

    def classify(self, scores, data, options):
        rubric = data.rubric
        layout = rubric.layout
        n = len(data.employees)
        required = np.full((len(rubric.positions), len(layout.competency_ids)), np.nan)
        for p, profile in enumerate(rubric.positions):
            for competency_id, level in profile.required.items():
                required[p, layout.competency_index[competency_id]] = level
        profile = data.employees.profile if rubric.positions else np.full(n, -1, dtype=np.int64)
        needed = np.full((n, len(layout.competency_ids)), np.nan)
        if rubric.positions:
            needed = np.where((profile >= 0)[:, None], required[np.maximum(profile, 0)], np.nan)
        achieved = scores.shown_competency
        considered = ~np.isnan(needed)
        missing = considered & np.isnan(achieved)
        credit = np.where(considered & ~missing, np.minimum(achieved, needed) if options.cap_at_required else achieved, 0.0)
        total_needed = np.where(considered, needed, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            percent = np.where(total_needed > 0, 100 * credit.sum(axis=1) / np.where(total_needed > 0, total_needed, 1), np.nan)
        percent = np.floor(percent * 100 + 0.5 + 1e-9) / 100
        categories = np.full(n, "", dtype=object)
        reasons, details = [], []
        for e in range(n):
            if profile[e] < 0:
                reasons.append({"id": "jabatan tidak cocok dengan profil SKJ mana pun: JPM tidak dihitung",
                                "en": "the position matches no competency profile: no JPM"})
                details.append({})
                continue
            if missing[e].any():
                names = ", ".join(layout.competency_ids[c] for c in np.flatnonzero(missing[e]))
                reasons.append({"id": f"tidak ada skor untuk {names}: JPM tidak dihitung", "en": f"no score for {names}: no JPM"})
                details.append({"missing": names})
                continue
            value = float(percent[e])
            mapping = "OPTIMAL" if value >= options.optimal else "CUKUP_OPTIMAL" if value >= options.cukup_optimal else "KURANG_OPTIMAL"
            filling = "MS" if value >= options.memenuhi_syarat else "MMS" if value >= options.masih_memenuhi_syarat else "KMS"
            categories[e] = mapping
            details.append({"jpm": value, "pemetaan": mapping, "pengisian": filling,
                            "profile": rubric.positions[profile[e]].id, "competencies": int(considered[e].sum())})
            reasons.append(
                {
                    "id": f"JPM {value:.2f}% (capaian ÷ standar {rubric.positions[profile[e]].id}) → {JPM_MAPPING_LABELS[mapping]['id']}; "
                    f"pengisian jabatan: {JPM_FILLING_LABELS[filling]['id']}",
                    "en": f"JPM {value:.2f}% (achieved ÷ required for {rubric.positions[profile[e]].id}) → {JPM_MAPPING_LABELS[mapping]['en']}; "
                    f"position filling: {JPM_FILLING_LABELS[filling]['en']}",
                }
            )
        return Classification(categories=categories, labels=JPM_MAPPING_LABELS, reasons=reasons, details=details)


# ---------------------------------------------------------------------------
# Nine-box
# ---------------------------------------------------------------------------

HIGH, MEDIUM, LOW = "TINGGI", "MENENGAH", "RENDAH"
BOX_NUMBER = {  # PermenPANRB 3/2020 jo 20/2025 [V]: rows = kinerja, columns = potensial
    (ABOVE, LOW): 4, (ABOVE, MEDIUM): 7, (ABOVE, HIGH): 9,
    (MEETS, LOW): 2, (MEETS, MEDIUM): 5, (MEETS, HIGH): 8,
    (BELOW, LOW): 1, (BELOW, MEDIUM): 3, (BELOW, HIGH): 6,
}
POTENTIAL_LABELS = {HIGH: {"id": "tinggi", "en": "high"}, MEDIUM: {"id": "menengah", "en": "medium"}, LOW: {"id": "rendah", "en": "low"}}
PERFORMANCE_WORDS = {ABOVE: {"id": "di atas ekspektasi", "en": "above expectations"},
                     MEETS: {"id": "sesuai ekspektasi", "en": "meets expectations"},
                     BELOW: {"id": "di bawah ekspektasi", "en": "below expectations"}}
RECOMMENDATIONS = {  # [V], identical in ≥ 5 independent implementations
    9: ["Dipromosikan dan dipertahankan", "Masuk Kelompok Rencana Suksesi Instansi/Nasional", "Penghargaan"],
    8: ["Dipertahankan", "Masuk Kelompok Rencana Suksesi Instansi", "Rotasi/Perluasan jabatan", "Bimbingan kinerja"],
    7: ["Dipertahankan", "Masuk Kelompok Rencana Suksesi Instansi", "Rotasi/Pengayaan jabatan", "Pengembangan kompetensi", "Tugas belajar"],
    6: ["Penempatan yang sesuai", "Bimbingan kinerja", "Konseling kinerja"],
    5: ["Penempatan yang sesuai", "Bimbingan kinerja", "Pengembangan kompetensi"],
    4: ["Rotasi", "Pengembangan kompetensi"],
    3: ["Bimbingan kinerja", "Konseling kinerja", "Pengembangan kompetensi", "Penempatan yang sesuai"],
    2: ["Bimbingan kinerja", "Pengembangan kompetensi", "Penempatan yang sesuai"],
    1: ["Diproses sesuai ketentuan peraturan perundangan"],
}
SUCCESSION_POOL = {9: "INSTANSI_DAN_NASIONAL", 8: "INSTANSI", 7: "INSTANSI"}
BOX_LABELS = {
    f"kotak-{number}": {
        "id": f"Kotak {number}: kinerja {PERFORMANCE_WORDS[performance]['id']}, potensial {POTENTIAL_LABELS[potential]['id']}",
        "en": f"Box {number}: performance {PERFORMANCE_WORDS[performance]['en']}, potential {POTENTIAL_LABELS[potential]['en']}",
    }
    for (performance, potential), number in sorted(BOX_NUMBER.items(), key=lambda item: item[1])
}


class NineBoxOptions(ComponentOptions):
    performance: Literal["predikat", "hasil-kerja"] = Field(
        "predikat", description="Performance axis: from the predikat (mapped below) or the supervisor's hasil-kerja rating"
    )
    predikat_axis: dict[str, Literal["DI_ATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", "DI_BAWAH_EKSPEKTASI"]] = Field(
        default_factory=lambda: {SANGAT_BAIK: ABOVE, BAIK: MEETS, BUTUH_PERBAIKAN: BELOW, KURANG: BELOW, SANGAT_KURANG: BELOW},
        description="Predikat → performance level [P: design recommendation, asn-rules.md §4.4]",
    )
    potential_axis: dict[str, Literal["TINGGI", "MENENGAH", "RENDAH"]] = Field(
        default_factory=lambda: {"OPTIMAL": HIGH, "CUKUP_OPTIMAL": MEDIUM, "KURANG_OPTIMAL": LOW},
        description="JPM mapping category → potential level [P: design recommendation]",
    )


class NineBox(Classifier):
    """Kotak manajemen talenta (PermenPANRB 3/2020 jo 20/2025): box 1–9, follow-up and succession pools."""

    name = "nine-box"
    title = {"id": "Kotak manajemen talenta", "en": "Talent grid box"}
    summary = "nine-box talent grid: performance (predikat) × potential (JPM), boxes 1–9, follow-up and succession pools"
    Options = NineBoxOptions

    def classify(self, scores, data, options):
        n = len(data.employees)
        predikat = data.classifications.get("predikat-kinerja")
        jpm = data.classifications.get("jpm")
        hasil = data.employees.extra.get("rating_hasil_kerja", np.full(n, "", dtype=object))
        categories, reasons, details = np.full(n, "", dtype=object), [], []
        for e in range(n):
            if options.performance == "predikat":
                performance = options.predikat_axis.get(str(predikat.categories[e])) if predikat is not None else None
            else:
                performance = str(hasil[e]) or None
            potential = options.potential_axis.get(str(jpm.categories[e])) if jpm is not None else None
            if not performance or not potential:
                what_id = "kinerja" if not performance else "potensial (JPM)"
                what_en = "performance" if not performance else "potential (JPM)"
                reasons.append({"id": f"sumbu {what_id} belum tersedia: kotak tidak ditetapkan", "en": f"no {what_en}: no box"})
                details.append({})
                continue
            number = BOX_NUMBER[(performance, potential)]
            code = f"kotak-{number}"
            categories[e] = code
            details.append(
                {
                    "box": number,
                    "kinerja": performance,
                    "potensial": potential,
                    "rekomendasi": RECOMMENDATIONS[number],
                    "kelompok_rencana_suksesi": SUCCESSION_POOL.get(number),
                }
            )
            reasons.append(
                {
                    "id": f"kinerja {PERFORMANCE_WORDS[performance]['id']} × potensial {POTENTIAL_LABELS[potential]['id']} → kotak {number}; "
                    f"tindak lanjut: {'; '.join(RECOMMENDATIONS[number])}",
                    "en": f"performance {PERFORMANCE_WORDS[performance]['en']} × potential {POTENTIAL_LABELS[potential]['en']} → box {number}; "
                    f"follow-up: {'; '.join(RECOMMENDATIONS[number])}",
                }
            )
        return Classification(categories=categories, labels=BOX_LABELS, reasons=reasons, details=details)


# ---------------------------------------------------------------------------
# Decisions that differ from the evidence
# ---------------------------------------------------------------------------


class DecisionDiffers(FlagRule):
    """Every employee whose supervisor's behaviour rating differs from the 360 suggestion, or is missing."""

    name = "keputusan-berbeda"
    summary = "supervisor's behaviour rating differs from the 360 suggestion (shown to the employee and HR)"

    def flags(self, scores, data, options):
        suggestion = data.classifications.get("perilaku-360")
        if suggestion is None:
            return []
        found = []
        for e, detail in enumerate(suggestion.details or []):
            code = str(suggestion.categories[e])
            decided = detail.get("decided")
            if not code:
                continue
            if not decided:
                found.append(self.employee_flag(
                    data, e, "warning",
                    f"Belum ada rating perilaku kerja dari atasan; saran 360: {RATING_LABELS[code]['id']}.",
                    f"No behaviour rating from the supervisor yet; the 360 suggests {RATING_LABELS[code]['en']}.",
                ))
                continue
            if not detail["differs"]:
                continue
            reason = detail.get("reason_given")
            thin_id = "" if detail["sufficient_evidence"] else " Bukti 360 belum cukup kuat."
            thin_en = "" if detail["sufficient_evidence"] else " The 360 evidence is thin."
            found.append(self.employee_flag(
                data, e, "review",
                f"Keputusan atasan untuk perilaku kerja ({RATING_LABELS[decided]['id']}) berbeda dari saran 360 "
                f"({RATING_LABELS[code]['id']}, skor {detail['score']:.2f} ± {scores.overall_se[e]:.2f}). "
                f"Alasan atasan: {reason or 'tidak diberikan'}.{thin_id}",
                f"The supervisor's behaviour rating ({RATING_LABELS[decided]['en']}) differs from the 360 suggestion "
                f"({RATING_LABELS[code]['en']}, score {detail['score']:.2f} ± {scores.overall_se[e]:.2f}). "
                f"Supervisor's reason: {reason or 'none given'}.{thin_en}",
                statistic=detail["score"],
            ))
        return found


@hookimpl
def register_input_tables(register):
    register(SupervisorDecisions())
    register(UnitPredikat())


@hookimpl
def register_classifiers(register):
    register(PerilakuSuggestion())
    register(PredikatKinerja())
    register(JobPersonMatch())
    register(NineBox())


@hookimpl
def register_flag_rules(register):
    register(DecisionDiffers())
