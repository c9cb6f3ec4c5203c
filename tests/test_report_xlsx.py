"""The HR workbook (appraisal.xlsx): sheets in both languages, values equal to the run, formula injection, long tables, CLI."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from appraisal.components import RunView
from appraisal.i18n import choose
from appraisal.reporting import summarise
from appraisal.results import StoredRun, flag_to_dict
from appraisal.testing import make_host
from appraisal_cli.cli import AppContext, cli
from appraisal_plugins.report_xlsx import EXCEL_MAX_ROWS, XlsxOptions, XlsxWorkbook
from appraisal_plugins.writers import CsvResults
from appraisal_plugins.xlsx_workbook import Field, SheetTable

SHEETS = {
    "id": ["Hasil", "Kompetensi", "Rencana Pengembangan", "Kebutuhan Pelatihan", "Kebutuhan Program", "Kesenjangan per Unit", "Antrean HR", "Tentang"],
    "en": ["Results", "Competencies", "Development plans", "Training needs", "Programme needs", "Gaps by unit", "HR queue", "About"],
}

# Roster texts a spreadsheet would run as formulas (or read as a number or an error) if written naively.
INJECTED_NAMES = ['=HYPERLINK("http://x","y")', "-2", "@SUM(A1)", "#N/A"]
INJECTED_UNIT = "+1+1"
INJECTED_POSITION = "=1+2"


def invoke(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args), obj=AppContext(host=make_host()))
    assert result.exit_code == 0, result.output


def write_workbook(run: StoredRun, folder: Path, lang: str, **options: Any) -> openpyxl.Workbook:
    [path] = XlsxWorkbook().write(run, folder, lang, XlsxOptions(**options))
    assert path == folder / "appraisal.xlsx"
    return openpyxl.load_workbook(path)


def table(sheet) -> list[dict[str, Any]]:
    """A sheet's rows as header → value."""
    header, *body = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row)) for row in body]


def column(sheet, header: str) -> list[Any]:
    """The cells (not values) under ``header``."""
    index = [cell.value for cell in sheet[1]].index(header)
    return [row[index] for row in sheet.iter_rows(min_row=2)]


@pytest.fixture(scope="module")
def asn_run(tmp_path_factory) -> Path:
    """The ASN example: 60 employees with predikat, JPM, nine-box, plans, hidden groups and HR flags."""
    folder = tmp_path_factory.mktemp("asn") / "asn"
    invoke("init", "--profile", "asn", str(folder))
    invoke(
        "run",
        "--rubric", str(folder / "rubric.yaml"),
        "--ratings", str(folder / "ratings.csv"),
        "--roster", str(folder / "roster.csv"),
        "--input", f"keputusan-atasan={folder / 'keputusan-atasan.csv'}",
        "--input", f"predikat-unit={folder / 'predikat-unit.csv'}",
        "--out", str(folder / "hasil"),
    )
    return folder / "hasil"


@pytest.fixture(scope="module")
def stored(asn_run) -> StoredRun:
    return StoredRun(asn_run)


@pytest.fixture(scope="module")
def records(stored) -> list[dict[str, Any]]:
    return list(stored.employees())


@pytest.fixture(scope="module")
def books(stored, tmp_path_factory) -> dict[str, openpyxl.Workbook]:
    return {lang: write_workbook(stored, tmp_path_factory.mktemp(f"xlsx-{lang}"), lang) for lang in ("id", "en")}


def test_sheets_are_titled_in_the_report_language(books):
    for lang, titles in SHEETS.items():
        assert books[lang].sheetnames == titles
    assert books["id"]["Hasil"]["A1"].value == "ID pegawai (NIP)"
    assert books["en"]["Results"]["A1"].value == "Employee ID"


