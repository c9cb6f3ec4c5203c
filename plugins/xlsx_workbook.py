"""``appraisal.xlsx``, the workbook HR works in (the ``xlsx`` output format's writer).

Sheets, titled in the report language: results (one row per employee),
competencies (employee × competency), development plans (employee × action),
training needs by competency, by programme and by unit (from
:class:`~appraisal.reporting.OrganisationSummary`, so they agree with the HTML
organisation page), the HR queue (every flag, HR-only ones included) and
about (run facts and how to read the workbook).

The workbook is streamed (openpyxl's write-only mode): employee records are
read once, rows leave memory as they are written, and a table longer than a
sheet can hold continues on a further sheet, e.g. ``Kompetensi (2)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from appraisal.components import Flag, RunView
from appraisal.explain import CATEGORY_WORDS as SELF_OTHER_WORDS
from appraisal.i18n import Lang, choose
from appraisal.reporting import CompetencyNeed, OrganisationSummary, ProgrammeNeed, UnitSummary, classification_titles

EXCEL_MAX_TEXT = 32_767

# Formula injection (OWASP "CSV injection", CWE-1236).  Names, units, ids and
# messages come from rosters and ratings anyone may have typed into.  A text
# beginning with one of these characters is a formula to a spreadsheet: "="
# always, "+", "-" and "@" when typed, tab and carriage return before one of
# them.  OWASP's advice for CSV is a leading apostrophe, but in XLSX an
# apostrophe would become part of the stored text.  The XLSX way is what Excel
# itself does when a user types a leading apostrophe: the cell is stored as a
# string (openpyxl would otherwise store "=..." as a formula and "#N/A" as an
# error) and its style carries ``quotePrefix``, so the text is shown as typed,
# is never evaluated on opening, and stays text when someone edits the cell
# and presses Enter.  The stored value is the original text, unchanged.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# XML cannot hold most control characters at all (openpyxl raises
# IllegalCharacterError); one in a roster name must not lose HR the workbook.
REPLACEMENT_CHARACTER = "\ufffd"

RELIABILITY_FORMAT = "0.00"
SHARE_FORMAT = "0.0%"
HEADER_FONT = Font(bold=True)
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")

T = TypeVar("T")

SHEET_TITLES: dict[str, dict[str, str]] = {
    "results": {"id": "Hasil", "en": "Results"},
    "competencies": {"id": "Kompetensi", "en": "Competencies"},
    "plans": {"id": "Rencana Pengembangan", "en": "Development plans"},
    "training": {"id": "Kebutuhan Pelatihan", "en": "Training needs"},
    "programmes": {"id": "Kebutuhan Program", "en": "Programme needs"},
    "unit_gaps": {"id": "Kesenjangan per Unit", "en": "Gaps by unit"},
    "hr_queue": {"id": "Antrean HR", "en": "HR queue"},
    "about": {"id": "Tentang", "en": "About"},
}

WORDS: dict[str, dict[str, str]] = {
    "employee_id": {"id": "ID pegawai (NIP)", "en": "Employee ID"},
    "name": {"id": "Nama", "en": "Name"},
    "unit": {"id": "Unit kerja", "en": "Unit"},
    "position": {"id": "Jabatan", "en": "Position"},
    "profile": {"id": "Profil jabatan", "en": "Position profile"},
    "status": {"id": "Status", "en": "Status"},
    "overall": {"id": "Skor keseluruhan", "en": "Overall score"},
    "low": {"id": "Batas bawah", "en": "Interval low"},
    "high": {"id": "Batas atas", "en": "Interval high"},
    "se": {"id": "Galat baku", "en": "Standard error"},
    "reliability": {"id": "Reliabilitas", "en": "Reliability"},
    "category": {"id": "Kategori", "en": "Category"},
    "raters": {"id": "Penilai", "en": "Raters"},
    "ratings": {"id": "Penilaian", "en": "Ratings"},
    "not_observed": {"id": "Tidak teramati", "en": "Not observed"},
    "self_other": {"id": "Penilaian diri vs orang lain", "en": "Self vs others"},
    "learning_hours": {"id": "Jam pelajaran (JP)", "en": "Learning hours (JP)"},
    "meets_minimum": {"id": "Memenuhi JP minimal", "en": "Meets the JP minimum"},
    "competency_id": {"id": "ID kompetensi", "en": "Competency ID"},
    "competency": {"id": "Kompetensi", "en": "Competency"},
    "cluster": {"id": "Klaster", "en": "Cluster"},
    "score": {"id": "Skor", "en": "Score"},
    "self": {"id": "Diri sendiri", "en": "Self"},
    "self_minus_others": {"id": "Diri − orang lain", "en": "Self − others"},
    "required": {"id": "Level dipersyaratkan", "en": "Required level"},
    "achieved": {"id": "Level dicapai", "en": "Achieved level"},
    "gap": {"id": "Kesenjangan", "en": "Gap"},
    "group_mean": {"id": "Rata-rata {group}", "en": "{group} mean"},
    "hidden_groups": {"id": "Disembunyikan (kerahasiaan penilai)", "en": "Hidden for rater anonymity"},
    "priority": {"id": "Prioritas", "en": "Priority"},
    "programme_id": {"id": "ID program", "en": "Programme ID"},
    "programme": {"id": "Program", "en": "Programme"},
    "form": {"id": "Bentuk", "en": "Form"},
    "hours": {"id": "JP", "en": "Hours (JP)"},
    "provider": {"id": "Penyelenggara", "en": "Provider"},
    "general_development": {"id": "Pengembangan umum (JP minimal)", "en": "General development (JP minimum)"},
    "people_with_gap": {"id": "Pegawai dengan kesenjangan", "en": "People with a gap"},
    "mean_gap": {"id": "Rata-rata kesenjangan", "en": "Mean gap"},
    "people": {"id": "Pegawai", "en": "People"},
    "hours_total": {"id": "Total JP", "en": "Total hours (JP)"},
    "serves": {"id": "Untuk kompetensi (jumlah)", "en": "For competencies (count)"},
    "unit_employees": {"id": "Pegawai di unit", "en": "Employees in the unit"},
    "share_with_gap": {"id": "Bagian dengan kesenjangan", "en": "Share with a gap"},
    "rule": {"id": "Aturan", "en": "Rule"},
    "severity": {"id": "Tingkat", "en": "Severity"},
    "audience": {"id": "Untuk", "en": "Audience"},
    "subject": {"id": "Subjek", "en": "Subject"},
    "subject_id": {"id": "ID subjek", "en": "Subject ID"},
    "statistic": {"id": "Statistik", "en": "Statistic"},
    "threshold": {"id": "Ambang", "en": "Threshold"},
    "message": {"id": "Pesan", "en": "Message"},
    "rows": {"id": "Baris data", "en": "Data rows"},
    "item": {"id": "Hal", "en": "Item"},
    "value": {"id": "Isi", "en": "Value"},
    "jpm": {"id": "JPM (%)", "en": "JPM (%)"},
    "box": {"id": "Kotak", "en": "Box"},
}

STATUS_WORDS: dict[str, dict[str, str]] = {
    "ok": {"id": "lengkap", "en": "complete"},
    "incomplete": {"id": "sebagian kompetensi tanpa skor", "en": "some competencies unscored"},
    "insufficient_evidence": {"id": "bukti belum cukup", "en": "insufficient evidence"},
    "no_data": {"id": "tidak ada data", "en": "no data"},
}
SEVERITY_WORDS: dict[str, dict[str, str]] = {
    "info": {"id": "info", "en": "info"},
    "warning": {"id": "peringatan", "en": "warning"},
    "review": {"id": "perlu ditinjau", "en": "review"},
}
AUDIENCE_WORDS: dict[str, dict[str, str]] = {
    "employee": {"id": "pegawai dan HR", "en": "employee and HR"},
    "hr": {"id": "HR saja", "en": "HR only"},
}
SUBJECT_WORDS: dict[str, dict[str, str]] = {
    "employee": {"id": "pegawai", "en": "employee"},
    "rater": {"id": "penilai", "en": "rater"},
    "pair": {"id": "pasangan penilai", "en": "rater pair"},
    "unit": {"id": "unit", "en": "unit"},
}

ABOUT_WORDS: dict[str, dict[str, str]] = {
    "rubric": {"id": "Rubrik", "en": "Rubric"},
    "rubric_name": {"id": "Nama rubrik", "en": "Rubric name"},
    "rubric_version": {"id": "Versi rubrik", "en": "Rubric version"},
    "rubric_source": {"id": "Berkas rubrik", "en": "Rubric file"},
    "rubric_sha256": {"id": "SHA-256 rubrik", "en": "Rubric SHA-256"},
    "engine": {"id": "Mesin", "en": "Engine"},
    "language": {"id": "Bahasa buku kerja", "en": "Workbook language"},
    "rubric_language": {"id": "Bahasa rubrik", "en": "Rubric language"},
    "scale": {"id": "Skala", "en": "Scale"},
    "scale_value": {"id": "{min}–{max}, ditampilkan dengan {decimals} desimal", "en": "{min}–{max}, shown with {decimals} decimals"},
    "employees": {"id": "Jumlah pegawai", "en": "Employees"},
    "step": {"id": "Langkah: {step}", "en": "Step: {step}"},
    "built_in": {"id": "bawaan mesin", "en": "built into the engine"},
    "flags": {"id": "Tanda: {rule} ({subject}; {severity}; {audience})", "en": "Flags: {rule} ({subject}; {severity}; {audience})"},
    "how_to_read": {"id": "Cara membaca", "en": "How to read"},
}

HOW_TO_READ: tuple[dict[str, str], ...] = (
    {
        "id": "Buku kerja ini memuat nama dan skor perorangan serta temuan khusus HR: RAHASIA, untuk BKPSDM saja.",
        "en": "This workbook holds individual names and scores and HR-only findings: CONFIDENTIAL, for HR only.",
    },
    {
        "id": "Hasil: satu baris per pegawai. Skor dibulatkan ke {decimals} desimal seperti yang dilihat pegawai; "
        "batas bawah dan atas adalah rentang ketidakpastian skor; status 'bukti belum cukup' berarti skor "
        "jangan dipakai sendirian untuk keputusan.",
        "en": "Results: one row per employee. Scores are rounded to {decimals} decimals as employees see them; "
        "the interval low and high bound the score's uncertainty; status 'insufficient evidence' means the score "
        "must not decide anything on its own.",
    },
    {
        "id": "Kompetensi: satu baris per pegawai × kompetensi. Rata-rata sebuah kelompok penilai kosong bila kelompok "
        "itu tidak menilai atau disembunyikan karena penilainya terlalu sedikit (kerahasiaan penilai); kolom "
        "'Disembunyikan' menyebut kelompok yang disembunyikan. Level dipersyaratkan dan kesenjangan diisi untuk "
        "kompetensi yang masuk rencana pengembangan.",
        "en": "Competencies: one row per employee × competency. A rater group's mean is empty when the group gave no "
        "ratings or is hidden because it has too few raters (rater anonymity); the 'Hidden' column names the hidden "
        "groups. Required level and gap are filled for the competencies in the development plan.",
    },
    {
        "id": "Rencana Pengembangan: satu baris per pegawai × program; JP = jam pelajaran. Kebutuhan pelatihan, program "
        "dan kesenjangan per unit dijumlahkan dari rencana itu, sama dengan halaman organisasi laporan HTML.",
        "en": "Development plans: one row per employee × programme; JP = learning hours. Training needs, programme "
        "needs and gaps by unit add up those plans, as the HTML organisation page does.",
    },
    {
        "id": "Antrean HR: semua tanda, termasuk yang khusus HR (mis. yang menyebut penilai): jangan dibagikan kepada pegawai.",
        "en": "HR queue: every flag, HR-only ones included (e.g. those naming raters): do not share it with employees.",
    },
    {
        "id": "Gunakan tombol filter di baris judul. Tabel yang lebih panjang dari satu lembar berlanjut di lembar "
        "bernama sama dengan akhiran (2), (3), …. Teks yang diawali =, +, -, @ disimpan sebagai teks biasa, "
        "tidak pernah sebagai rumus.",
        "en": "Use the filter buttons in the header row. A table longer than one sheet continues on a sheet of the "
        "same name ending in (2), (3), …. Text beginning with =, +, -, @ is stored as plain text, never as a formula.",
    },
)


# Numbers some classifiers put in their details that HR sorts and filters by:
# classifier name (see appraisal_plugins.asn) -> (detail key, header word).
# Other classifiers get their label column only.
CLASSIFICATION_FIGURES: dict[str, tuple[str, str]] = {
    "jpm": ("jpm", "jpm"),
    "nine-box": ("box", "box"),
}


def _word(table: Mapping[str, Mapping[str, str]], code: str, lang: Lang) -> str:
    """The word for ``code`` in ``lang``; the code itself when the table does not know it."""
    return choose(table.get(code), lang) or code


def _clean(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT_CHARACTER, text)[:EXCEL_MAX_TEXT]


def text_cell(sheet: Any, text: str, header: bool = False) -> str | Cell:
    """``text`` as a cell Excel shows as text and never evaluates (see FORMULA_TRIGGERS).

    Plain text stays a plain ``str`` (fast to stream); only texts a
    spreadsheet would read as a formula or an error, and header cells, become
    styled cells.
    """
    text = _clean(text)
    risky = text.startswith(FORMULA_TRIGGERS) or text in ERROR_CODES
    if not (risky or header):
        return text
    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"
    if risky:
        cell.quotePrefix = True
    if header:
        cell.font = HEADER_FONT
        cell.alignment = HEADER_ALIGNMENT
    return cell


@dataclass(frozen=True)
class Field(Generic[T]):
    """A column of a table: its header, how to get its value from a row's item, its width and number format.

    ``number_format`` applies to numbers only; ``None`` leaves values as they
    come (text, whole numbers, yes/no).
    """

    header: str
    value: Callable[[T], Any]
    width: float = 12.0
    number_format: str | None = None


class SheetTable(Generic[T]):
    """A table streamed into a sheet: bold header row frozen with the key columns, autofilter, set widths.

    A table longer than ``rows_per_sheet`` (header included) continues on a
    new sheet right after it, titled ``<title> (2)``, ``(3)``, …, with the
    header repeated: no row is dropped and no sheet exceeds Excel's limit.
    In write-only mode widths and frozen panes must be set before the first
    row, so widths come from the fields, not from the data.
    """

    def __init__(self, book: Workbook, title: str, fields: Sequence[Field[T]], rows_per_sheet: int, key_columns: int = 0) -> None:
        self.book = book
        self.title = title
        self.fields = list(fields)
        self.rows_per_sheet = rows_per_sheet
        self.key_columns = key_columns
        self.sheets: list[Any] = []
        self._rows = 0
        self._cells = [self._number_cell(f.number_format) if f.number_format else self._plain_cell for f in self.fields]
        self._open_sheet()

    @property
    def sheet(self) -> Any:
        return self.sheets[-1]

    def append(self, item: T) -> None:
        if self._rows == self.rows_per_sheet:
            self._finish_sheet()
            self._open_sheet()
        self.sheet.append([cell(field.value(item)) for cell, field in zip(self._cells, self.fields)])
        self._rows += 1

    def extend(self, items: Iterable[T]) -> None:
        for item in items:
            self.append(item)

    def close(self) -> None:
        """Set the last sheet's autofilter (the others got theirs when they filled up)."""
        self._finish_sheet()

    def _open_sheet(self) -> None:
        if self.sheets:
            title = f"{self.title} ({len(self.sheets) + 1})"
            sheet = self.book.create_sheet(title, self.book.index(self.sheet) + 1)
        else:
            sheet = self.book.create_sheet(self.title)
        for column, field in enumerate(self.fields, 1):
            sheet.column_dimensions[get_column_letter(column)].width = field.width
        sheet.freeze_panes = f"{get_column_letter(self.key_columns + 1)}2"
        sheet.append([text_cell(sheet, field.header, header=True) for field in self.fields])
        self.sheets.append(sheet)
        self._rows = 1

    def _finish_sheet(self) -> None:
        self.sheet.auto_filter.ref = f"A1:{get_column_letter(len(self.fields))}{self._rows}"

    def _plain_cell(self, value: Any) -> Any:
        if isinstance(value, str):
            return text_cell(self.sheet, value) if value else None
        if isinstance(value, float) and not math.isfinite(value):
            return None  # XLSX has no NaN or infinity: openpyxl would write a file Excel must repair
        return value

    def _number_cell(self, number_format: str) -> Callable[[Any], Any]:
        def cell(value: Any) -> Any:
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                return self._plain_cell(value)
            styled = WriteOnlyCell(self.sheet, value)
            styled.number_format = number_format
            return styled

        return cell


