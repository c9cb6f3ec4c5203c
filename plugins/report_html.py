"""Built-in output format ``html``: an individual 360 report per employee and the organisation summary.

Every page is self-contained: inline CSS, charts drawn here as inline SVG, no
script, no font or image fetched from anywhere, so a page opens offline,
survives being e-mailed and prints to A4 as it looks on screen.

Anonymity: an individual page shows only rater groups marked ``shown`` in the
record, the comments the record carries (already limited to shown groups and
without rater ids) and flags meant for the employee. It never reads
``development_hr`` (which names colleagues) and never receives HR flags. The
organisation page shows no individual score: unit × competency cells below
``min_cell`` employees show their count only (see :mod:`appraisal.reporting`).

Scale: the run's records are read exactly once. The same pass feeds the
:class:`~appraisal.reporting.OrganisationSummary` and hands chunks of records
to worker processes, each with its own template environment, which write
their pages and send back only the paths. At most ``2 × workers`` chunks are
in flight, so memory does not grow with the number of employees.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import chain, islice
from math import cos, pi, sin
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from appraisal import hookimpl
from appraisal.components import ComponentOptions, OutputFormat, RunView
from appraisal.explain import CATEGORY_WORDS, explain
from appraisal.i18n import Lang, choose
from appraisal.reporting import DEFAULT_MIN_CELL, NINE_BOX, OrganisationSummary, classification_titles
from appraisal.rubric import SELF_GROUP

from .asn import ABOVE, BELOW, BOX_NUMBER, HIGH, LOW, MEDIUM, MEETS, PERFORMANCE_WORDS, POTENTIAL_LABELS

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup

SMALL_RUN = 200
"""Runs with fewer employees are rendered in-process: starting workers would cost more than it saves."""
CHUNK = 25
"""Records per task handed to a worker: large enough to amortise pickling, small enough to keep memory flat."""
PENDING_PER_WORKER = 2

INDIVIDUAL_DIR = "individual"
ORGANISATION_FILE = "organisation.html"
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{port}{n}" for port in ("COM", "LPT") for n in range(1, 10)}

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies and in greyscale print.
GROUP_COLOURS = ("#0072B2", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
SELF_COLOUR = "#7a7a7a"
CATEGORY_DARK, CATEGORY_LIGHT = (8, 48, 107), (198, 219, 239)
HEAT_STOPS = ((239, 243, 255), (107, 174, 214), (8, 81, 156))
NO_CATEGORY_COLOUR = "#d9d9d9"
LINE_HEIGHT = 13
"""Between the lines of a two-line competency name on the radar chart (SVG units)."""
BAR_LENGTH = 200
"""The length of a bar's SVG coordinate system; bars stretch to their table cell."""

RELIABILITY_FOR_DECISIONS = 0.80
"""The reliability usually asked of scores used in personnel decisions (the D-study's second goal)."""
ALPHA_RELIABLE, ALPHA_TENTATIVE = 0.80, 0.667
ALL_OTHERS = "all_others"

