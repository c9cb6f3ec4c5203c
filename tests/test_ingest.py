"""Ingestion contract: every input row is accepted or rejected with a reason.

The tests use a tiny hand-checkable rubric (see :data:`RUBRIC_YAML`):

* competency ``integritas`` (code 0) is rated per item: ``a`` (item code 0), ``b`` (item code 1);
* competency ``komunikasi`` (code 1) is rated as a whole (item code -1);
* scale 1–5, whole points, "not observed" codes ``NA`` and ``TT``;
* default rater groups, codes: self 0, supervisor 1, peer 2, subordinate 3, other 4.

Every call to ingestion goes through :func:`run`, which also checks that the
counts add up (read = accepted + rejected, nothing silently dropped).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from appraisal.errors import InputError
from appraisal.frame import Comments, RatingFrame
from appraisal.ingest import Inputs, ingest
from appraisal.plugins import get_plugin_host
from appraisal.rubric import Rubric, load_rubric
from appraisal.runner import row_totals

# ---------------------------------------------------------------------------
# Rubric, host and helpers
# ---------------------------------------------------------------------------

RUBRIC_YAML = """\
schema_version: 1
id: mini
version: "1"
name: Mini
scale:
  min: 1
  max: 5
  not_observed: [NA, TT]
  whole_points: {whole_points}
clusters:
  - id: inti
    name: Inti
    competencies:
      - id: integritas
        name: Integritas
        items:
          - {{id: a, text: Butir A}}
          - {{id: b, text: Butir B}}
      - id: komunikasi
        name: Komunikasi
{positions}"""

POSITIONS_YAML = """\
positions:
  - id: staf
    name: Staf
    positions: [Pengelola Data]
    required: {komunikasi: 3}
"""

SELF, SUPERVISOR, PEER = 0, 1, 2
INTEGRITAS, KOMUNIKASI = 0, 1
ITEM_A, ITEM_B, WHOLE = 0, 1, -1

HEADER = ("ratee_id", "rater_id", "relationship", "competency", "item", "score")
NaN = math.nan


def make_rubric(directory: Path, *, whole_points: bool = True, positions: bool = False) -> Rubric:
    text = RUBRIC_YAML.format(
        whole_points="true" if whole_points else "false",
        positions=POSITIONS_YAML if positions else "",
    )
    path = directory / f"rubric-{whole_points}-{positions}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_rubric(path).rubric


@pytest.fixture(scope="module")
def host():
    return get_plugin_host(load_entrypoints=False)


@pytest.fixture(scope="module")
def rubric(tmp_path_factory) -> Rubric:
    return make_rubric(tmp_path_factory.mktemp("rubric"))


def csv_text(rows: Iterable[Sequence[str]], header: Sequence[str] = HEADER, delimiter: str = ",") -> str:
    """Unquoted CSV (the tests only quote by hand, where quoting is the point)."""
    return "".join(delimiter.join(row) + "\n" for row in [header, *rows])


def write(directory: Path, name: str, text: str, *, bom: bool = False, newline: str = "\n") -> Path:
    path = directory / name
    data = text.replace("\n", newline).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def check_balanced(inputs: Inputs) -> None:
    """Counts add up, per file and in total; every rejected row is reported exactly once."""
    report, frame = inputs.report, inputs.frame
    for count in report.counts:
        assert count.read == count.accepted + count.rejected, count
        reported = [r for r in report.rejected if r.file == count.file]
        assert len(reported) == count.rejected, count
        assert len({r.row for r in reported}) == count.rejected, "a row reported twice"
    ratings = [c for c in report.counts if c.kind == "ratings"]
    assert len(frame) == sum(c.accepted for c in ratings)
    for name in ("ratee", "rater", "group", "competency", "item", "source", "row"):
        assert len(getattr(frame, name)) == len(frame), name
    for k, source in enumerate(frame.sources):
        (count,) = [c for c in ratings if c.file == source]
        mine = frame.source == k
        assert count.accepted == int(mine.sum())
        assert count.not_observed == int(np.isnan(frame.score[mine]).sum())
    assert row_totals(report)["ratings"]["balanced"] is True
    for problem in [*report.errors, *report.warnings]:  # every message renders in both languages
        assert problem.message.text("id") and problem.message.text("en")


@pytest.fixture
def run(host, rubric):
    """``run(*paths, roster=None, rubric=None)``: ingest and check the counts."""

    def _run(*paths: Path, roster: Path | None = None, rubric: Rubric | None = None) -> Inputs:
        inputs = ingest(host, rubric or default_rubric, list(paths), roster)
        check_balanced(inputs)
        check_sorted(inputs.frame)
        return in_file_order(inputs)

    default_rubric = rubric
    return _run


def check_sorted(frame: RatingFrame) -> None:
    """The frame's rows are sorted by ratee, rater, competency and item (the engine relies on it)."""
    key = np.lexsort((frame.item, frame.competency, frame.rater, frame.ratee))
    assert key.tolist() == list(range(len(frame)))


def in_file_order(inputs: Inputs) -> Inputs:
    """The same inputs with the frame's rows in file and row order, as the tests below read them."""
    frame = inputs.frame
    order = np.lexsort((frame.row, frame.source))
    comments = frame.comments
    if comments is not None:
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        moved = np.argsort(position[comments.rating])
        comments = Comments(rating=position[comments.rating][moved], text=comments.text[moved])
    columns = ("ratee", "rater", "group", "competency", "item", "score", "source", "row")
    return replace(inputs, frame=replace(frame, comments=comments, **{c: getattr(frame, c)[order] for c in columns}))


def rejections(inputs: Inputs) -> dict[tuple[str, int], list[str]]:
    """``{(file name, row): [message codes]}`` of every rejected row."""
    return {(Path(r.file).name, r.row): [p.message.code for p in r.problems] for r in inputs.report.rejected}


def warning_codes(inputs: Inputs) -> list[tuple[str, int | None, str, str]]:
    return [(Path(w.file).name, w.line, w.field, w.message.code) for w in inputs.report.warnings]


def only_rejection(inputs: Inputs):
    (rejected,) = inputs.report.rejected
    (problem,) = rejected.problems
    return rejected, problem


def frame_codes(inputs: Inputs) -> dict[str, list]:
    """Every integer code and id list of the frame as plain lists (scores: see :func:`assert_scores`)."""
    frame = inputs.frame
    return {
        "ratee": frame.ratee.tolist(),
        "rater": frame.rater.tolist(),
        "group": frame.group.tolist(),
        "competency": frame.competency.tolist(),
        "item": frame.item.tolist(),
        "employees": inputs.employees.ids.tolist(),
        "raters": frame.raters.tolist(),
        "rater_employee": frame.rater_employee.tolist(),
    }