class CompetencyLine(NamedTuple):
    record: dict[str, Any]
    competency: dict[str, Any]
    plan: dict[str, Any] | None
    groups: dict[str, dict[str, Any]]


class PlanLine(NamedTuple):
    record: dict[str, Any]
    entry: dict[str, Any]
    action: dict[str, Any] | None


class UnitGap(NamedTuple):
    unit: UnitSummary
    competency: str


class Vocabulary:
    """Everything a sheet says, in the report language: headers, codes as words, names from the run's meta."""

    def __init__(self, meta: dict[str, Any], lang: Lang) -> None:
        self.meta = meta
        self.lang = lang
        self.decimals: int = meta["scale"]["decimals"]
        self.decimal_format = _decimal_format(self.decimals)
        # The uncertainty of a number shown with d decimals needs one more to say anything.
        self.se_format = _decimal_format(self.decimals + 1)
        self.competency_names = {c["id"]: choose(c["name"], lang) for c in meta["competencies"]}
        self.cluster_names = {c["id"]: choose(c["name"], lang) for c in meta["clusters"]}
        self.competency_clusters = {c["id"]: self.cluster_names.get(c["cluster"], c["cluster"]) for c in meta["competencies"]}
        self.groups = [(g["id"], choose(g["label"], lang)) for g in meta["rater_groups"]]
        self.group_labels = dict(self.groups)
        self.other_classifications = [entry["name"] for entry in meta.get("classifications", []) if not entry["primary"]]
        self.classification_titles = classification_titles(meta, lang)

    def word(self, key: str, **values: Any) -> str:
        return WORDS[key][self.lang].format(**values)

    def label(self, text: Mapping[str, str] | None) -> str:
        return choose(text, self.lang)

    def category(self, category: Mapping[str, Any] | None) -> str:
        return self.label(category["label"]) if category else ""

    def competency(self, competency_id: str) -> str:
        return self.competency_names.get(competency_id, competency_id) if competency_id else self.word("general_development")

    def title(self, key: str) -> str:
        return SHEET_TITLES[key][self.lang]