WORDS: dict[str, dict[str, str]] = {
    # --- both pages ---------------------------------------------------------
    "report_title": {"id": "Laporan Umpan Balik 360 Derajat", "en": "360-degree feedback report"},
    "org_title": {"id": "Ringkasan Organisasi — Penilaian 360 Derajat", "en": "Organisation summary — 360-degree appraisal"},
    "org_kicker": {"id": "Penilaian kompetensi 360 derajat", "en": "360-degree competency appraisal"},
    "org_heading": {"id": "Ringkasan organisasi", "en": "Organisation summary"},
    "rubric_line": {
        "id": "Rubrik: {name} (versi {version}) · dihitung dengan appraisal {engine}",
        "en": "Rubric: {name} (version {version}) · computed with appraisal {engine}",
    },
    "confidential": {
        "id": "Rahasia: hanya untuk pegawai yang bersangkutan, atasannya dan pengelola kepegawaian.",
        "en": "Confidential: for the employee, their supervisor and the HR office only.",
    },
    "none": {"id": "Tidak ada.", "en": "None."},
    "dash_meaning": {
        "id": "– : tidak dapat dihitung (mis. hanya satu penilai per pegawai).",
        "en": "– : cannot be computed (e.g. a single rater per employee).",
    },
    "col_competency": {"id": "Kompetensi", "en": "Competency"},
    "col_group": {"id": "Kelompok penilai", "en": "Rater group"},
    "col_raters": {"id": "Penilai", "en": "Raters"},
    "col_mean": {"id": "Rata-rata", "en": "Mean"},
    "col_score": {"id": "Skor akhir", "en": "Final score"},
    "col_self": {"id": "Diri sendiri", "en": "Self"},
    "col_others": {"id": "Orang lain", "en": "Others"},
    "col_difference": {"id": "Selisih", "en": "Difference"},
    "col_required": {"id": "Dipersyaratkan", "en": "Required"},
    "col_achieved": {"id": "Dicapai", "en": "Achieved"},
    "col_gap": {"id": "Kesenjangan", "en": "Gap"},
    "col_activity": {"id": "Kegiatan", "en": "Activity"},
    "col_form": {"id": "Bentuk", "en": "Form"},
    "col_provider": {"id": "Penyelenggara", "en": "Provider"},
    "col_hours": {"id": "JP", "en": "JP"},
    "col_count": {"id": "Jumlah", "en": "Count"},
    "col_unit": {"id": "Unit kerja", "en": "Unit"},
    "col_employees": {"id": "Pegawai", "en": "Employees"},
    "col_share": {"id": "Sebaran", "en": "Distribution"},
    "col_category": {"id": "Kategori", "en": "Category"},
    "no_unit": {"id": "(tanpa unit)", "en": "(no unit)"},
    "not_classified": {"id": "Tanpa kategori", "en": "Not classified"},
    "total": {"id": "Jumlah", "en": "Total"},
    "scale_of": {"id": "skala {min}–{max}", "en": "scale {min}–{max}"},
    # --- individual: header and headline -----------------------------------
    "employee_id": {"id": "NIP / ID pegawai", "en": "Employee ID"},
    "unit": {"id": "Unit kerja", "en": "Unit"},
    "position": {"id": "Jabatan", "en": "Position"},
    "profile": {"id": "Profil jabatan", "en": "Position profile"},
    "employment_type": {"id": "Jenis kepegawaian", "en": "Employment type"},
    "overall": {"id": "Skor keseluruhan", "en": "Overall score"},
    "interval": {"id": "rentang keyakinan {level}: {low} – {high}", "en": "{level} interval: {low} – {high}"},
    "category": {"id": "Kategori", "en": "Category"},
    "no_category": {"id": "Tidak ada kategori", "en": "No category"},
    "status": {"id": "Status bukti", "en": "Evidence"},
    "status_ok": {"id": "Bukti cukup", "en": "Sufficient evidence"},
    "status_ok_text": {
        "id": "Skor didukung oleh kelompok penilai yang diwajibkan dan cukup andal.",
        "en": "The score rests on the required rater groups and is reliable enough.",
    },
    "status_insufficient_evidence": {"id": "Bukti belum cukup", "en": "Insufficient evidence"},
    "status_incomplete": {"id": "Sebagian kompetensi tanpa skor", "en": "Some competencies without a score"},
    "status_incomplete_text": {
        "id": "Kompetensi tanpa penilaian yang dapat dihitung tidak ikut dalam skor keseluruhan: {items}.",
        "en": "Competencies without countable ratings are left out of the overall score: {items}.",
    },
    "status_no_data": {"id": "Tidak ada data", "en": "No data"},
    "status_no_data_text": {
        "id": "Tidak ada penilaian yang dapat dihitung untuk pegawai ini.",
        "en": "There are no countable ratings for this employee.",
    },
    "insufficient_reliability": {
        "id": "reliabilitas {reliability} di bawah minimum {minimum}",
        "en": "reliability {reliability} is below the minimum of {minimum}",
    },
    "insufficient_missing": {
        "id": "tidak ada penilaian dari kelompok yang diwajibkan: {groups}",
        "en": "no ratings from a required group: {groups}",
    },
    "insufficient_text": {
        "id": "Alasan: {reasons}. Skor ini jangan dipakai sendirian untuk keputusan.",
        "en": "Why: {reasons}. Do not base a decision on this score alone.",
    },
    "classifications_title": {"id": "Klasifikasi lain", "en": "Other classifications"},
    "col_classification": {"id": "Klasifikasi", "en": "Classification"},
    "col_result": {"id": "Hasil", "en": "Result"},
    "col_reason": {"id": "Dasar", "en": "Basis"},
    "your_box": {"id": "Posisi Anda pada kotak manajemen talenta", "en": "Your place in the talent grid"},
    "you": {"id": "Anda", "en": "You"},
    "notes_title": {"id": "Catatan untuk Anda", "en": "Notes for you"},
    # --- individual: radar and groups --------------------------------------
    "radar_title": {"id": "Profil kompetensi", "en": "Competency profile"},
    "radar_intro": {
        "id": "Setiap jari-jari adalah satu kompetensi; makin jauh dari pusat, makin tinggi skornya (pusat = {min}, tepi = {max}).",
        "en": "Each spoke is one competency; the further from the centre, the higher the score (centre = {min}, edge = {max}).",
    },
    "legend_others": {"id": "Penilaian orang lain (skor akhir)", "en": "Others' rating (final score)"},
    "legend_self": {"id": "Penilaian diri sendiri", "en": "Self-rating"},
    "legend_required": {
        "id": "Level yang dipersyaratkan jabatan (kompetensi dengan kesenjangan)",
        "en": "Level the position requires (competencies with a gap)",
    },
    "groups_title": {"id": "Skor per kelompok penilai", "en": "Scores by rater group"},
    "groups_intro": {
        "id": "Rata-rata tiap kelompok penilai sebelum kalibrasi, dan skor akhir kompetensi dengan rentang keyakinannya. "
        "Kelompok dengan penilai kurang dari minimum tidak ditampilkan agar penilai tidak dapat dikenali. "
        "Penilaian diri ditampilkan sebagai pembanding dan tidak dihitung.",
        "en": "Each rater group's mean before calibration, and the competency's final score with its interval. "
        "Groups with fewer raters than the minimum are not shown, so that no rater can be recognised. "
        "The self-rating is shown for comparison and does not count.",
    },
    "comparison_only": {"id": "pembanding, tidak dihitung", "en": "comparison, not counted"},
    "hidden_groups": {
        "id": "Tidak ditampilkan (penilai kurang dari minimum): {groups}.",
        "en": "Not shown (fewer raters than the minimum): {groups}.",
    },
    "required_mark": {"id": "dipersyaratkan {value}", "en": "required {value}"},
    "no_score": {"id": "tanpa skor", "en": "no score"},
    # --- individual: self and others ----------------------------------------
    "self_other_title": {"id": "Diri sendiri dibanding orang lain", "en": "Self compared with others"},
    "self_other_facts": {
        "id": "Rata-rata penilaian diri {self}, rata-rata penilaian orang lain {others}, selisih {difference}. "
        "Selisih dianggap berarti bila lebih dari {threshold} poin.",
        "en": "Self-rating {self}, others' rating {others}, difference {difference}. "
        "A difference counts when it exceeds {threshold} points.",
    },
    "over-estimator": {
        "id": "Anda menilai diri lebih tinggi daripada penilaian orang lain.",
        "en": "You rate yourself higher than others rate you.",
    },
    "under-estimator": {
        "id": "Anda menilai diri lebih rendah daripada penilaian orang lain.",
        "en": "You rate yourself lower than others rate you.",
    },
    "in-agreement-good": {
        "id": "Penilaian diri Anda sejalan dengan penilaian orang lain, dan penilaian orang lain setidaknya setara median organisasi.",
        "en": "Your self-rating agrees with others', and others rate you at or above the organisation's median.",
    },
    "in-agreement-poor": {
        "id": "Penilaian diri Anda sejalan dengan penilaian orang lain, tetapi penilaian orang lain di bawah median organisasi.",
        "en": "Your self-rating agrees with others', but others rate you below the organisation's median.",
    },
    "blind_spots_title": {"id": "Titik buta", "en": "Blind spots"},
    "blind_spots_help": {
        "id": "Kompetensi yang Anda nilai jauh lebih tinggi daripada orang lain — selisihnya lebih besar dari ketidakpastian skor. "
        "Layak dibicarakan dengan atasan.",
        "en": "Competencies you rate well above how others rate you — by more than the score's uncertainty. "
        "Worth discussing with your supervisor.",
    },
    "hidden_strengths_title": {"id": "Kekuatan tersembunyi", "en": "Hidden strengths"},
    "hidden_strengths_help": {
        "id": "Kompetensi yang orang lain nilai jauh lebih tinggi daripada penilaian Anda sendiri.",
        "en": "Competencies others rate well above your own rating.",
    },
    "strengths_title": {"id": "Kekuatan untuk dimanfaatkan", "en": "Strengths to build on"},
    "strengths_help": {
        "id": "Kompetensi yang dengan yakin berada di atas level yang dipersyaratkan.",
        "en": "Competencies confidently above the required level.",
    },
    # --- individual: comments -----------------------------------------------
    "comments_title": {"id": "Komentar penilai", "en": "Raters' comments"},
    "comments_intro": {
        "id": "Hanya dari kelompok penilai yang ditampilkan, tanpa nama penilai, diurutkan menurut kelompok dan kompetensi.",
        "en": "From shown rater groups only, without raters' names, ordered by group and competency.",
    },
    # --- individual: plan ---------------------------------------------------
    "plan_title": {"id": "Rencana pengembangan kompetensi", "en": "Competency development plan"},
    "plan_intro": {
        "id": "Kesenjangan = level yang dipersyaratkan jabatan − skor yang dicapai; urutan menurut prioritas. "
        "JP = jam pelajaran.",
        "en": "Gap = the level the position requires − the score achieved; in order of priority. JP = learning hours.",
    },
    "general_development": {
        "id": "Pengembangan umum (memenuhi jam pelajaran minimal)",
        "en": "General development (to reach the minimum learning hours)",
    },
    "no_activity": {"id": "belum ada kegiatan yang sesuai di katalog", "en": "no matching activity in the catalogue"},
    "no_plan": {
        "id": "Tidak ada kesenjangan terhadap profil jabatan dan tidak ada kegiatan yang direncanakan.",
        "en": "No gap to the position profile and no activity planned.",
    },
    "hours_minimum_met": {
        "id": "{total} JP: memenuhi minimum {minimum} JP per tahun ({kind}).",
        "en": "{total} JP: meets the minimum of {minimum} JP a year ({kind}).",
    },
    "hours_minimum_missed": {
        "id": "{total} JP: belum memenuhi minimum {minimum} JP per tahun ({kind}).",
        "en": "{total} JP: below the minimum of {minimum} JP a year ({kind}).",
    },
    "hours_maximum": {
        "id": "{total} JP: tidak melebihi maksimum {maximum} JP per tahun ({kind}).",
        "en": "{total} JP: within the maximum of {maximum} JP a year ({kind}).",
    },
    "hours_total": {"id": "Jumlah jam pelajaran: {total} JP.", "en": "Learning hours: {total} JP."},
    "not_scheduled": {
        "id": "Tidak dijadwalkan karena batas maksimum JP: {items}.",
        "en": "Not scheduled because of the JP maximum: {items}.",
    },
    # --- individual: reliability and explanation ----------------------------
    "reliability_title": {"id": "Seberapa andal skor ini", "en": "How reliable the score is"},
    "reliability_facts": {
        "id": "Reliabilitas {reliability} (minimum {minimum}); galat baku {se} poin.",
        "en": "Reliability {reliability} (minimum {minimum}); standard error {se} points.",
    },
    "reliability_decisions": {
        "id": "Skor cukup andal untuk umpan balik dan, bersama bukti lain, untuk keputusan kepegawaian.",
        "en": "The score is reliable enough for feedback and, together with other evidence, for personnel decisions.",
    },
    "reliability_feedback": {
        "id": "Skor cukup andal untuk umpan balik pengembangan; untuk keputusan kepegawaian perlu didukung bukti lain.",
        "en": "The score is reliable enough for developmental feedback; personnel decisions need further evidence.",
    },
    "reliability_low": {
        "id": "Skor belum cukup andal: bacalah sebagai petunjuk saja.",
        "en": "The score is not reliable enough yet: read it as an indication only.",
    },
    "reliability_unknown": {
        "id": "Reliabilitas tidak dapat dihitung (terlalu sedikit penilai).",
        "en": "The reliability cannot be computed (too few raters).",
    },
    "interval_meaning": {
        "id": "Artinya: bila penilaian diulang dengan penilai lain yang sebanding, skor keseluruhan Anda dengan keyakinan {level} "
        "berada antara {low} dan {high}. Reliabilitas 1 berarti penilai lain akan memberi skor yang sama; 0 berarti skor "
        "hanya mencerminkan siapa yang kebetulan menilai.",
        "en": "That is: were the appraisal repeated with other, comparable raters, your overall score would lie between {low} "
        "and {high} with {level} confidence. A reliability of 1 means other raters would give the same score; 0 means the "
        "score reflects only who happened to rate.",
    },
    "explain_title": {"id": "Cara skor dihitung", "en": "How the score was computed"},
    "explain_intro": {
        "id": "Langkah demi langkah, dengan angka yang dipakai dalam perhitungan; setiap langkah dapat diulang dengan kalkulator.",
        "en": "Step by step, with the numbers the computation used; every step can be redone with a calculator.",
    },
    # --- organisation --------------------------------------------------------
    "org_confidential": {
        "id": "Untuk pengelola kepegawaian. Halaman ini tidak memuat skor perorangan.",
        "en": "For the HR office. This page shows no individual's score.",
    },
    "org_counts": {
        "id": "{employees} pegawai di {units} unit kerja; {insufficient} dengan bukti belum cukup atau skor tidak lengkap.",
        "en": "{employees} employees in {units} units; {insufficient} with insufficient evidence or an incomplete score.",
    },
    "distribution_title": {"id": "Sebaran kategori per unit kerja", "en": "Categories per unit"},
    "distribution_intro": {
        "id": "Jumlah pegawai per kategori ({classification}); batang menunjukkan proporsinya dalam unit.",
        "en": "Employees per category ({classification}); the bar shows the shares within the unit.",
    },
    "heatmap_title": {"id": "Rata-rata kompetensi per unit kerja", "en": "Competency means per unit"},
    "heatmap_intro": {
        "id": "Rata-rata skor akhir pegawai unit untuk setiap kompetensi; makin gelap makin tinggi. Sel dengan kurang dari "
        "{min_cell} pegawai dikosongkan dan hanya menunjukkan jumlah pegawainya (n), agar skor perorangan tidak terbaca.",
        "en": "The mean final score of the unit's employees per competency; darker is higher. Cells with fewer than {min_cell} "
        "employees are left blank and show only their number of employees (n), so no individual's score can be read.",
    },
    "heat_legend": {"id": "Warna", "en": "Colour"},
    "small_cell": {"id": "sel kecil (n < {min_cell})", "en": "small cell (n < {min_cell})"},
    "nine_box_title": {"id": "Kotak manajemen talenta (nine-box)", "en": "Talent grid (nine-box)"},
    "nine_box_intro": {
        "id": "Jumlah pegawai per kotak, penomoran resmi PermenPANRB 3/2020: kotak 9 (kanan atas) = kinerja di atas "
        "ekspektasi dan potensial tinggi; kotak 1 (kiri bawah) = kinerja di bawah ekspektasi dan potensial rendah.",
        "en": "Employees per box, official PermenPANRB 3/2020 numbering: box 9 (top right) = performance above "
        "expectations and high potential; box 1 (bottom left) = performance below expectations and low potential.",
    },
    "box": {"id": "Kotak {number}", "en": "Box {number}"},
    "performance": {"id": "Kinerja", "en": "Performance"},
    "potential": {"id": "Potensial", "en": "Potential"},
    "unplaced": {"id": "Tanpa kotak (sumbu belum tersedia): {count} pegawai.", "en": "No box (an axis is missing): {count} employees."},
    "training_title": {"id": "Analisis kebutuhan pelatihan", "en": "Training needs analysis"},
    "training_intro": {
        "id": "Kompetensi yang paling banyak kurang dari level yang dipersyaratkan jabatan, dan kegiatan dalam rencana pengembangan.",
        "en": "The competencies most often below the level positions require, and the activities in the development plans.",
    },
    "col_people_gap": {"id": "Pegawai dengan kesenjangan", "en": "Employees with a gap"},
    "col_mean_gap": {"id": "Rata-rata kesenjangan", "en": "Mean gap"},
    "col_participants": {"id": "Peserta", "en": "Participants"},
    "col_total_hours": {"id": "Total JP", "en": "Total JP"},
    "col_serves": {"id": "Untuk kompetensi", "en": "For competencies"},
    "no_gaps": {"id": "Tidak ada pegawai dengan kesenjangan kompetensi.", "en": "No employee has a competency gap."},
    "hours_summary": {
        "id": "Total {total} JP direncanakan; {below} pegawai belum mencapai minimum jam pelajaran per tahun.",
        "en": "{total} JP planned in all; {below} employees below the yearly minimum of learning hours.",
    },
    "self_other_org_intro": {
        "id": "Jumlah pegawai menurut perbandingan penilaian diri dan penilaian orang lain.",
        "en": "Employees by how their self-rating compares with others' rating.",
    },
    "reliability_org_title": {"id": "Keandalan penilaian", "en": "Reliability of the ratings"},
    "reliability_org_intro": {
        "id": "ICC(1) = keandalan satu penilai; ICC(k) = keandalan rata-rata dari jumlah penilai yang ada; kolom 0.70 dan 0.80 = "
        "jumlah penilai per pegawai yang dibutuhkan untuk keandalan itu; alpha Krippendorff = kesepakatan antar-penilai "
        "atas kompetensi yang sama di atas kebetulan; r_wg = kesepakatan dalam satu pegawai dibanding menjawab acak.",
        "en": "ICC(1) = the reliability of one rater; ICC(k) = the reliability of the average over the raters there are; "
        "columns 0.70 and 0.80 = raters per employee needed for that reliability; Krippendorff's alpha = agreement between "
        "raters on the same competency beyond chance; r_wg = agreement about one employee compared with random answers.",
    },
    "reliability_sentence": {
        "id": "Untuk semua penilai selain diri sendiri: satu penilai memiliki keandalan {icc1}; rata-rata dari sekitar {k} "
        "penilai per pegawai mencapai {icck}. Keandalan 0.70 (umpan balik pengembangan) membutuhkan {n70} penilai per "
        "pegawai dan 0.80 (keputusan kepegawaian) {n80}.",
        "en": "For all raters except self: one rater has a reliability of {icc1}; the average of about {k} raters per "
        "employee reaches {icck}. A reliability of 0.70 (developmental feedback) needs {n70} raters per employee and "
        "0.80 (personnel decisions) {n80}.",
    },
    "alpha_reliable": {
        "id": "Alpha Krippendorff {alpha}: penilai sepakat dengan andal.",
        "en": "Krippendorff's alpha {alpha}: raters agree reliably.",
    },
    "alpha_tentative": {
        "id": "Alpha Krippendorff {alpha}: kesepakatan dapat diterima untuk kesimpulan sementara.",
        "en": "Krippendorff's alpha {alpha}: agreement good enough for tentative conclusions.",
    },
    "alpha_low": {
        "id": "Alpha Krippendorff {alpha}: penilai satu pegawai sering berbeda pendapat tentang kompetensi yang sama; "
        "bacalah skor per kompetensi dengan hati-hati dan andalkan rata-rata dari beberapa penilai.",
        "en": "Krippendorff's alpha {alpha}: raters of one employee often disagree on the same competency; read "
        "competency scores with care and rely on averages over several raters.",
    },
    "col_ratees": {"id": "Pegawai dinilai", "en": "Employees rated"},
    "col_raters_mean": {"id": "Penilai per pegawai", "en": "Raters per employee"},
    "col_icc1": {"id": "ICC(1)", "en": "ICC(1)"},
    "col_icck": {"id": "ICC(k)", "en": "ICC(k)"},
    "col_for_070": {"id": "Penilai untuk 0.70", "en": "Raters for 0.70"},
    "col_for_080": {"id": "Penilai untuk 0.80", "en": "Raters for 0.80"},
    "col_alpha": {"id": "Alpha Krippendorff", "en": "Krippendorff's alpha"},
    "col_rwg": {"id": "Median r_wg", "en": "Median r_wg"},
    "col_cronbach": {"id": "Alpha Cronbach", "en": "Cronbach's alpha"},
    "col_cluster": {"id": "Klaster", "en": "Cluster"},
    "by_group": {"id": "Per kelompok penilai (semua kompetensi)", "en": "By rater group (all competencies)"},
    "by_cluster": {"id": "Per klaster (semua penilai selain diri sendiri)", "en": "By cluster (all raters except self)"},
    "all_others": {"id": "Semua selain diri sendiri", "en": "All except self"},
    "overall_cluster": {"id": "Semua kompetensi", "en": "All competencies"},
    "queue_title": {"id": "Antrean pemeriksaan untuk pengelola kepegawaian", "en": "Review queue for the HR office"},
    "queue_intro": {
        "id": "Jumlah temuan per aturan pemeriksaan. Rinciannya — termasuk penilai yang disebut — ada di flags.csv dan "
        "raters.csv, khusus untuk pengelola kepegawaian.",
        "en": "Findings per check. The details — including the raters named — are in flags.csv and raters.csv, "
        "for the HR office only.",
    },
    "col_rule": {"id": "Aturan", "en": "Check"},
    "col_audience": {"id": "Ditujukan kepada", "en": "Audience"},
    "col_severity": {"id": "Tingkat", "en": "Severity"},
    "col_subject": {"id": "Tentang", "en": "About"},
    "audience_hr": {"id": "pengelola kepegawaian", "en": "HR office"},
    "audience_employee": {"id": "pegawai dan pengelola kepegawaian", "en": "employee and HR office"},
    "severity_info": {"id": "informasi", "en": "information"},
    "severity_warning": {"id": "peringatan", "en": "warning"},
    "severity_review": {"id": "perlu ditinjau", "en": "needs review"},
    "subject_employee": {"id": "pegawai", "en": "employee"},
    "subject_rater": {"id": "penilai", "en": "rater"},
    "subject_pair": {"id": "pasangan penilai", "en": "pair of raters"},
    "subject_unit": {"id": "unit kerja", "en": "unit"},
    "no_flags": {"id": "Tidak ada temuan.", "en": "No findings."},
}