def assert_scores(actual: np.ndarray, expected: list[float]) -> None:
    """Exact scores; NaN (not observed) only where expected."""
    np.testing.assert_array_equal(actual, np.asarray(expected, dtype=np.float64), strict=True)


# ---------------------------------------------------------------------------
# The same ratings in every format
# ---------------------------------------------------------------------------

NIP = "198501012010011001"  # an 18-digit civil-servant id: must stay text, never a float

# (ratee, rater, relationship, competency, item, score) with scores typed as a
# spreadsheet or JSON would type them; None = blank.
RECORDS = [
    (NIP, NIP, "self", "integritas", "a", 4),
    (NIP, "1001", "atasan", "integritas", "a", 5.0),
    (NIP, "1001", "atasan", "integritas", "b", "NA"),
    (NIP, "P1", "Rekan Kerja", "komunikasi", "", 3),
    ("1002", "P1", "peer", "komunikasi", "", 2.0),
    ("1002", "1001", "supervisor", "integritas", "b", None),
]

EXPECTED_SCORES = [4.0, 5.0, NaN, 3.0, 2.0, NaN]
# Worked out by hand: employees sorted ['1002', NIP]; raters sorted ['1001', NIP, 'P1'].
EXPECTED_FRAME = {
    "ratee": [1, 1, 1, 1, 0, 0],
    "rater": [1, 0, 0, 2, 2, 0],
    "group": [SELF, SUPERVISOR, SUPERVISOR, PEER, PEER, SUPERVISOR],
    "competency": [INTEGRITAS, INTEGRITAS, INTEGRITAS, KOMUNIKASI, KOMUNIKASI, INTEGRITAS],
    "item": [ITEM_A, ITEM_A, ITEM_B, WHOLE, WHOLE, ITEM_B],
    "employees": ["1002", NIP],
    "raters": ["1001", NIP, "P1"],
    "rater_employee": [-1, 1, -1],
}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_csv(directory: Path) -> Path:
    return write(directory, "ratings.csv", csv_text([[_text(v) for v in r] for r in RECORDS]))


def write_xlsx(directory: Path) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Ratee ID", "Rater ID", "Relationship", "Competency", "Item", "Score"])
    for ratee, rater, relationship, competency, item, score in RECORDS:
        # numeric ids become numeric cells; the 18-digit id is a text cell
        ratee_cell = ratee if ratee == NIP else int(ratee)
        rater_cell = int(rater) if rater.isdigit() and rater != NIP else rater
        sheet.append([ratee_cell, rater_cell, relationship, competency, item or None, score])
    path = directory / "ratings.xlsx"
    workbook.save(path)
    return path


def write_parquet(directory: Path) -> Path:
    columns = list(zip(*RECORDS))
    scores = [float(s) if isinstance(s, (int, float)) else None for s in columns[5]]  # NA/blank -> null
    table = pa.table(
        {
            "ratee_id": pa.array(columns[0], pa.string()),
            "rater_id": pa.array(columns[1], pa.string()),
            "relationship": pa.array(columns[2], pa.string()),
            "competency": pa.array(columns[3], pa.string()),
            "item": pa.array(columns[4], pa.string()),
            "score": pa.array(scores, pa.float64()),
        }
    )
    path = directory / "ratings.parquet"
    pq.write_table(table, path)
    return path


def write_jsonl(directory: Path) -> Path:
    lines = []
    for number, (ratee, rater, relationship, competency, item, score) in enumerate(RECORDS):
        record = {
            "ratee_id": int(ratee) if ratee == "1002" else ratee,  # number in one line, string in others
            "rater_id": rater,
            "relationship": relationship,
            "competency": competency,
            "score": str(score) if number == 0 else score,  # "4" as a string, the rest as typed
        }
        if item:
            record["item"] = item  # a key missing on some lines
        lines.append(json.dumps(record))
    lines.insert(3, "")  # a blank line: line numbers after it still count it
    path = directory / "ratings.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