def _decimal_format(decimals: int) -> str:
    return "0." + "0" * decimals if decimals else "0"


def _interval_bound(interval: Sequence[float] | None, end: int) -> float | None:
    return None if interval is None else interval[end]


def _learning_hours(record: dict[str, Any]) -> dict[str, Any]:
    return (record.get("development") or {}).get("learning_hours") or {}


def result_fields(v: Vocabulary) -> list[Field[dict[str, Any]]]:
    """Results: one row per employee record."""
    w, decimal = v.word, v.decimal_format
    fields: list[Field[dict[str, Any]]] = [
        Field(w("employee_id"), itemgetter("employee_id"), 22),
        Field(w("name"), itemgetter("name"), 28),
        Field(w("unit"), itemgetter("unit"), 26),
        Field(w("position"), itemgetter("position"), 26),
        Field(w("profile"), itemgetter("profile"), 16),
        Field(w("status"), lambda r: _word(STATUS_WORDS, r["status"], v.lang), 18),
        Field(w("overall"), itemgetter("overall_shown"), 11, decimal),
        Field(w("low"), lambda r: _interval_bound(r["overall_interval"], 0), 11, decimal),
        Field(w("high"), lambda r: _interval_bound(r["overall_interval"], 1), 11, decimal),
        Field(w("se"), itemgetter("overall_se"), 11, v.se_format),
        Field(w("reliability"), itemgetter("reliability"), 11, RELIABILITY_FORMAT),
        Field(w("category"), lambda r: v.category(r["category"]), 20),
    ]
    for name in v.other_classifications:
        title = v.classification_titles.get(name, name)
        fields.append(Field(title, lambda r, name=name: v.category(r["classifications"].get(name)), 22))
        if name in CLASSIFICATION_FIGURES:
            detail, word = CLASSIFICATION_FIGURES[name]
            fields.append(
                Field(
                    f"{title}: {w(word)}",
                    lambda r, name=name, detail=detail: ((r["classifications"].get(name) or {}).get("details") or {}).get(detail),
                    11,
                )
            )
    fields += [
        Field(w("raters"), lambda r: r["counts"]["raters"], 9),
        Field(w("ratings"), lambda r: r["counts"]["ratings"], 10),
        Field(w("not_observed"), lambda r: r["counts"]["not_observed"], 10),
        Field(
            w("self_other"),
            lambda r: _word(SELF_OTHER_WORDS, ((r.get("development") or {}).get("self_other") or {}).get("category", ""), v.lang),
            22,
        ),
        Field(w("learning_hours"), lambda r: _learning_hours(r).get("total"), 11),
        Field(w("meets_minimum"), lambda r: _learning_hours(r).get("meets_minimum"), 11),
    ]
    return fields