NINE_BOX_ROWS = (ABOVE, MEETS, BELOW)
NINE_BOX_COLUMNS = (LOW, MEDIUM, HIGH)
NINE_BOX_ZONES = {9: "top", 8: "top", 7: "top", 6: "middle", 5: "middle", 4: "middle", 3: "low", 2: "low", 1: "low"}


class HtmlOptions(ComponentOptions):
    """Options of the ``html`` output format."""

    workers: int | None = Field(
        None, ge=1, description="Worker processes rendering individual pages; None = one per CPU (in-process for small runs)"
    )
    min_cell: int = Field(DEFAULT_MIN_CELL, ge=1, description="Fewest employees a unit × competency mean is shown for")


# ---------------------------------------------------------------------------
# Words and numbers
# ---------------------------------------------------------------------------


class Words:
    """The page vocabulary in one language, with numbers in the rubric's decimals."""

    def __init__(self, lang: Lang, decimals: int) -> None:
        self.lang = lang
        self.decimals = decimals

    def __call__(self, key: str, /, **params: Any) -> str:
        return WORDS[key][self.lang].format(**params)

    def number(self, value: float | None, decimals: int | None = None) -> str:
        """A score with the rubric's decimals (or ``decimals``); an en dash for none."""
        if value is None:
            return "–"
        return f"{value:.{self.decimals if decimals is None else decimals}f}"

    def signed(self, value: float | None) -> str:
        return "–" if value is None else f"{value:+.{self.decimals}f}"

    def hours(self, value: float | None) -> str:
        return "–" if value is None else f"{value:g}"

    def percent(self, share: float) -> str:
        return f"{share:.0%}"

    def label(self, text: Mapping[str, str | None] | str | None) -> str:
        return choose(text, self.lang)  # type: ignore[arg-type]