RESULT_HEADERS = {
    "id": {"employee": "ID pegawai (NIP)", "overall": "Skor keseluruhan", "category": "Kategori", "box": "Kotak manajemen talenta: Kotak", "jpm": "Job Person Match (JPM): JPM (%)",
           "titles": {"perilaku-360": "Saran perilaku kerja dari 360", "jpm": "Job Person Match (JPM)", "nine-box": "Kotak manajemen talenta"},
           "hours": "Jam pelajaran (JP)", "meets": "Memenuhi JP minimal", "counts": ("Penilai", "Penilaian", "Tidak teramati"),
           "insufficient": "bukti belum cukup"},
    "en": {"employee": "Employee ID", "overall": "Overall score", "category": "Category", "box": "Talent grid box: Box", "jpm": "Job Person Match (JPM): JPM (%)",
           "titles": {"perilaku-360": "Work behaviour suggested by the 360", "jpm": "Job Person Match (JPM)", "nine-box": "Talent grid box"},
           "hours": "Learning hours (JP)", "meets": "Meets the JP minimum", "counts": ("Raters", "Ratings", "Not observed"),
           "insufficient": "insufficient evidence"},
}


@pytest.mark.parametrize("lang", ["id", "en"])
def test_results_equal_the_records(books, records, lang):
    h = RESULT_HEADERS[lang]
    rows = table(books[lang][SHEETS[lang][0]])
    assert len(rows) == len(records) == 60
    for row, record in zip(rows, records, strict=True):
        assert row[h["employee"]] == record["employee_id"]
        assert row[h["overall"]] == record["overall_shown"]
        assert row[h["category"]] == choose(record["category"]["label"], lang)
        for name, title in h["titles"].items():
            assert row[title] == choose(record["classifications"][name]["label"], lang)
        assert row[h["jpm"]] == record["classifications"]["jpm"]["details"]["jpm"]
        assert row[h["box"]] == record["classifications"]["nine-box"]["details"]["box"]
        assert row[h["hours"]] == record["development"]["learning_hours"]["total"]
        assert row[h["meets"]] is record["development"]["learning_hours"]["meets_minimum"]
        assert tuple(row[c] for c in h["counts"]) == (record["counts"]["raters"], record["counts"]["ratings"], record["counts"]["not_observed"])
    assert h["insufficient"] in {row["Status"] for row in rows}


def test_competencies_are_long_and_hidden_groups_stay_empty(books, stored, records):
    sheet = books["id"]["Kompetensi"]
    rows = table(sheet)
    competencies = [(record, c) for record in records for c in record["competencies"]]
    assert len(rows) == len(records) * len(stored.meta["competencies"]) == len(competencies)
    labels = {g["id"]: g["label"]["id"] for g in stored.meta["rater_groups"]}
    hidden_seen = 0
    for row, (record, competency) in zip(rows, competencies, strict=True):
        assert (row["ID pegawai (NIP)"], row["ID kompetensi"]) == (record["employee_id"], competency["id"])
        assert row["Skor"] == competency["score_shown"]
        assert row["Diri − orang lain"] == competency["self_minus_others"]
        hidden = [g["group"] for g in competency["groups"] if not g["shown"]]
        for group in competency["groups"]:
            mean = row[f"Rata-rata {labels[group['group']]}"]
            assert mean == (group["mean"] if group["shown"] else None)
        assert row["Disembunyikan (kerahasiaan penilai)"] == (", ".join(labels[g] for g in hidden) or None)
        hidden_seen += len(hidden)
    assert hidden_seen > 0, "the example should hide some group for anonymity"


def test_plan_rows_add_up_to_each_employees_learning_hours(books, records):
    rows = table(books["en"]["Development plans"])
    assert len(rows) == sum(max(len(entry["actions"]), 1) for r in records for entry in r["development_plan"])
    hours: dict[str, float] = defaultdict(float)
    for row in rows:
        hours[row["Employee ID"]] += row["Hours (JP)"] or 0
    for record in records:
        assert hours[record["employee_id"]] == record["development"]["learning_hours"]["total"]
    first_gap = next(entry for entry in records[0]["development_plan"] if entry["competency"])
    first = next(row for row in rows if row["Employee ID"] == records[0]["employee_id"])
    assert (first["Competency ID"], first["Required level"], first["Gap"]) == (first_gap["competency"], first_gap["required"], first_gap["gap"])