def _employee_fields(v: Vocabulary, record: Callable[[Any], dict[str, Any]]) -> list[Field[Any]]:
    """The columns that say whose row it is, on the long sheets."""
    return [
        Field(v.word("employee_id"), lambda item: record(item)["employee_id"], 22),
        Field(v.word("name"), lambda item: record(item)["name"], 26),
        Field(v.word("unit"), lambda item: record(item)["unit"], 24),
    ]


def _competency_fields(v: Vocabulary, competency_id: Callable[[Any], str]) -> list[Field[Any]]:
    return [
        Field(v.word("competency_id"), competency_id, 20),
        Field(v.word("competency"), lambda item: v.competency(competency_id(item)), 26),
        Field(v.word("cluster"), lambda item: v.competency_clusters.get(competency_id(item), ""), 22),
    ]


def _plan_value(key: str) -> Callable[[CompetencyLine], Any]:
    return lambda line: None if line.plan is None else line.plan[key]


def _group_mean(group_id: str) -> Callable[[CompetencyLine], Any]:
    # A hidden group is {"group": id, "shown": false} and nothing more: its cell stays empty.
    return lambda line: line.groups[group_id].get("mean") if group_id in line.groups else None


def competency_fields(v: Vocabulary) -> list[Field[CompetencyLine]]:
    """Competencies: one row per employee × competency, with each rater group's mean where shown."""
    w, decimal = v.word, v.decimal_format
    fields: list[Field[CompetencyLine]] = [
        *_employee_fields(v, lambda line: line.record),
        *_competency_fields(v, lambda line: line.competency["id"]),
        Field(w("score"), lambda line: line.competency["score_shown"], 9, decimal),
        Field(w("se"), lambda line: line.competency["se"], 10, v.se_format),
        Field(w("low"), lambda line: _interval_bound(line.competency["interval"], 0), 10, decimal),
        Field(w("high"), lambda line: _interval_bound(line.competency["interval"], 1), 10, decimal),
        Field(w("self"), lambda line: line.competency["self"], 10, decimal),
        Field(w("self_minus_others"), lambda line: line.competency["self_minus_others"], 12, decimal),
        Field(w("required"), _plan_value("required"), 12, decimal),
        Field(w("gap"), _plan_value("gap"), 11, decimal),
    ]
    fields += [Field(w("group_mean", group=label), _group_mean(group_id), 12, decimal) for group_id, label in v.groups]
    fields.append(
        Field(
            w("hidden_groups"),
            lambda line: ", ".join(v.group_labels.get(g["group"], g["group"]) for g in line.competency["groups"] if not g["shown"]),
            22,
        )
    )
    return fields