def build_environment(lang: Lang, decimals: int) -> jinja2.Environment:
    """The template environment: autoescaping on, undefined names are errors."""
    import jinja2  # here, not at the top: only report writing pays for the import

    class KeysFirst(jinja2.Environment):
        """``record.name`` reads a dict's key before trying an attribute: the pages' data are plain
        dicts, and Jinja's attribute-first lookup raised and caught an AttributeError for each of a
        page's 700 lookups (no template calls a dict method)."""

        def getattr(self, obj: Any, attribute: str) -> Any:
            if type(obj) is dict and attribute in obj:
                return obj[attribute]
            return super().getattr(obj, attribute)

    environment = KeysFirst(
        loader=jinja2.PackageLoader("appraisal_plugins", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    words = Words(lang, decimals)
    environment.globals.update(
        t=words, num=words.number, signed=words.signed, hours=words.hours, label=words.label, lang=lang, bar_length=BAR_LENGTH
    )
    return environment


def report_file_name(employee_id: str) -> str:
    """A file name for an employee's page that is safe on every file system and cannot leave its folder.

    Plain ids (letters, digits, ``.``, ``-``, ``_``) are kept as they are; any
    other id is cleaned and given a short hash of the original, so two ids that
    clean to the same text still get different files.
    """
    stem = employee_id.split(".")[0].upper()
    if SAFE_NAME.fullmatch(employee_id) and not employee_id.endswith(".") and stem not in WINDOWS_RESERVED:
        return f"{employee_id}.html"
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", employee_id).strip("_")[:60] or "employee"
    digest = hashlib.sha256(employee_id.encode("utf-8")).hexdigest()[:10]
    return f"{cleaned}-{digest}.html"


def _mix(low: tuple[int, int, int], high: tuple[int, int, int], share: float) -> str:
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(low, high))


def heat_colour(share: float) -> str:
    """A colour on the light-to-dark blue ramp for a position 0–1 between the lowest and highest mean."""
    share = min(max(share, 0.0), 1.0)
    if share <= 0.5:
        return _mix(HEAT_STOPS[0], HEAT_STOPS[1], share * 2)
    return _mix(HEAT_STOPS[1], HEAT_STOPS[2], share * 2 - 1)


def needs_light_text(colour: str) -> bool:
    """Whether white text reads better than black on ``colour`` (#rrggbb), by WCAG relative luminance."""
    channels = [int(colour[k : k + 2], 16) / 255 for k in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    # Contrast with white (1.05 / (L + 0.05)) beats contrast with black ((L + 0.05) / 0.05) below L ≈ 0.18.
    return luminance < 0.179


def ordinal_colours(count: int) -> list[str]:
    """``count`` blues from dark to light, one per category in the rubric's order."""
    return [_mix(CATEGORY_DARK, CATEGORY_LIGHT, k / max(count - 1, 1)) for k in range(count)]


# ---------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RadarSeries:
    """One polygon of the radar chart: a path (broken where a value is missing) and its points."""

    key: str
    label: str
    path: str
    points: list[tuple[float, float, str]]


@dataclass(frozen=True)
class RadarLabel:
    """A competency name at the end of its spoke, in one or two lines."""

    x: float
    y: float
    anchor: str
    lines: list[str]


@dataclass(frozen=True)
class RadarChart:
    """Geometry of a radar chart in SVG user units (the template draws it)."""

    width: int
    height: int
    centre: tuple[float, float]
    rings: list[tuple[float, str]]
    spokes: list[tuple[float, float]]
    labels: list[RadarLabel]
    series: list[RadarSeries]
    line_height: int = LINE_HEIGHT


def _wrap(text: str, width: int = 18) -> list[str]:
    """Split a label into at most two lines at the space nearest its middle."""
    if len(text) <= width or " " not in text:
        return [text]
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return [text[:cut], text[cut + 1 :]]


def radar_chart(
    names: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float | None]]],
    scale: Mapping[str, Any],
    words: Words,
) -> RadarChart:
    """Lay out a radar chart: one spoke per competency, one polygon per ``(key, label, values)``.

    A missing value breaks its polygon instead of being drawn at the centre,
    which would read as the lowest score.
    """
    width, height, radius = 680, 470, 175.0
    cx, cy = width / 2, height / 2
    low, high = float(scale["min"]), float(scale["max"])
    count = len(names)
    angles = [-pi / 2 + 2 * pi * k / count for k in range(count)]

    def at(value: float, angle: float) -> tuple[float, float]:
        r = radius * (value - low) / (high - low)
        return round(cx + r * cos(angle), 1), round(cy + r * sin(angle), 1)

    rings = [(round(radius * (level - low) / (high - low), 1), f"{level:g}") for level in _scale_points(low, high)]
    spokes = [at(high, angle) for angle in angles]
    labels = []
    for name, angle in zip(names, angles):
        x, y = cx + (radius + 12) * cos(angle), cy + (radius + 12) * sin(angle)
        anchor = "middle" if abs(cos(angle)) < 0.2 else ("start" if cos(angle) > 0 else "end")
        lines = _wrap(name)
        # First baseline: labels above the chart grow upwards, below it downwards, at the sides around the spoke's end.
        if sin(angle) < -0.2:
            first = y - LINE_HEIGHT * (len(lines) - 1)
        elif sin(angle) > 0.2:
            first = y + 10
        else:
            first = y + 4 - LINE_HEIGHT * (len(lines) - 1) / 2
        labels.append(RadarLabel(round(x, 1), round(first, 1), anchor, lines))
    drawn = []
    for key, label, values in series:
        points, commands, previous = [], [], False
        for value, angle in zip(values, angles):
            if value is None:
                previous = False
                continue
            x, y = at(value, angle)
            points.append((x, y, words.number(value)))
            commands.append(f"{'L' if previous else 'M'}{x},{y}")
            previous = True
        complete = values and all(v is not None for v in values)
        drawn.append(RadarSeries(key, label, " ".join(commands) + (" Z" if complete else ""), points))
    return RadarChart(width, height, (cx, cy), rings, spokes, labels, drawn)