def test_training_needs_equal_the_organisation_summary(books, stored, records):
    summary = summarise(stored.meta, records, stored.flags())
    book = books["en"]
    competencies = [(r["Competency ID"], r["People with a gap"], r["Mean gap"]) for r in table(book["Training needs"])]
    assert competencies == [(n.competency, n.people, pytest.approx(n.mean_gap, rel=1e-12)) for n in summary.training_needs()]
    assert len(competencies) > 3
    programmes = [(r["Programme ID"], r["People"], r["Total hours (JP)"]) for r in table(book["Programme needs"])]
    assert programmes == [(p.programme, p.people, p.hours) for p in summary.programme_needs()]
    units = [(r["Unit"], r["Competency ID"], r["People with a gap"], r["Employees in the unit"]) for r in table(book["Gaps by unit"])]
    assert units == [
        (unit, competency, summary.units[unit].people_with_gap[competency], summary.units[unit].employees)
        for unit in summary.unit_names()
        for competency in summary.competency_ids
    ]


def test_hr_queue_lists_every_flag_hr_only_ones_too(books, stored):
    flags = list(stored.flags())
    rows = table(books["id"]["Antrean HR"])
    assert [(r["Aturan"], r["ID subjek"], r["Pesan"]) for r in rows] == [(f.rule, f.subject_id, f.message["id"]) for f in flags]
    assert [r["Ambang"] for r in rows] == [f.threshold for f in flags]
    assert {r["Untuk"] for r in rows} == {"HR saja", "pegawai dan HR"}
    assert sum(f.audience == "hr" for f in flags) == sum(r["Untuk"] == "HR saja" for r in rows) > 0


def test_about_names_the_rubric_engine_and_steps(books, stored):
    about = {r["Item"]: r["Value"] for r in table(books["en"]["About"])}
    meta = stored.meta
    assert about["Rubric"] == meta["rubric"]["id"] and about["Rubric version"] == meta["rubric"]["version"]
    assert about["Engine"] == f"appraisal {meta['engine']['version']}"
    assert about["Workbook language"] == "en" and about["Employees"] == 60
    assert about["Step: calibration"] == "crossed-re (appraisal_plugins.calibration)"
    assert sum(value for item, value in about.items() if item.startswith("Flags: ")) == len(list(stored.flags()))
    assert about["How to read"]


def test_headers_bold_frozen_filtered_and_numbers_formatted(books, stored):
    book = books["id"]
    for sheet in book.worksheets:
        assert all(cell.font.b for cell in sheet[1]), sheet.title
        assert sheet.freeze_panes is not None and sheet.freeze_panes.endswith("2"), sheet.title
        assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(sheet.max_column)}{sheet.max_row}", sheet.title
    assert book["Hasil"].freeze_panes == "C2"  # the id and name stay in view
    overall = column(book["Hasil"], "Skor keseluruhan")
    assert all(cell.data_type == "n" and cell.number_format == "0.00" for cell in overall)
    assert column(book["Hasil"], "Galat baku")[0].number_format == "0.000"
    # Negative numbers stay numbers (a leading "-" on text is neutralised; on a number it is a sign).
    differences = [cell for cell in column(book["Kompetensi"], "Diri − orang lain") if cell.value is not None]
    negative = [cell for cell in differences if cell.value < 0]
    assert negative and all(cell.data_type == "n" and not cell.quotePrefix for cell in negative)
    assert sum(1 for cell in column(book["Hasil"], "ID pegawai (NIP)") if cell.data_type == "s") == 60


@pytest.fixture(scope="module")
def injected_run(tmp_path_factory) -> Path:
    """The contoh example with formula-like names, a unit and a position in the roster, run with the xlsx format."""
    folder = tmp_path_factory.mktemp("injected") / "contoh"
    invoke("init", str(folder))
    roster = folder / "roster.csv"
    with roster.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row, name in zip(rows, INJECTED_NAMES):
        row["name"] = name
    rows[0]["unit"] = INJECTED_UNIT
    rows[len(INJECTED_NAMES)]["position"] = INJECTED_POSITION
    rows[len(INJECTED_NAMES) + 1]["name"] = "bell\x07name"
    with roster.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = folder / "hasil"
    invoke(
        "run", "--rubric", str(folder / "rubric.yaml"), "--ratings", str(folder / "ratings.csv"), "--roster", str(roster),
        "--out", str(out), "--format", "csv,json,xlsx",
    )
    return out