def competency_lines(record: dict[str, Any]) -> Iterable[CompetencyLine]:
    plans = {entry["competency"]: entry for entry in record["development_plan"] if entry["competency"]}
    for competency in record["competencies"]:
        groups = {group["group"]: group for group in competency["groups"] if group["shown"]}
        yield CompetencyLine(record, competency, plans.get(competency["id"]), groups)


def plan_fields(v: Vocabulary) -> list[Field[PlanLine]]:
    """Development plans: one row per employee × action (an entry no programme fits gets one row without)."""
    w, decimal = v.word, v.decimal_format

    def action(key: str, label: bool = False) -> Callable[[PlanLine], Any]:
        if label:
            return lambda line: None if line.action is None else v.label(line.action.get(key))
        return lambda line: None if line.action is None else line.action.get(key)

    return [
        *_employee_fields(v, lambda line: line.record),
        *_competency_fields(v, lambda line: line.entry["competency"]),
        Field(w("required"), lambda line: line.entry["required"], 12, decimal),
        Field(w("achieved"), lambda line: line.entry["achieved"], 12, decimal),
        Field(w("gap"), lambda line: line.entry["gap"], 11, decimal),
        Field(w("priority"), lambda line: line.entry["priority"], 10, decimal),
        Field(w("programme_id"), action("programme"), 22),
        Field(w("programme"), action("name", label=True), 36),
        Field(w("form"), action("form_label", label=True), 20),
        Field(w("hours"), action("hours"), 8),
        Field(w("provider"), action("provider", label=True), 28),
    ]