def _scale_points(low: float, high: float) -> list[float]:
    step = 1.0 if high - low <= 10 else (high - low) / 5
    points, level = [], low
    while level <= high + 1e-9:
        points.append(level)
        level += step
    return points


def bar_length(value: float | None, scale: Mapping[str, Any]) -> float:
    """How far along a bar of :data:`BAR_LENGTH` units ``value`` reaches, from the scale's minimum to its maximum."""
    if value is None:
        return 0.0
    low, high = float(scale["min"]), float(scale["max"])
    return round(BAR_LENGTH * min(max((value - low) / (high - low), 0.0), 1.0), 2)


# ---------------------------------------------------------------------------
# The individual page
# ---------------------------------------------------------------------------


def _aggregation_options(meta: Mapping[str, Any]) -> Mapping[str, Any]:
    """The scoring options the run used: interval level, minimum reliability, required groups."""
    return next(step["options"] for step in meta["steps"] if step["step"] == "aggregation")


class IndividualPage:
    """Renders and writes one employee's page; built once per worker process."""

    def __init__(self, meta: dict[str, Any], lang: Lang, out_dir: Path) -> None:
        self.meta = meta
        self.lang = lang
        self.folder = out_dir / INDIVIDUAL_DIR
        self.words = Words(lang, meta["scale"]["decimals"])
        environment = build_environment(lang, meta["scale"]["decimals"])
        self.template = environment.get_template("individual.html")
        self.macros = environment.get_template("macros.html").module
        self.groups = {g["id"]: g for g in meta["rater_groups"]}
        others = [g["id"] for g in meta["rater_groups"] if g["id"] != SELF_GROUP]
        self.group_colours = {group: GROUP_COLOURS[k % len(GROUP_COLOURS)] for k, group in enumerate(others)} | {SELF_GROUP: SELF_COLOUR}
        self.competency_names = {c["id"]: choose(c["name"], lang) for c in meta["competencies"]}
        self.primary = next((c["name"] for c in meta.get("classifications", []) if c["primary"]), None)
        self.classification_titles = classification_titles(meta, lang)
        self.aggregation = _aggregation_options(meta)
        self.level = self.words.percent(self.aggregation["interval"])
        scale = meta["scale"]
        self.ticks = [
            {"x": bar_length(p, scale), "percent": round(100 * bar_length(p, scale) / BAR_LENGTH, 2), "label": f"{p:g}"}
            for p in _scale_points(float(scale["min"]), float(scale["max"]))
        ]
        # Drawn once here, not for every bar of every report: some 300 of a page's 1,200 escaped values.
        self.bar_grid = self.macros.bar_grid(self.ticks)
        self._radar_frames: dict[tuple[tuple[str, ...], ...], dict[str, Markup]] = {}

    def write(self, record: dict[str, Any]) -> Path:
        path = self.folder / report_file_name(str(record["employee_id"]))
        path.write_text(self.render(record), encoding="utf-8")
        return path

    def render(self, record: dict[str, Any]) -> str:
        return self.template.render(self.context(record))

    def group_name(self, group_id: str) -> str:
        return choose(self.groups[group_id]["label"], self.lang)

    def context(self, record: dict[str, Any]) -> dict[str, Any]:
        """Everything the template shows, in the page's language."""
        meta, words = self.meta, self.words
        required = {e["competency"]: e["required"] for e in record["development_plan"] if e["competency"]}
        development = record.get("development") or {}
        radar = self.radar(record, required)
        return {
            "meta": meta,
            "record": record,
            "employment_type": (record.get("roster") or {}).get("employment_type", ""),
            "level": self.level,
            "primary_title": self.classification_titles[self.primary] if self.primary else words("category"),
            "status": self.status(record),
            "classifications": self.classifications(record),
            "nine_box": self.nine_box(record),
            "flags": [choose(f["message"], self.lang) for f in record["flags"] if f.get("audience", "employee") == "employee"],
            "radar": radar,
            "radar_frame": self.radar_frame(radar),
            "competencies": self.competency_rows(record, required),
            "always_hidden": [self.group_name(g) for g in self.always_hidden(record)],
            "ticks": self.ticks,
            "bar_grid": self.bar_grid,
            "legend": self.legend(record),
            "self_other": development.get("self_other"),
            "self_other_label": CATEGORY_WORDS.get((development.get("self_other") or {}).get("category", ""), {}),
            "blind_spots": self.named(development.get("blind_spots", [])),
            "hidden_strengths": self.named(development.get("hidden_strengths", [])),
            "strengths": [self.competency_names[c] for c in development.get("strengths", [])],
            "comments": [
                {"group": self.group_name(c["group"]), "competency": self.competency_names.get(c["competency"], c["competency"]), "text": c["text"]}
                for c in record["comments"]
            ],
            "plan": self.plan(record, development.get("learning_hours")),
            "reliability": self.reliability(record),
            "explanation": explain(record, meta, self.lang),
        }

    def status(self, record: Mapping[str, Any]) -> dict[str, str]:
        words, code = self.words, record["status"]
        if code == "ok":
            text = words("status_ok_text")
        elif code == "incomplete":
            missing = [self.competency_names[c["id"]] for c in record["competencies"] if c["score"] is None]
            text = words("status_incomplete_text", items=", ".join(missing))
        elif code == "no_data":
            text = words("status_no_data_text")
        else:
            reasons = []
            minimum = self.aggregation["min_reliability"]
            if record["reliability"] is not None and record["reliability"] < minimum:
                reasons.append(words("insufficient_reliability", reliability=words.number(record["reliability"], 2), minimum=words.number(minimum, 2)))
            shown = {g["group"] for c in record["competencies"] for g in c["groups"] if g["shown"]}
            missing = [self.group_name(g) for g in self.aggregation["required_groups"] if g not in shown]
            if missing:
                reasons.append(words("insufficient_missing", groups=", ".join(missing)))
            text = words("insufficient_text", reasons="; ".join(reasons))
        return {"code": code, "title": words(f"status_{code}"), "text": text}

    def classifications(self, record: Mapping[str, Any]) -> list[dict[str, str]]:
        return [
            {"title": self.classification_titles.get(name, name), "label": choose(found["label"], self.lang), "reason": choose(found["reason"], self.lang)}
            for name, found in (record.get("classifications") or {}).items()
            if name != self.primary and found
        ]

    def nine_box(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        found = (record.get("classifications") or {}).get(NINE_BOX)
        if not found:
            return None
        return nine_box_grid(self.words, {int(found["code"].removeprefix("kotak-")): self.words("you")}, highlight=True)

    def radar(self, record: Mapping[str, Any], required: Mapping[str, float | None]) -> RadarChart:
        competencies = record["competencies"]
        words = self.words
        return radar_chart(
            [self.competency_names[c["id"]] for c in competencies],
            [
                ("required", words("legend_required"), [required.get(c["id"]) for c in competencies]),
                ("others", words("legend_others"), [c["score_shown"] for c in competencies]),
                ("self", words("legend_self"), [c["self"] for c in competencies]),
            ],
            self.meta["scale"],
            words,
        )

    def radar_frame(self, radar: RadarChart) -> dict[str, Markup]:
        """The chart's rings, spokes and competency names, drawn once for all reports with the same competencies."""
        key = tuple(tuple(label.lines) for label in radar.labels)
        if key not in self._radar_frames:
            self._radar_frames[key] = {"grid": self.macros.radar_grid(radar), "labels": self.macros.radar_labels(radar)}
        return self._radar_frames[key]

    def competency_rows(self, record: Mapping[str, Any], required: Mapping[str, float | None]) -> list[dict[str, Any]]:
        scale = self.meta["scale"]
        always_hidden = set(self.always_hidden(record))
        rows = []
        for competency in record["competencies"]:
            shown = [g for g in competency["groups"] if g["shown"]]
            rows.append(
                {
                    "id": competency["id"],
                    "name": self.competency_names[competency["id"]],
                    "score": competency["score_shown"],
                    "interval": competency["interval"],
                    "required": required.get(competency["id"]),
                    "required_x": bar_length(required.get(competency["id"]), scale),
                    "bars": [
                        {
                            "group": g["group"],
                            "name": self.group_name(g["group"]),
                            "colour": self.group_colours[g["group"]],
                            "n": g["n"],
                            "mean": g["mean"],
                            "counted": g["counted"],
                            "length": bar_length(g["mean"], scale),
                        }
                        for g in shown
                    ],
                    "hidden": [
                        self.group_name(g["group"]) for g in competency["groups"] if not g["shown"] and g["group"] not in always_hidden
                    ],
                }
            )
        return rows

    def always_hidden(self, record: Mapping[str, Any]) -> list[str]:
        """Groups that rated the employee but are hidden for every competency: said once, not on every row."""
        seen = {g["group"]: False for c in record["competencies"] for g in c["groups"]}
        for c in record["competencies"]:
            for g in c["groups"]:
                seen[g["group"]] |= g["shown"]
        return [group for group, shown in seen.items() if not shown]

    def legend(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        present = {g["group"] for c in record["competencies"] for g in c["groups"] if g["shown"]}
        return [
            {"name": self.group_name(g["id"]), "colour": self.group_colours[g["id"]], "counted": g["counts_in_overall"]}
            for g in self.meta["rater_groups"]
            if g["id"] in present
        ]

    def named(self, items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [{**item, "name": self.competency_names[item["competency"]]} for item in items]

    def plan(self, record: Mapping[str, Any], hours: Mapping[str, Any] | None) -> dict[str, Any]:
        words = self.words
        entries = []
        for entry in record["development_plan"]:
            entries.append(
                {
                    "name": self.competency_names[entry["competency"]] if entry["competency"] else words("general_development"),
                    "general": not entry["competency"],
                    "required": entry["required"],
                    "achieved": entry["achieved"],
                    "gap": entry["gap"],
                    "actions": [
                        {
                            "name": choose(a["name"], self.lang),
                            "form": choose(a["form_label"], self.lang),
                            "provider": choose(a.get("provider"), self.lang),
                            "hours": a["hours"],
                        }
                        for a in entry["actions"]
                    ],
                }
            )
        total = sum(a["hours"] or 0.0 for entry in record["development_plan"] for a in entry["actions"])
        return {"entries": entries, "total": total, "hours_notes": self.hours_notes(total, hours)}

    def hours_notes(self, total: float, hours: Mapping[str, Any] | None) -> list[str]:
        """The learning-hour rules that apply to this employee, met or not, in words."""
        words = self.words
        if not hours:
            return [words("hours_total", total=words.hours(total))]
        kind = hours.get("employment_type") or ""
        notes = []
        if hours.get("minimum") is not None:
            key = "hours_minimum_met" if hours["meets_minimum"] else "hours_minimum_missed"
            notes.append(words(key, total=words.hours(total), minimum=words.hours(hours["minimum"]), kind=kind))
        if hours.get("maximum") is not None:
            notes.append(words("hours_maximum", total=words.hours(total), maximum=words.hours(hours["maximum"]), kind=kind))
        if not notes:
            notes.append(words("hours_total", total=words.hours(total)))
        skipped = hours.get("not_scheduled") or []
        if skipped:
            items = ", ".join(f"{self.competency_names.get(s['competency'], s['competency'])} ({words.hours(s['hours'])} JP)" for s in skipped)
            notes.append(words("not_scheduled", items=items))
        return notes

    def reliability(self, record: Mapping[str, Any]) -> dict[str, str]:
        words = self.words
        value, minimum = record["reliability"], self.aggregation["min_reliability"]
        if value is None or record["overall_interval"] is None:
            return {"facts": words("reliability_unknown"), "verdict": "", "meaning": ""}
        if value < minimum:
            verdict = words("reliability_low")
        elif value >= RELIABILITY_FOR_DECISIONS:
            verdict = words("reliability_decisions")
        else:
            verdict = words("reliability_feedback")
        low, high = record["overall_interval"]
        return {
            "facts": words("reliability_facts", reliability=words.number(value, 2), minimum=words.number(minimum, 2), se=words.number(record["overall_se"])),
            "verdict": verdict,
            "meaning": words("interval_meaning", level=self.level, low=words.number(low), high=words.number(high)),
        }


def nine_box_grid(words: Words, values: Mapping[int, str], highlight: bool = False) -> dict[str, Any]:
    """The 3×3 grid in the official layout: performance rows (above on top), potential columns (low on the left).

    :param values: text to show per box number; with ``highlight`` the boxes given are marked instead.
    """
    rows = []
    for performance in NINE_BOX_ROWS:
        cells = []
        for potential in NINE_BOX_COLUMNS:
            number = BOX_NUMBER[(performance, potential)]
            cells.append(
                {"number": number, "zone": NINE_BOX_ZONES[number], "value": values.get(number, ""), "marked": highlight and number in values}
            )
        rows.append({"label": words.label(PERFORMANCE_WORDS[performance]), "cells": cells})
    return {"rows": rows, "columns": [words.label(POTENTIAL_LABELS[p]) for p in NINE_BOX_COLUMNS]}


# ---------------------------------------------------------------------------
# Worker processes
# ---------------------------------------------------------------------------

_worker_page: IndividualPage | None = None


def _start_worker(meta: dict[str, Any], lang: Lang, out_dir: Path) -> None:
    """Build the worker's page renderer (and its template environment) once."""
    global _worker_page
    _worker_page = IndividualPage(meta, lang, out_dir)


def _render_chunk(records: list[dict[str, Any]]) -> list[Path]:
    assert _worker_page is not None, "worker started without _start_worker"
    return [_worker_page.write(record) for record in records]


def _chunks(records: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while chunk := list(islice(records, size)):
        yield chunk


def _feeding(records: Iterable[dict[str, Any]], summary: OrganisationSummary) -> Iterator[dict[str, Any]]:
    """Pass the records on, counting each into the organisation summary as it goes by."""
    for record in records:
        summary.add(record)
        yield record


def render_individuals(records: Iterator[dict[str, Any]], meta: dict[str, Any], lang: Lang, out_dir: Path, workers: int) -> list[Path]:
    """Write every record's page, in record order, with ``workers`` processes (1 = in this process)."""
    if workers == 1:
        page = IndividualPage(meta, lang, out_dir)
        return [page.write(record) for record in records]
    written: list[Path] = []
    pending: deque[Future[list[Path]]] = deque()
    with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(meta, lang, out_dir)) as pool:
        for chunk in _chunks(records, CHUNK):
            pending.append(pool.submit(_render_chunk, chunk))
            if len(pending) >= PENDING_PER_WORKER * workers:
                written += pending.popleft().result()
        while pending:
            written += pending.popleft().result()
    return written


# ---------------------------------------------------------------------------
# The organisation page
# ---------------------------------------------------------------------------


def organisation_context(summary: OrganisationSummary, meta: Mapping[str, Any], lang: Lang) -> dict[str, Any]:
    """Everything the organisation template shows, taken from the summary and the run's meta."""
    words = Words(lang, meta["scale"]["decimals"])
    competency_names = {c["id"]: choose(c["name"], lang) for c in meta["competencies"]}
    group_names = {g["id"]: choose(g["label"], lang) for g in meta["rater_groups"]} | {ALL_OTHERS: words("all_others")}
    primary = next((c["name"] for c in meta.get("classifications", []) if c["primary"]), None)
    units = summary.unit_names()
    return {
        "meta": meta,
        "summary": summary,
        "unit_label": {name: name or words("no_unit") for name in units},
        "primary_title": classification_titles(meta, lang)[primary] if primary else words("category"),
        "distribution": _distribution(summary, units, meta, words),
        "heatmap": _heatmap(summary, units, competency_names),
        "nine_box": _nine_box(summary, words) if summary.has_nine_box else None,
        "other_classifications": _other_classifications(summary, meta, words),
        "needs": [{"name": competency_names[n.competency], "people": n.people, "mean_gap": n.mean_gap} for n in summary.training_needs()],
        "needs_max": max((n.people for n in summary.training_needs()), default=0),
        "programmes": [
            {
                "name": words.label(p.name),
                "form": words.label(p.form_label),
                "provider": words.label(p.provider),
                "people": p.people,
                "hours": p.hours,
                "serves": ", ".join(competency_names[c] for c, _ in p.competencies.most_common()),
            }
            for p in summary.programme_needs()
        ],
        "self_other": [
            {"label": choose(CATEGORY_WORDS[code], lang), "count": summary.self_other.get(code, 0)}
            for code in CATEGORY_WORDS
        ],
        "reliability": _reliability(meta.get("reliability") or {}, meta, group_names, words),
        "queue": [
            {
                "rule": f.rule,
                "audience": words(f"audience_{f.audience}"),
                "severity": words(f"severity_{f.severity}"),
                "severity_code": f.severity,
                "subject": words(f"subject_{f.subject}"),
                "count": f.count,
            }
            for f in summary.hr_queue()
        ],
    }


def _distribution(summary: OrganisationSummary, units: list[str], meta: Mapping[str, Any], words: Words) -> dict[str, Any]:
    codes = summary.category_codes
    colours = dict(zip(codes, ordinal_colours(len(codes)))) | {"": NO_CATEGORY_COLOUR}
    columns = [{"code": code, "label": words.label(meta["categories"][code]), "colour": colours[code]} for code in codes]
    if summary.categories.get(""):
        columns.append({"code": "", "label": words("not_classified"), "colour": NO_CATEGORY_COLOUR})

    def row(counts: Mapping[str, int], total: int) -> dict[str, Any]:
        segments, start = [], 0.0
        for column in columns:
            length = BAR_LENGTH * counts.get(column["code"], 0) / total if total else 0.0
            segments.append({"x": round(start, 2), "length": round(length, 2), "colour": column["colour"]})
            start += length
        return {"counts": [counts.get(c["code"], 0) for c in columns], "employees": total, "segments": segments}

    return {
        "columns": columns,
        "rows": [{"unit": unit, **row(summary.units[unit].categories, summary.units[unit].employees)} for unit in units],
        "total": row(summary.categories, summary.employees),
    }


def _heatmap(summary: OrganisationSummary, units: list[str], competency_names: Mapping[str, str]) -> dict[str, Any]:
    """Unit × competency cells coloured from the lowest to the highest mean shown, so differences stand out.

    Means cluster within a point or so of each other, so a ramp over the whole
    scale would paint every cell alike; the legend gives the values instead.
    """
    means = {unit: summary.units[unit].competency_means(summary.min_cell) for unit in units}
    shown = [m for row in means.values() for m in row if m is not None]
    low, high = (min(shown), max(shown)) if shown else (0.0, 1.0)
    spread = high - low or 1.0
    rows = []
    for unit in units:
        counts = summary.units[unit].score_count.tolist()
        cells = []
        for mean, count in zip(means[unit], counts):
            share = 0.0 if mean is None else (mean - low) / spread
            cells.append({**_heat_cell(mean, share), "n": int(count)})
        rows.append({"unit": unit, "cells": cells})
    steps = [low + spread * k / 4 for k in range(5)] if shown else []
    return {
        "competencies": [competency_names[c] for c in summary.competency_ids],
        "rows": rows,
        "legend": [_heat_cell(value, (value - low) / spread) for value in steps],
    }


def _heat_cell(value: float | None, share: float) -> dict[str, Any]:
    colour = heat_colour(share)
    return {"value": value, "colour": colour, "dark": needs_light_text(colour)}


def _nine_box(summary: OrganisationSummary, words: Words) -> dict[str, Any]:
    counts = summary.nine_box()
    placed = sum(counts.values())
    grid = nine_box_grid(words, {box: str(count) for box, count in counts.items()})
    return {**grid, "unplaced": summary.employees - placed, "counts": counts}


def _other_classifications(summary: OrganisationSummary, meta: Mapping[str, Any], words: Words) -> list[dict[str, Any]]:
    labels = {entry["name"]: entry["labels"] for entry in meta.get("classifications", [])}
    titles = classification_titles(meta, words.lang)
    tables = []
    for name, counter in summary.other_classifications.items():
        if name == NINE_BOX:
            continue
        rows = [{"label": words.label(label), "count": counter.get(code, 0)} for code, label in labels.get(name, {}).items()]
        if counter.get(""):
            rows.append({"label": words("not_classified"), "count": counter[""]})
        tables.append({"title": titles.get(name, name), "rows": rows})
    return tables


def _reliability(report: Mapping[str, Any], meta: Mapping[str, Any], group_names: Mapping[str, str], words: Words) -> dict[str, Any] | None:
    """The reliability tables (by group, by cluster) and the plain sentences, from ``meta["reliability"]``."""
    if not report:
        return None
    cluster_names = {c["id"]: choose(c["name"], words.lang) for c in meta["clusters"]} | {"overall": words("overall_cluster")}
    by_group = [
        {"name": group_names.get(group, group), **stats["overall"]}
        for group, stats in report.items()
        if stats.get("overall", {}).get("n_ratees")
    ]
    everyone = report.get(ALL_OTHERS, {})
    by_cluster = [{"name": cluster_names.get(cluster, cluster), **stats} for cluster, stats in everyone.items() if cluster != "overall"]
    overall = everyone.get("overall") or {}
    sentences = []
    if overall.get("icc1") is not None:
        sentences.append(
            words(
                "reliability_sentence",
                icc1=words.number(overall["icc1"], 2),
                k=words.number(overall["n_raters_mean"], 1),
                icck=words.number(overall["icck"], 2),
                n70="–" if overall["raters_for_0_70"] is None else overall["raters_for_0_70"],
                n80="–" if overall["raters_for_0_80"] is None else overall["raters_for_0_80"],
            )
        )
    alpha = overall.get("alpha_interval")
    if alpha is not None:
        key = "alpha_reliable" if alpha >= ALPHA_RELIABLE else "alpha_tentative" if alpha >= ALPHA_TENTATIVE else "alpha_low"
        sentences.append(words(key, alpha=words.number(alpha, 2)))
    return {"by_group": by_group, "by_cluster": by_cluster, "sentences": sentences}


# ---------------------------------------------------------------------------
# The output format
# ---------------------------------------------------------------------------


class HtmlReports(OutputFormat):
    """``individual/<employee>.html`` per employee and ``organisation.html``: printable, self-contained pages."""

    name = "html"
    summary = "individual 360 reports (individual/<employee>.html) and the organisation summary (organisation.html)"
    Options = HtmlOptions

    def write(self, run: RunView, out_dir: Path, lang: Lang, options: HtmlOptions) -> list[Path]:  # type: ignore[override]
        meta = run.meta
        summary = OrganisationSummary(meta, options.min_cell)
        (out_dir / INDIVIDUAL_DIR).mkdir(parents=True, exist_ok=True)
        records = _feeding(run.employees(), summary)
        # Look ahead far enough to know whether the run is small, without holding more than that.
        head = list(islice(records, SMALL_RUN))
        workers = options.workers or (1 if len(head) < SMALL_RUN else os.cpu_count() or 1)
        written = render_individuals(chain(head, records), meta, lang, out_dir, workers)
        summary.add_flags(run.flags())
        organisation = out_dir / ORGANISATION_FILE
        template = build_environment(lang, meta["scale"]["decimals"]).get_template("organisation.html")
        organisation.write_text(template.render(organisation_context(summary, meta, lang)), encoding="utf-8")
        return written + [organisation]


@hookimpl
def register_output_formats(register):
    register(HtmlReports())