def test_formula_like_text_is_stored_as_text_never_as_a_formula(injected_run):
    path = injected_run / "appraisal.xlsx"
    book = openpyxl.load_workbook(path)
    found: dict[str, list[Any]] = defaultdict(list)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value in (*INJECTED_NAMES, INJECTED_UNIT, INJECTED_POSITION):
                    found[cell.value].append(cell)
    competencies = len(json.loads((injected_run / "results.json").read_text(encoding="utf-8"))["run"]["competencies"])
    for text in (*INJECTED_NAMES, INJECTED_UNIT):
        # Results, one row per competency, and the plans at least: each one a string cell.
        assert len(found[text]) > competencies, text
    for text, cells in found.items():
        for cell in cells:
            # Recoverable: the cell's value is the roster's text exactly; the quote prefix is a style flag
            # (what Excel sets for a typed leading apostrophe), not a character added to the value.
            assert cell.value == text and isinstance(cell.value, str)
            assert cell.data_type == "s", (text, cell.coordinate)
            assert cell.quotePrefix, (text, cell.coordinate)
    assert found[INJECTED_POSITION]
    # No formula anywhere in the file: a formula cell would be an <f> element in a sheet's XML.
    with zipfile.ZipFile(path) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in archive.read(name) or b"<f " in archive.read(name) for name in sheets)
    names = [cell.value for cell in column(book["Hasil"], "Nama")]
    assert "bell\ufffdname" in names  # XML cannot hold the control character: it is shown as a replacement
    ordinary = column(book["Hasil"], "Jabatan")[0]
    assert ordinary.value == "Kepala Bagian" and not ordinary.quotePrefix


def test_cli_report_writes_the_workbook_and_the_manifest_lists_it(injected_run):
    run_manifest = json.loads((injected_run / "manifest.json").read_text(encoding="utf-8"))
    assert "appraisal.xlsx" in [entry["file"] for entry in run_manifest["outputs"]]
    invoke("report", "--run", str(injected_run), "--format", "xlsx", "--lang", "en")
    path = injected_run / "reports" / "appraisal.xlsx"
    manifest = json.loads((injected_run / "reports" / "manifest.json").read_text(encoding="utf-8"))
    [entry] = manifest["outputs"]
    assert entry["file"] == "appraisal.xlsx" and entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == SHEETS["en"]
    assert len(table(book["Results"])) == manifest["employees"] == 24


def test_long_tables_continue_on_further_sheets(injected_run, tmp_path):
    limit = 50
    whole = openpyxl.load_workbook(injected_run / "appraisal.xlsx")
    run = StoredRun(injected_run)
    split = write_workbook(run, tmp_path, run.meta["language"], rows_per_sheet=limit)
    expected_titles = []
    for title in whole.sheetnames:
        sheets = max(1, math.ceil((whole[title].max_row - 1) / (limit - 1)))
        expected_titles += [title] + [f"{title} ({n})" for n in range(2, sheets + 1)]
    assert split.sheetnames == expected_titles
    assert {"Kompetensi (2)", "Rencana Pengembangan (2)"} <= set(split.sheetnames)
    for title in whole.sheetnames:
        parts = [split[name] for name in split.sheetnames if name == title or name.startswith(f"{title} (")]
        rows = []
        for part in parts:
            assert part.max_row <= limit and part.auto_filter.ref.endswith(str(part.max_row))
            assert part.freeze_panes == whole[title].freeze_panes
            assert [c.value for c in part[1]] == [c.value for c in whole[title][1]]
            rows += list(part.iter_rows(min_row=2, values_only=True))
        assert rows == list(whole[title].iter_rows(min_row=2, values_only=True)), title