def plan_lines(record: dict[str, Any]) -> Iterable[PlanLine]:
    for entry in record["development_plan"]:
        for action in entry["actions"] or [None]:
            yield PlanLine(record, entry, action)


def training_fields(v: Vocabulary) -> list[Field[CompetencyNeed]]:
    return [
        *_competency_fields(v, lambda need: need.competency),
        Field(v.word("people_with_gap"), lambda need: need.people, 14),
        Field(v.word("mean_gap"), lambda need: need.mean_gap, 14, v.decimal_format),
    ]


def programme_fields(v: Vocabulary) -> list[Field[ProgrammeNeed]]:
    return [
        Field(v.word("programme_id"), lambda p: p.programme, 22),
        Field(v.word("programme"), lambda p: v.label(p.name), 40),
        Field(v.word("form"), lambda p: v.label(p.form_label), 20),
        Field(v.word("provider"), lambda p: v.label(p.provider), 28),
        Field(v.word("people"), lambda p: p.people, 10),
        Field(v.word("hours_total"), lambda p: p.hours, 12),
        Field(
            v.word("serves"),
            lambda p: ", ".join(f"{v.competency(c)} ({n})" for c, n in p.competencies.most_common()),
            48,
        ),
    ]


def unit_gap_fields(v: Vocabulary) -> list[Field[UnitGap]]:
    return [
        Field(v.word("unit"), lambda row: row.unit.name, 28),
        Field(v.word("unit_employees"), lambda row: row.unit.employees, 12),
        *_competency_fields(v, lambda row: row.competency),
        Field(v.word("people_with_gap"), lambda row: row.unit.people_with_gap[row.competency], 14),
        Field(
            v.word("share_with_gap"),
            lambda row: row.unit.people_with_gap[row.competency] / row.unit.employees,
            12,
            SHARE_FORMAT,
        ),
    ]