FORMATS = {
    "csv": (write_csv, [2, 3, 4, 5, 6, 7]),
    "xlsx": (write_xlsx, [2, 3, 4, 5, 6, 7]),
    "parquet": (write_parquet, [1, 2, 3, 4, 5, 6]),
    "jsonl": (write_jsonl, [1, 2, 3, 5, 6, 7]),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_same_ratings_give_the_same_frame_in_every_format(tmp_path, run, fmt):
    writer, expected_rows = FORMATS[fmt]
    inputs = run(writer(tmp_path))
    assert rejections(inputs) == {}
    assert frame_codes(inputs) == EXPECTED_FRAME
    assert_scores(inputs.frame.score, EXPECTED_SCORES)
    assert inputs.frame.row.tolist() == expected_rows
    (count,) = inputs.report.counts
    assert (count.read, count.accepted, count.rejected, count.not_observed) == (6, 6, 0, 2)


def test_formats_agree_with_each_other(tmp_path, run):
    frames = {}
    for fmt, (writer, _) in FORMATS.items():
        directory = tmp_path / fmt
        directory.mkdir()
        inputs = run(writer(directory))
        frames[fmt] = (frame_codes(inputs), inputs.frame.score)
    reference_codes, reference_scores = frames.pop("csv")
    for fmt, (codes, scores) in frames.items():
        assert codes == reference_codes, fmt
        np.testing.assert_array_equal(scores, reference_scores, err_msg=fmt, strict=True)


# ---------------------------------------------------------------------------
# CSV dialects
# ---------------------------------------------------------------------------

DIALECT_ROWS = [
    ("007", "S1", "atasan", "integritas", "a", "4"),  # leading zeros: ids stay text
    ("007", "S1", "atasan", "komunikasi", "", "NA"),
    ("E2", "007", "Rekan Kerja", "komunikasi", "", "5"),
]


@pytest.mark.parametrize("bom", [False, True], ids=["no-bom", "bom"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_csv_bom_and_delimiters(tmp_path, run, bom, delimiter):
    path = write(tmp_path, "ratings.csv", csv_text(DIALECT_ROWS, delimiter=delimiter), bom=bom)
    inputs = run(path)
    assert rejections(inputs) == {}
    assert frame_codes(inputs) == {
        "ratee": [0, 0, 1],
        "rater": [1, 1, 0],
        "group": [SUPERVISOR, SUPERVISOR, PEER],
        "competency": [INTEGRITAS, KOMUNIKASI, KOMUNIKASI],
        "item": [ITEM_A, WHOLE, WHOLE],
        "employees": ["007", "E2"],
        "raters": ["007", "S1"],
        "rater_employee": [0, -1],
    }
    assert_scores(inputs.frame.score, [4, NaN, 5])
    assert inputs.frame.row.tolist() == [2, 3, 4]


def test_tsv_suffix_is_read_as_tab_delimited(tmp_path, run):
    path = write(tmp_path, "ratings.tsv", csv_text(DIALECT_ROWS, delimiter="\t"))
    assert_scores(run(path).frame.score, [4, NaN, 5])


DECIMAL_COMMA = """\
ratee_id;rater_id;relationship;competency;item;score
E1;S1;atasan;komunikasi;;3,0
E2;S1;atasan;komunikasi;;3,5
E3;S1;atasan;komunikasi;;5,5
"""


def test_decimal_comma_on_whole_point_scale(tmp_path, run):
    inputs = run(write(tmp_path, "ratings.csv", DECIMAL_COMMA))
    assert_scores(inputs.frame.score, [3.0])
    assert inputs.frame.row.tolist() == [2]
    assert rejections(inputs) == {
        ("ratings.csv", 3): ["score_not_whole"],
        ("ratings.csv", 4): ["score_out_of_scale"],
    }
    assert inputs.report.rejected[0].problems[0].field == "score"
    assert inputs.report.rejected[0].values["score"] == "3,5"


def test_decimal_comma_with_half_points_allowed(tmp_path, run):
    half_points = make_rubric(tmp_path, whole_points=False)
    inputs = run(write(tmp_path, "ratings.csv", DECIMAL_COMMA), rubric=half_points)
    assert_scores(inputs.frame.score, [3.0, 3.5])
    assert rejections(inputs) == {("ratings.csv", 4): ["score_out_of_scale"]}


def test_quoted_decimal_comma_in_comma_delimited_csv(tmp_path, run):
    text = 'ratee_id,rater_id,relationship,competency,item,score\nE1,S1,atasan,komunikasi,,"4,0"\nE2,S1,atasan,komunikasi,,"2,5"\n'
    inputs = run(write(tmp_path, "ratings.csv", text))
    assert_scores(inputs.frame.score, [4.0])
    assert rejections(inputs) == {("ratings.csv", 3): ["score_not_whole"]}


# ---------------------------------------------------------------------------
# Row numbers
# ---------------------------------------------------------------------------

MULTILINE = """\
ratee_id,rater_id,relationship,competency,item,score,comment
E1,S1,atasan,komunikasi,,4,baik
E2,S1,atasan,komunikasi,,4,"baris satu
baris dua"

E3,S1,atasan,komunikasi,,x,
E4,S1,atasan,komunikasi,,5,
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_csv_row_numbers_survive_blank_lines_and_line_breaks_in_values(tmp_path, run, newline):
    inputs = run(write(tmp_path, "ratings.csv", MULTILINE, newline=newline))
    # line 1 header, 2 E1, 3-4 E2 (quoted line break), 5 blank, 6 E3, 7 E4
    assert inputs.frame.row.tolist() == [2, 3, 7]
    assert rejections(inputs) == {("ratings.csv", 6): ["score_not_numeric"]}
    assert inputs.frame.comments is not None
    comments = inputs.frame.comments
    assert comments.rating.tolist() == [0, 1]  # the third accepted rating has no comment
    assert [c.replace("\r\n", "\n") for c in comments.text] == ["baik", "baris satu\nbaris dua"]


def test_blank_comments_are_no_comments(tmp_path, run):
    header = (*HEADER, "comment")
    inputs = run(write(tmp_path, "ratings.csv", csv_text([("E1", "S1", "atasan", "komunikasi", "", "4", "  ")], header)))
    assert inputs.frame.comments is None


def test_csv_row_numbers_with_only_a_blank_line(tmp_path, run):
    text = csv_text([("E1", "S1", "atasan", "komunikasi", "", "4")]) + "\n" + "E2,S1,atasan,komunikasi,,9\n"
    inputs = run(write(tmp_path, "ratings.csv", text))
    assert inputs.frame.row.tolist() == [2]
    assert rejections(inputs) == {("ratings.csv", 4): ["score_out_of_scale"]}


def test_csv_row_numbers_without_final_newline(tmp_path, run):
    text = csv_text([("E1", "S1", "atasan", "komunikasi", "", "4"), ("E2", "S1", "atasan", "komunikasi", "", "9")])
    inputs = run(write(tmp_path, "ratings.csv", text.rstrip("\n")))
    assert inputs.frame.row.tolist() == [2]
    assert rejections(inputs) == {("ratings.csv", 3): ["score_out_of_scale"]}


def test_csv_delimiter_only_row_and_blank_line_do_not_shift_rows(tmp_path, run):
    """Excel saves an emptied row as ',,,,,'; with a blank line elsewhere the row numbers must still hold."""
    text = (
        "ratee_id,rater_id,relationship,competency,item,score\n"  # 1
        "E1,S1,atasan,komunikasi,,4\n"  # 2
        ",,,,,\n"  # 3: an emptied row
        "\n"  # 4: blank
        "E2,S1,atasan,komunikasi,,x\n"  # 5
    )
    inputs = run(write(tmp_path, "ratings.csv", text))
    assert inputs.frame.row.tolist() == [2]
    assert rejections(inputs)[("ratings.csv", 5)] == ["score_not_numeric"]
    assert set(rejections(inputs)) <= {("ratings.csv", 3), ("ratings.csv", 5)}


def test_xlsx_rows_are_excel_row_numbers(tmp_path, run):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(HEADER))
    sheet.append(["E1", "S1", "atasan", "komunikasi", None, 4])  # row 2
    sheet.append([None] * 6)  # row 3: empty, not a record
    sheet.append(["E2", "S1", "atasan", "komunikasi", None, 3.5])  # row 4: not whole
    sheet.append([])  # row 5: empty
    sheet.append(["E3", "S1", "atasan", "komunikasi", None, 4.0])  # row 6: 4.0 reads as 4
    sheet.cell(row=8, column=1, value=NIP)  # row 8 after a gap nobody wrote
    for column, value in enumerate(["S1", "atasan", "komunikasi", None, 2], start=2):
        sheet.cell(row=8, column=column, value=value)
    path = tmp_path / "ratings.xlsx"
    workbook.save(path)

    inputs = run(path)
    assert inputs.frame.row.tolist() == [2, 6, 8]
    assert_scores(inputs.frame.score, [4, 4, 2])
    assert inputs.employees.ids.tolist() == [NIP, "E1", "E3"]  # digits sort before letters
    assert rejections(inputs) == {("ratings.xlsx", 4): ["score_not_whole"]}
    assert inputs.report.rejected[0].values["score"] == "3.5"


def test_jsonl_rows_are_line_numbers_and_types_mix(tmp_path, run):
    lines = [
        {"ratee_id": 1001, "rater_id": "S1", "relationship": "Atasan", "competency": "komunikasi", "score": 4},
        {"ratee_id": "1002", "rater_id": "S1", "relationship": "atasan", "competency": "komunikasi", "score": "3,0"},
        None,  # blank line
        {"ratee_id": "1003", "rater_id": "S1", "relationship": "atasan", "competency": "komunikasi", "score": None},
        {"ratee_id": "1004", "rater_id": "S1", "relationship": "atasan", "competency": "komunikasi", "score": 4.0},
        {"ratee_id": "1005", "rater_id": "S1", "relationship": "atasan", "competency": "komunikasi", "score": "tt"},
        {"ratee_id": "1006", "rater_id": "S1", "relationship": "atasan", "competency": "komunikasi", "score": "x"},
    ]
    path = tmp_path / "ratings.jsonl"
    path.write_text("".join(("" if line is None else json.dumps(line)) + "\n" for line in lines), encoding="utf-8")
    inputs = run(path)
    assert inputs.frame.row.tolist() == [1, 2, 4, 5, 6]
    assert_scores(inputs.frame.score, [4, 3, NaN, 4, NaN])
    assert inputs.employees.ids.tolist() == ["1001", "1002", "1003", "1004", "1005"]
    assert rejections(inputs) == {("ratings.jsonl", 7): ["score_not_numeric"]}
    assert inputs.report.counts[0].not_observed == 2


def test_parquet_numeric_score_column(tmp_path, run):
    table = pa.table(
        {
            "ratee_id": ["E1", "E2", "E3", "E4"],
            "rater_id": ["S1", "S1", "S1", "S1"],
            "relationship": ["atasan"] * 4,
            "competency": ["komunikasi"] * 4,
            "score": pa.array([4, 2, None, 7], pa.int64()),
        }
    )
    path = tmp_path / "ratings.parquet"
    pq.write_table(table, path)
    inputs = run(path)
    assert inputs.frame.row.tolist() == [1, 2, 3]
    assert_scores(inputs.frame.score, [4, 2, NaN])
    assert rejections(inputs) == {("ratings.parquet", 4): ["score_out_of_scale"]}


# ---------------------------------------------------------------------------
# Headers and whole-file problems
# ---------------------------------------------------------------------------


def test_header_matching_forgives_case_spaces_and_hyphens(tmp_path, run):
    header = ("Ratee ID", "RATER-ID", " Relationship ", "Competency", "ITEM", "Score")
    inputs = run(write(tmp_path, "ratings.csv", csv_text([("E1", "S1", "atasan", "integritas", "b", "3")], header)))
    assert rejections(inputs) == {}
    assert inputs.employees.ids.tolist() == ["E1"]
    assert inputs.frame.raters.tolist() == ["S1"]
    assert inputs.frame.item.tolist() == [ITEM_B]


@pytest.mark.parametrize("missing", ["ratee_id", "rater_id", "relationship", "competency", "score"])
def test_missing_required_column_raises_naming_it(tmp_path, host, rubric, missing):
    header = [name for name in HEADER if name != missing]
    row = ["x"] * len(header)
    path = write(tmp_path, "ratings.csv", csv_text([row], header))
    with pytest.raises(InputError) as caught:
        ingest(host, rubric, [path])
    (problem,) = caught.value.problems
    assert problem.message.code == "column_missing"
    assert problem.message.params["column"] == missing
    assert problem.field == missing
    assert problem.file == str(path)
    assert repr(missing) in problem.message.text("en")


def test_item_column_is_optional(tmp_path, run):
    header = ("ratee_id", "rater_id", "relationship", "competency", "score")
    inputs = run(write(tmp_path, "ratings.csv", csv_text([("E1", "S1", "atasan", "komunikasi", "4")], header)))
    assert inputs.frame.item.tolist() == [WHOLE]


def test_missing_roster_column_raises(tmp_path, host, rubric):
    ratings = write(tmp_path, "ratings.csv", csv_text([("E1", "S1", "atasan", "komunikasi", "", "4")]))
    roster = write(tmp_path, "roster.csv", "employee_id,name,unit,position\nE1,Ani,U1,Staf\n")
    with pytest.raises(InputError) as caught:
        ingest(host, rubric, [ratings], roster)
    assert [(p.message.code, p.message.params["column"]) for p in caught.value.problems] == [
        ("column_missing", "supervisor_id")
    ]


def test_unknown_suffix_raises(tmp_path, host, rubric):
    path = write(tmp_path, "ratings.xls", "whatever")
    with pytest.raises(InputError) as caught:
        ingest(host, rubric, [path])
    (problem,) = caught.value.problems
    assert problem.message.code == "unknown_format"
    assert problem.message.params["suffix"] == ".xls"


@pytest.mark.parametrize("which", ["ratings", "roster"])
def test_missing_file_raises(tmp_path, host, rubric, which):
    present = write(tmp_path, "present.csv", csv_text([("E1", "S1", "atasan", "komunikasi", "", "4")]))
    absent = tmp_path / "absent.csv"
    with pytest.raises(InputError) as caught:
        if which == "ratings":
            ingest(host, rubric, [present, absent])
        else:
            ingest(host, rubric, [present], absent)
    (problem,) = caught.value.problems
    assert problem.message.code == "file_not_found"
    assert problem.file == str(absent)


# ---------------------------------------------------------------------------
# Row rules
# ---------------------------------------------------------------------------

BEFORE = ("E1", "S1", "atasan", "integritas", "a", "4")  # row 2, valid
AFTER = ("E2", "S1", "supervisor", "komunikasi", "", "5")  # row 4, valid

ROW_RULES = [
    (("", "S2", "peer", "komunikasi", "", "3"), "value_blank", "ratee_id"),
    (("E1", "", "peer", "komunikasi", "", "3"), "value_blank", "rater_id"),
    (("E1", "S2", "", "komunikasi", "", "3"), "value_blank", "relationship"),
    (("E1", "S2", "peer", "", "", "3"), "value_blank", "competency"),
    (("E1", "S2", "bos", "komunikasi", "", "3"), "unknown_relationship", "relationship"),
    (("E1", "S2", "peer", "kepemimpinan", "", "3"), "unknown_competency", "competency"),
    (("E1", "S2", "peer", "integritas", "c", "3"), "unknown_item", "item"),
    (("E1", "S2", "peer", "integritas", "", "3"), "item_required", "item"),
    (("E1", "S2", "peer", "komunikasi", "a", "3"), "item_not_allowed", "item"),
    (("E1", "S2", "peer", "komunikasi", "", "empat"), "score_not_numeric", "score"),
    (("E1", "S2", "peer", "komunikasi", "", "N/A"), "score_not_numeric", "score"),  # not a code of this rubric
    (("E1", "S2", "peer", "komunikasi", "", "6"), "score_out_of_scale", "score"),
    (("E1", "S2", "peer", "komunikasi", "", "0"), "score_out_of_scale", "score"),
    (("E1", "S2", "peer", "komunikasi", "", "-1"), "score_out_of_scale", "score"),
    (("E1", "S2", "peer", "komunikasi", "", "3.5"), "score_not_whole", "score"),
    (("E1", "S2", "self", "komunikasi", "", "3"), "self_rater_differs", "rater_id"),
    (("E3", "E3", "peer", "komunikasi", "", "3"), "rater_is_ratee", "relationship"),
]


@pytest.mark.parametrize(
    "row, code, column", ROW_RULES, ids=[f"{code}-{'-'.join(row[2:6])}" for row, code, _ in ROW_RULES]
)
def test_row_rule(tmp_path, run, row, code, column):
    path = write(tmp_path, "ratings.csv", csv_text([BEFORE, row, AFTER]))
    inputs = run(path)
    rejected, problem = only_rejection(inputs)
    assert (rejected.file, rejected.row) == (str(path), 3)
    assert (problem.file, problem.line, problem.field, problem.message.code) == (str(path), 3, column, code)
    assert rejected.values == {**dict(zip(HEADER, row)), "comment": "", "cycle": "", "submitted_at": ""}
    assert inputs.frame.row.tolist() == [2, 4]
    (count,) = inputs.report.counts
    assert (count.read, count.accepted, count.rejected) == (3, 2, 1)


def test_row_with_two_problems_is_one_rejected_row(tmp_path, run):
    rows = [BEFORE, ("E1", "S2", "peer", "kepemimpinan", "", "7"), ("E1", "S3", "peer", "integritas", "", "baik")]
    inputs = run(write(tmp_path, "ratings.csv", csv_text(rows)))
    assert {k: sorted(v) for k, v in rejections(inputs).items()} == {
        ("ratings.csv", 3): ["score_out_of_scale", "unknown_competency"],
        ("ratings.csv", 4): ["item_required", "score_not_numeric"],
    }
    assert {p.field for p in inputs.report.rejected[0].problems} == {"competency", "score"}
    (count,) = inputs.report.counts
    assert (count.read, count.accepted, count.rejected) == (3, 1, 2)


def test_relationship_aliases_are_case_insensitive(tmp_path, run):
    rows = [
        ("E1", "S1", "atasan", "komunikasi", "", "4"),
        ("E2", "S1", "ATASAN", "komunikasi", "", "4"),
        ("E1", "P1", "Rekan Kerja", "komunikasi", "", "4"),
        ("E2", "P1", "rekan kerja", "komunikasi", "", "4"),
        ("E3", "E3", "Diri Sendiri", "komunikasi", "", "4"),
        ("E4", "E4", "SELF", "komunikasi", "", "4"),
        ("E3", "S1", "Supervisor", "komunikasi", "", "4"),
    ]
    inputs = run(write(tmp_path, "ratings.csv", csv_text(rows)))
    assert rejections(inputs) == {}
    assert inputs.frame.group.tolist() == [SUPERVISOR, SUPERVISOR, PEER, PEER, SELF, SELF, SUPERVISOR]


def test_competency_and_item_match_case_insensitively(tmp_path, run):
    rows = [("E1", "S1", "atasan", "Integritas", "A", "4"), ("E1", "S1", "atasan", "KOMUNIKASI", "", "4")]
    inputs = run(write(tmp_path, "ratings.csv", csv_text(rows)))
    assert rejections(inputs) == {}
    assert inputs.frame.competency.tolist() == [INTEGRITAS, KOMUNIKASI]
    assert inputs.frame.item.tolist() == [ITEM_A, WHOLE]


def test_not_observed_scores_are_accepted_as_nan(tmp_path, run):
    rows = [
        ("E1", "S1", "atasan", "integritas", "a", ""),
        ("E1", "S1", "atasan", "integritas", "b", "NA"),
        ("E1", "S1", "atasan", "komunikasi", "", "na"),
        ("E2", "S1", "atasan", "integritas", "a", "TT"),
        ("E2", "S1", "atasan", "integritas", "b", "tt"),
        ("E2", "S1", "atasan", "komunikasi", "", "3"),
    ]
    inputs = run(write(tmp_path, "ratings.csv", csv_text(rows)))
    assert rejections(inputs) == {}
    assert_scores(inputs.frame.score, [NaN, NaN, NaN, NaN, NaN, 3])
    (count,) = inputs.report.counts
    assert (count.read, count.accepted, count.rejected, count.not_observed) == (6, 6, 0, 5)


def test_relationship_conflict_rejects_later_rows(tmp_path, run):
    rows = [
        ("E1", "P1", "peer", "integritas", "a", "4"),  # 2: defines P1 -> E1 as peer
        ("E1", "P1", "atasan", "integritas", "b", "4"),  # 3: conflict
        ("E1", "P1", "Rekan Kerja", "komunikasi", "", "3"),  # 4: same relationship, alias
        ("E1", "P1", "supervisor", "komunikasi", "", "3"),  # 5: conflict (and would duplicate row 4's key)
        ("E2", "P1", "atasan", "komunikasi", "", "3"),  # 6: another ratee, fine
    ]
    inputs = run(write(tmp_path, "ratings.csv", csv_text(rows)))
    assert rejections(inputs) == {("ratings.csv", 3): ["relationship_conflict"], ("ratings.csv", 5): ["relationship_conflict"]}
    for rejected in inputs.report.rejected:
        (problem,) = rejected.problems
        assert problem.field == "relationship"
        assert problem.message.params == {"first": 2, "relationship": "peer"}
    assert inputs.frame.row.tolist() == [2, 4, 6]


def test_relationship_conflict_ignores_rows_rejected_before(tmp_path, run):
    """A row rejected for its own fault does not define the pair's relationship, nor is it a duplicate."""
    rows = [
        ("E1", "P1", "peer", "integritas", "a", "9"),  # 2: score out of scale, rejected first
        ("E1", "P1", "atasan", "integritas", "a", "4"),  # 3: defines P1 -> E1 as supervisor
        ("E1", "P1", "peer", "komunikasi", "", "3"),  # 4: conflicts with 3, not with 2
        ("E1", "P2", "peer", "komunikasi", "", "3"),  # 5: fine
    ]
    inputs = run(write(tmp_path, "ratings.csv", csv_text(rows)))
    assert rejections(inputs) == {("ratings.csv", 2): ["score_out_of_scale"], ("ratings.csv", 4): ["relationship_conflict"]}
    conflict = next(r for r in inputs.report.rejected if r.row == 4)
    assert conflict.problems[0].message.params == {"first": 3, "relationship": "supervisor"}
    assert inputs.frame.row.tolist() == [3, 5]


def test_duplicate_rating_keeps_the_first(tmp_path, run):
    rows = [
        ("E1", "S1", "atasan", "integritas", "a", "4"),  # 2: kept
        ("E1", "S1", "atasan", "komunikasi", "", "3"),  # 3
        ("E1", "S1", "atasan", "integritas", "a", "4"),  # 4: copy of 2
        ("E1", "S1", "Atasan", "integritas", "a", "4"),  # 5: copy of 2 (alias spelled differently)
        ("E1", "S1", "atasan", "integritas", "b", "4"),  # 6: other item, not a copy
    ]
    inputs = run(write(tmp_path, "ratings.csv", csv_text(rows)))
    assert rejections(inputs) == {("ratings.csv", 4): ["duplicate_rating"], ("ratings.csv", 5): ["duplicate_rating"]}
    assert [r.problems[0].message.params["first"] for r in inputs.report.rejected] == [2, 2]
    assert inputs.frame.row.tolist() == [2, 3, 6]


def test_conflicting_ratings_are_all_rejected(tmp_path, run):
    rows = [
        ("E1", "S1", "atasan", "komunikasi", "", "3"),  # 2
        ("E1", "S1", "atasan", "integritas", "a", "4"),  # 3: fine
        ("E1", "S1", "atasan", "komunikasi", "", "3"),  # 4
        ("E1", "S1", "atasan", "komunikasi", "", "5"),  # 5: differs from 2 and 4
    ]
    inputs = run(write(tmp_path, "ratings.csv", csv_text(rows)))
    assert rejections(inputs) == {
        ("ratings.csv", 2): ["conflicting_rating"],
        ("ratings.csv", 4): ["conflicting_rating"],
        ("ratings.csv", 5): ["conflicting_rating"],
    }
    assert {r.problems[0].message.params["rows"] for r in inputs.report.rejected} == {"2, 4, 5"}
    assert inputs.frame.row.tolist() == [3]


def test_spaces_around_values_are_trimmed_before_matching(tmp_path, run):
    """' E1 ' and 'E1' are one person, ' peer' one relationship: the checks and the codes see trimmed text."""
    padded = write(
        tmp_path,
        "ratings.csv",
        csv_text(
            [
                ("E1", "S1", "atasan", "integritas", "a", "4"),
                (" E1 ", "S1", "atasan ", "integritas", "b", "3"),
                ("E1", " P1", " peer", "komunikasi", "", "2"),
                ("E1 ", "P1", "peer", "komunikasi", "", "5"),  # the same rater and competency as the row above
            ]
        ),
    )
    inputs = run(padded)
    assert rejections(inputs) == {("ratings.csv", 5): ["conflicting_rating"], ("ratings.csv", 4): ["conflicting_rating"]}
    assert inputs.employees.ids.tolist() == ["E1"]
    assert inputs.frame.raters.tolist() == ["S1"]
    assert inputs.frame.ratee.tolist() == [0, 0]
    assert inputs.frame.score.tolist() == [4.0, 3.0]


def test_several_cycles_warning(tmp_path, run):
    header = (*HEADER, "cycle")
    rows = [
        ("E1", "S1", "atasan", "komunikasi", "", "3", "2025"),
        ("E2", "S1", "atasan", "komunikasi", "", "3", "2026"),
        ("E3", "S1", "atasan", "komunikasi", "", "3", ""),
        ("E4", "S1", "atasan", "komunikasi", "", "9", "2027"),  # rejected: its cycle does not count
    ]
    path = write(tmp_path, "ratings.csv", csv_text(rows, header))
    inputs = run(path)
    assert warning_codes(inputs) == [("ratings.csv", None, "cycle", "several_cycles")]
    assert inputs.report.warnings[0].message.params == {"cycles": "2025, 2026"}
    assert inputs.report.warnings[0].severity == "warning"
    assert rejections(inputs) == {("ratings.csv", 5): ["score_out_of_scale"]}


def test_one_cycle_gives_no_warning(tmp_path, run):
    header = (*HEADER, "cycle")
    rows = [("E1", "S1", "atasan", "komunikasi", "", "3", "2026"), ("E2", "S1", "atasan", "komunikasi", "", "3", "2026")]
    assert run(write(tmp_path, "ratings.csv", csv_text(rows, header))).report.warnings == []


# ---------------------------------------------------------------------------
# Several files at once
# ---------------------------------------------------------------------------


def test_counts_add_up_across_several_files(tmp_path, run):
    first = write(
        tmp_path,
        "a.csv",
        csv_text(
            [
                ("E1", "S1", "atasan", "integritas", "a", "4"),  # a:2 kept; copied in b:3
                ("E1", "S1", "atasan", "integritas", "b", "NA"),  # a:3 not observed
                ("E1", "S1", "atasan", "komunikasi", "", "4"),  # a:4 conflicts with b:4
                ("E2", "S1", "atasan", "komunikasi", "", "9"),  # a:5 out of scale
                ("E2", "P1", "peer", "komunikasi", "", "2"),  # a:6 fine
            ]
        ),
    )
    second = write(
        tmp_path,
        "b.csv",
        csv_text(
            [
                ("E3", "S1", "atasan", "komunikasi", "", ""),  # b:2 not observed (blank)
                ("E1", "S1", "atasan", "integritas", "a", "4"),  # b:3 duplicate of a:2
                ("E1", "S1", "atasan", "komunikasi", "", "5"),  # b:4 conflicts with a:4
                ("E2", "P1", "atasan", "integritas", "a", "3"),  # b:5 relationship conflict with a:6
                ("E3", "X", "tetangga", "komunikasi", "", "3"),  # b:6 unknown relationship
            ]
        ),
    )
    inputs = run(first, second)
    assert rejections(inputs) == {
        ("a.csv", 4): ["conflicting_rating"],
        ("a.csv", 5): ["score_out_of_scale"],
        ("b.csv", 3): ["duplicate_rating"],
        ("b.csv", 4): ["conflicting_rating"],
        ("b.csv", 5): ["relationship_conflict"],
        ("b.csv", 6): ["unknown_relationship"],
    }
    duplicate = next(r for r in inputs.report.rejected if r.file == str(second) and r.row == 3)
    assert duplicate.problems[0].message.params["first"] == f"{first}:2"  # row 2 of the other file
    conflict = next(r for r in inputs.report.rejected if r.file == str(second) and r.row == 5)
    assert conflict.problems[0].message.params == {"first": f"{first}:6", "relationship": "peer"}
    counts = [(c.file, c.kind, c.read, c.accepted, c.rejected, c.not_observed) for c in inputs.report.counts]
    assert counts == [
        (str(first), "ratings", 5, 3, 2, 1),
        (str(second), "ratings", 5, 1, 4, 1),
    ]
    assert len(inputs.frame) == 4
    assert len(inputs.report.rejected) == 6
    assert inputs.frame.source.tolist() == [0, 0, 0, 1]
    assert inputs.frame.row.tolist() == [2, 3, 6, 2]
    assert inputs.frame.sources == (str(first), str(second))
    totals = row_totals(inputs.report)["ratings"]
    assert (totals["read"], totals["accepted"], totals["rejected"], totals["not_observed"]) == (10, 4, 6, 2)


# ---------------------------------------------------------------------------
# Roster
# ---------------------------------------------------------------------------

ROSTER = """\
employee_id,name,unit,position,supervisor_id,Email
E1,Ani,U1,Pengelola Data,S1,ani@contoh.id
S1,Budi,U1,Kepala,,budi@contoh.id
E2,Citra,U2,pengelola data,S9,
E1,Dedi,U1,Staf,S1,dedi@contoh.id
,Eka,U2,Staf,S1,
A0,Fajar,U3,,S1,fajar@contoh.id
"""
# rows: 2 E1, 3 S1, 4 E2 (unknown supervisor S9), 5 E1 again, 6 blank id, 7 A0 (blank position)


@pytest.fixture
def roster(tmp_path) -> Path:
    return write(tmp_path, "roster.csv", ROSTER)


def ratings_for_roster(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        "ratings.csv",
        csv_text(
            [
                ("E1", "S1", "atasan", "komunikasi", "", "4"),  # 2: the roster supervisor
                ("A0", "E1", "atasan", "komunikasi", "", "4"),  # 3: roster says S1 -> warning only
                ("E2", "S2", "atasan", "komunikasi", "", "4"),  # 4: E2's supervisor S9 is unknown -> no warning
                ("X9", "S1", "atasan", "komunikasi", "", "4"),  # 5: not in the roster
                ("E1", "P1", "peer", "komunikasi", "", "3"),  # 6: not a supervisor rating
            ]
        ),
    )


def test_roster_duplicates_name_the_first_row_of_their_id(tmp_path, run):
    ids = ["A", "B", "", "C", "B", "A", "C", "", "B"]  # rows 2-10
    roster = write(tmp_path, "roster.csv", "employee_id,name,unit,position,supervisor_id\n" + "".join(f"{i},N,U,Staf,C\n" for i in ids))
    inputs = run(write(tmp_path, "ratings.csv", csv_text([("A", "B", "peer", "komunikasi", "", "4")])), roster=roster)
    duplicates = {r.row: r.problems[0].message.params for r in inputs.report.rejected if r.problems[0].message.code == "roster_duplicate_id"}
    assert duplicates == {6: {"value": "B", "first": 3}, 7: {"value": "A", "first": 2}, 8: {"value": "C", "first": 5}, 10: {"value": "B", "first": 3}}
    assert inputs.employees.ids.tolist() == ["A", "B", "C"]
    assert inputs.employees.supervisor.tolist() == [2, 2, 2]


def test_roster_rows_and_employees(tmp_path, run, roster):
    inputs = run(ratings_for_roster(tmp_path), roster=roster)
    employees = inputs.employees
    assert employees.ids.tolist() == ["E1", "S1", "E2", "A0"]  # roster order, not sorted
    assert employees.names.tolist() == ["Ani", "Budi", "Citra", "Fajar"]
    assert employees.units.tolist() == ["U1", "U1", "U2", "U3"]
    assert employees.supervisor.tolist() == [1, -1, -1, 1]
    assert employees.profile.tolist() == [-1, -1, -1, -1]  # the rubric has no position profiles
    assert employees.source == str(roster)
    assert list(employees.extra) == ["email"]
    assert employees.extra["email"].tolist() == ["ani@contoh.id", "budi@contoh.id", "", "fajar@contoh.id"]

    roster_rejections = {k: v for k, v in rejections(inputs).items() if k[0] == "roster.csv"}
    assert roster_rejections == {("roster.csv", 5): ["roster_duplicate_id"], ("roster.csv", 6): ["value_blank"]}
    duplicate = next(r for r in inputs.report.rejected if r.file == str(roster) and r.row == 5)
    assert duplicate.problems[0].message.params == {"value": "E1", "first": 2}
    assert duplicate.problems[0].field == "employee_id"
    (roster_count,) = [c for c in inputs.report.counts if c.kind == "roster"]
    assert (roster_count.read, roster_count.accepted, roster_count.rejected) == (6, 4, 2)


def test_roster_warnings_without_position_profiles(tmp_path, run, roster):
    inputs = run(ratings_for_roster(tmp_path), roster=roster)
    assert warning_codes(inputs) == [
        ("roster.csv", 4, "supervisor_id", "roster_unknown_supervisor"),
        ("ratings.csv", 3, "rater_id", "supervisor_mismatch"),
    ]
    mismatch = inputs.report.warnings[1]
    assert mismatch.message.params == {"rater": "E1", "ratee": "A0", "expected": "S1"}
    assert inputs.report.warnings[0].message.params == {"value": "S9"}


def test_roster_unmatched_position_warns_when_rubric_has_profiles(tmp_path, run, roster):
    with_profiles = make_rubric(tmp_path, positions=True)
    inputs = run(ratings_for_roster(tmp_path), roster=roster, rubric=with_profiles)
    roster_warnings = [w for w in warning_codes(inputs) if w[0] == "roster.csv"]
    assert sorted(roster_warnings, key=lambda w: (w[1], w[2])) == [
        ("roster.csv", 3, "position", "roster_unknown_position"),  # "Kepala"; blank position of A0 is not warned
        ("roster.csv", 4, "supervisor_id", "roster_unknown_supervisor"),
    ]
    assert inputs.employees.profile.tolist() == [0, -1, 0, -1]  # case-insensitive match of "pengelola data"


def test_ratings_checked_against_roster(tmp_path, run, roster):
    inputs = run(ratings_for_roster(tmp_path), roster=roster)
    rating_rejections = {k: v for k, v in rejections(inputs).items() if k[0] == "ratings.csv"}
    assert rating_rejections == {("ratings.csv", 5): ["ratee_not_in_roster"]}
    rejected = next(r for r in inputs.report.rejected if r.row == 5 and r.file.endswith("ratings.csv"))
    assert rejected.problems[0].field == "ratee_id"
    assert rejected.problems[0].message.params["value"] == "X9"
    assert inputs.frame.row.tolist() == [2, 3, 4, 6]  # the supervisor mismatch (row 3) is accepted
    assert inputs.frame.ratee.tolist() == [0, 3, 2, 0]  # codes follow the roster order
    assert inputs.frame.raters.tolist() == ["E1", "P1", "S1", "S2"]
    assert inputs.frame.rater_employee.tolist() == [0, -1, 1, -1]
    (ratings_count,) = [c for c in inputs.report.counts if c.kind == "ratings"]
    assert (ratings_count.read, ratings_count.accepted, ratings_count.rejected) == (5, 4, 1)


def test_roster_without_valid_rows_rejects_ratings_instead_of_failing(tmp_path, run):
    roster = write(tmp_path, "roster.csv", "employee_id,name,unit,position,supervisor_id\n,Ani,U1,Staf,\n")
    inputs = run(ratings_for_roster(tmp_path), roster=roster)
    assert inputs.employees.ids.tolist() == []
    assert rejections(inputs) == {
        ("roster.csv", 2): ["value_blank"],
        **{("ratings.csv", row): ["ratee_not_in_roster"] for row in range(2, 7)},
    }
    assert len(inputs.frame) == 0


def test_without_roster_no_roster_checks(tmp_path, run):
    inputs = run(ratings_for_roster(tmp_path))
    assert rejections(inputs) == {}
    assert warning_codes(inputs) == []  # no supervisor_mismatch without a roster
    assert inputs.employees.ids.tolist() == ["A0", "E1", "E2", "X9"]
    assert inputs.employees.source is None


def test_without_roster_employees_are_accepted_ratees_sorted(tmp_path, run):
    rows = [
        ("E3", "S1", "atasan", "komunikasi", "", "4"),
        ("E10", "S1", "atasan", "komunikasi", "", "4"),
        ("Z9", "S1", "atasan", "komunikasi", "", "9"),  # rejected: Z9 is nobody
        ("E1", "S1", "atasan", "komunikasi", "", ""),  # not observed, still a ratee
        ("E3", "P1", "peer", "komunikasi", "", "2"),
    ]
    inputs = run(write(tmp_path, "ratings.csv", csv_text(rows)))
    assert inputs.employees.ids.tolist() == ["E1", "E10", "E3"]
    assert inputs.frame.ratee.tolist() == [2, 1, 0, 2]
    assert inputs.employees.supervisor.tolist() == [-1, -1, -1]


# ---------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------


def test_row_order_does_not_change_codes(tmp_path, run):
    relationships = {"S": "atasan", "P": "peer", "B": "bawahan"}
    rows = [
        (ratee, rater, relationships[rater[0]], "komunikasi", "", str(1 + (len(ratee) + int(rater[1:])) % 5))
        for ratee in ("E3", "E10", "E1", "E2", "A7")
        for rater in ("S2", "P9", "P1", "B4", "P10")
    ]
    rows.append(("E2", "E2", "self", "integritas", "b", "TT"))

    def canonical(inputs: Inputs) -> tuple:
        frame, ids = inputs.frame, inputs.employees.ids
        ratings = sorted(
            (ids[t], frame.raters[r], g, c, i, "nan" if math.isnan(s) else s)
            for t, r, g, c, i, s in zip(frame.ratee, frame.rater, frame.group, frame.competency, frame.item, frame.score)
        )
        return ids.tolist(), frame.raters.tolist(), frame.rater_employee.tolist(), ratings

    reference = canonical(run(write(tmp_path, "ratings.csv", csv_text(rows))))
    assert reference[0] == ["A7", "E1", "E10", "E2", "E3"]
    assert reference[1] == ["B4", "E2", "P1", "P10", "P9", "S2"]
    for seed in range(3):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        assert canonical(run(write(tmp_path, f"shuffled-{seed}.csv", csv_text(shuffled)))) == reference


def test_malformed_csv_rows_are_rejected_with_their_line(tmp_path, run):
    """A row with too few or too many columns is read and rejected (not a whole-file failure)."""
    text = (
        "ratee_id,rater_id,relationship,competency,item,score\n"
        "E1,S1,atasan,komunikasi,,4\n"  # line 2
        "   \n"  # line 3: whitespace only, not a record
        "E1,S1,atasan,komunikasi\n"  # line 4: 4 columns
        'E2,S1,atasan,komunikasi,,"4\n'  # line 5: a quote spanning a line break...
        '"\n'  # line 6: ...so this record starts on line 5 (its score "4\n" trims to 4)
        "E2,S1,atasan,integritas,a,3,extra\n"  # line 7: 7 columns
        "E2,S1,atasan,integritas,b,5\n"  # line 8
    )
    inputs = run(write(tmp_path, "m.csv", text))
    assert rejections(inputs) == {("m.csv", 4): ["row_malformed"], ("m.csv", 7): ["row_malformed"]}
    malformed = [r for r in inputs.report.rejected if r.problems[0].message.code == "row_malformed"]
    assert [r.problems[0].message.params for r in malformed] == [
        {"found": 4, "expected": 6},
        {"found": 7, "expected": 6},
    ]
    assert malformed[0].values == {"raw": "E1,S1,atasan,komunikasi"}
    assert inputs.frame.row.tolist() == [2, 5, 8]
    (count,) = inputs.report.counts
    assert (count.read, count.accepted, count.rejected) == (5, 3, 2)


def test_parquet_nan_score_is_not_observed(tmp_path, run):
    path = tmp_path / "nan.parquet"
    pq.write_table(
        pa.table(
            {
                "ratee_id": ["E1", "E1"],
                "rater_id": ["S1", "P1"],
                "relationship": ["supervisor", "peer"],
                "competency": ["komunikasi", "komunikasi"],
                "score": [4.0, float("nan")],
            }
        ),
        path,
    )
    inputs = run(path)
    assert_scores(inputs.frame.score, [4.0, NaN])
    assert inputs.report.counts[0].not_observed == 1