def test_rows_per_sheet_stays_within_excel():
    assert XlsxOptions().rows_per_sheet == EXCEL_MAX_ROWS == 1_048_576
    for wrong in (1, EXCEL_MAX_ROWS + 1):
        with pytest.raises(ValidationError):
            XlsxOptions(rows_per_sheet=wrong)


def test_each_value_gets_the_cell_type_excel_needs(tmp_path):
    book = openpyxl.Workbook(write_only=True)
    fields = [Field("value", lambda item: item), Field("number", lambda item: item, number_format="0.00")]
    sheet = SheetTable(book, "T", fields, rows_per_sheet=10)
    sheet.extend(["#REF!", "=1+1", "\t=1+1", "", None, float("nan"), -1.5, 0, True])
    sheet.close()
    book.save(tmp_path / "t.xlsx")
    rows = list(openpyxl.load_workbook(tmp_path / "t.xlsx")["T"].iter_rows(min_row=2))
    assert [row[0].value for row in rows] == ["#REF!", "=1+1", "\t=1+1", None, None, None, -1.5, 0, True]
    # An error code or a formula written as text: a string cell with the quote prefix, value unchanged.
    assert all(row[0].data_type == "s" and row[0].quotePrefix for row in rows[:3])
    assert [(row[1].value, row[1].data_type, row[1].number_format) for row in rows[6:8]] == [(-1.5, "n", "0.00"), (0, "n", "0.00")]
    assert rows[8][1].value is True and rows[8][1].number_format == "General"  # yes/no is not a number


def test_stored_run_streams_what_json_load_reads(asn_run, tmp_path):
    whole = json.loads((asn_run / "results.json").read_text(encoding="utf-8"))
    indented = tmp_path / "indented"
    indented.mkdir()
    (indented / "results.json").write_text(json.dumps(whole, indent=2, ensure_ascii=False), encoding="utf-8")
    streamed, read_whole = StoredRun(asn_run), StoredRun(indented)
    assert streamed._whole is None and read_whole._whole is not None  # one record at a time, unless re-laid-out
    for run in (streamed, read_whole):
        assert run.meta == whole["run"]
        assert list(run.employees()) == whole["employees"]
        assert [flag_to_dict(flag) for flag in run.flags()] == whole["flags"]
        assert run.raters() == whole["raters"]
    chosen = whole["employees"][7]["employee_id"]
    assert [r["employee_id"] for r in StoredRun(asn_run, only=[chosen]).employees()] == [chosen]
    assert StoredRun(asn_run).employee(chosen) == whole["employees"][7]


def test_raters_csv_from_stored_run_matches_the_computed_one(asn_run, tmp_path):
    """The computed run hands raters.csv its arrays; a stored run builds them from the records (RunView's default)."""
    stored = StoredRun(asn_run)
    assert type(stored).rater_summary is RunView.rater_summary
    CsvResults().write(stored, tmp_path, "en", CsvResults.Options())
    written = (tmp_path / "raters.csv").read_bytes()
    assert written == (asn_run / "raters.csv").read_bytes()
    header = written.decode().splitlines()[0]
    assert header.endswith('"units_rated","leniency_crossed-re","leniency_se_crossed-re"')
    first = next(r for r in stored.raters() if r["employee"])
    assert f'"{first["rater_id"]}","yes",{first["ratings"]},{first["ratees"]},"{" ".join(first["relationships"])}"' in written.decode()


def test_csv_output_fails_with_the_raters_summary(asn_run, tmp_path):
    """raters.csv is summarised and written in a thread beside results.csv and flags.csv; its failure is the writer's."""
    stored = StoredRun(asn_run)

    def broken() -> dict:
        raise ValueError("the rater summary broke")

    stored.rater_summary = broken  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="the rater summary broke"):
        CsvResults().write(stored, tmp_path, stored.meta["language"], CsvResults.Options())
    assert not (tmp_path / "raters.csv").exists()
    assert (tmp_path / "results.csv").read_bytes() == (asn_run / "results.csv").read_bytes()  # the other files went on