def flag_fields(v: Vocabulary) -> list[Field[Flag]]:
    """HR queue: every flag, HR-only ones included."""
    w, lang = v.word, v.lang
    return [
        Field(w("rule"), lambda f: f.rule, 20),
        Field(w("severity"), lambda f: _word(SEVERITY_WORDS, f.severity, lang), 14),
        Field(w("audience"), lambda f: _word(AUDIENCE_WORDS, f.audience, lang), 14),
        Field(w("subject"), lambda f: _word(SUBJECT_WORDS, f.subject, lang), 12),
        Field(w("subject_id"), lambda f: f.subject_id, 22),
        Field(w("competency"), lambda f: v.competency(f.competency) if f.competency else None, 22),
        Field(w("statistic"), lambda f: f.statistic, 11),
        Field(w("threshold"), lambda f: f.threshold, 11),
        Field(w("message"), lambda f: choose(dict(f.message), lang), 90),
        Field(w("rows"), lambda f: " ".join(str(row) for row in f.rows), 20),
    ]


def about_rows(v: Vocabulary, summary: OrganisationSummary) -> list[tuple[str, Any]]:
    """Run facts from the meta, flag counts, and how to read the workbook."""
    meta, lang = v.meta, v.lang

    def say(key: str, **values: Any) -> str:
        return ABOUT_WORDS[key][lang].format(**values)

    rubric, scale = meta["rubric"], meta["scale"]
    rows: list[tuple[str, Any]] = [
        (say("rubric"), rubric["id"]),
        (say("rubric_name"), v.label(rubric["name"])),
        (say("rubric_version"), rubric["version"]),
        (say("rubric_source"), rubric.get("source")),
        (say("rubric_sha256"), rubric.get("sha256")),
        (say("engine"), f"{meta['engine']['name']} {meta['engine']['version']}"),
        (say("language"), lang),
        (say("rubric_language"), meta.get("language")),
        (say("scale"), say("scale_value", **scale)),
        (say("employees"), summary.employees),
    ]
    for step in meta["steps"]:
        component = step.get("component")
        rows.append((say("step", step=step["step"]), f"{component} ({step['plugin']})" if component else say("built_in")))
    for count in summary.hr_queue():
        words = {
            "subject": _word(SUBJECT_WORDS, count.subject, lang),
            "severity": _word(SEVERITY_WORDS, count.severity, lang),
            "audience": _word(AUDIENCE_WORDS, count.audience, lang),
        }
        rows.append((say("flags", rule=count.rule, **words), count.count))
    rows += [(say("how_to_read"), note[lang].format(decimals=v.decimals)) for note in HOW_TO_READ]
    return rows


def about_fields(v: Vocabulary) -> list[Field[tuple[str, Any]]]:
    return [Field(v.word("item"), itemgetter(0), 36), Field(v.word("value"), itemgetter(1), 110)]


def write_workbook(run: RunView, path: Path, lang: Lang, rows_per_sheet: int) -> None:
    """Stream ``run`` into the workbook at ``path``, in one pass over the employee records."""
    v = Vocabulary(run.meta, lang)
    book = Workbook(write_only=True)

    def table(key: str, fields: Sequence[Field[Any]], key_columns: int = 0) -> SheetTable[Any]:
        return SheetTable(book, v.title(key), fields, rows_per_sheet, key_columns)

    # Sheets exist in order up front; a long table's continuation sheets are inserted after it.
    results = table("results", result_fields(v), key_columns=2)
    competencies = table("competencies", competency_fields(v), key_columns=2)
    plans = table("plans", plan_fields(v), key_columns=2)
    training = table("training", training_fields(v))
    programmes = table("programmes", programme_fields(v))
    unit_gaps = table("unit_gaps", unit_gap_fields(v), key_columns=1)
    queue = table("hr_queue", flag_fields(v))
    about = table("about", about_fields(v))

    summary = OrganisationSummary(run.meta)
    for record in run.employees():
        summary.add(record)
        results.append(record)
        competencies.extend(competency_lines(record))
        plans.extend(plan_lines(record))
    training.extend(summary.training_needs())
    programmes.extend(summary.programme_needs())
    unit_gaps.extend(
        UnitGap(summary.units[name], competency) for name in summary.unit_names() for competency in summary.competency_ids
    )
    for flag in run.flags():
        queue.append(flag)
        summary.add_flags((flag,))
    about.extend(about_rows(v, summary))

    for finished in (results, competencies, plans, training, programmes, unit_gaps, queue, about):
        finished.close()
    book.save(path)
