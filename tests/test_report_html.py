"""The ``html`` report format, checked in a real headless browser against the run's own numbers.

Two bundled examples are run once per module: the ASN profile (predikat,
JPM, nine-box, development plans) and the simple example with a planted
``<script>`` comment and a peer group of two raters (below the minimum of 3).
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from browser import A4_AT_150_DPI, Element, dump_dom, parse, screenshot
from click.testing import CliRunner
from PIL import Image

from appraisal.explain import explain
from appraisal.reporting import summarise
from appraisal.results import StoredRun, flag_from_dict
from appraisal.testing import make_host
from appraisal_cli.cli import AppContext, cli
from appraisal_plugins.report_html import HtmlOptions, HtmlReports, report_file_name

SCRIPT = "<script>alert(1)</script>"
PEER_SECRET = "Komentar rekan yang harus tetap rahasia"


@dataclass(frozen=True)
class Example:
    """A finished run of a bundled example with its HTML reports."""

    run: Path
    reports: Path
    results: dict[str, Any]

    @property
    def meta(self) -> dict[str, Any]:
        return self.results["run"]

    def record(self, employee_id: str) -> dict[str, Any]:
        return next(r for r in self.results["employees"] if r["employee_id"] == employee_id)

    def page(self, employee_id: str) -> Path:
        return self.reports / "individual" / report_file_name(employee_id)


def invoke(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args), obj=AppContext(host=make_host()))
    assert result.exit_code == 0, result.output


def finish(folder: Path, *run_args: str, lang: str) -> Example:
    run = folder / "hasil"
    invoke("run", "--rubric", str(folder / "rubric.yaml"), "--ratings", str(folder / "ratings.csv"),
           "--roster", str(folder / "roster.csv"), *run_args, "--out", str(run))
    invoke("report", "--run", str(run), "--format", "html", "--lang", lang)
    return Example(run, run / "reports", json.loads((run / "results.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def asn(tmp_path_factory) -> Example:
    folder = tmp_path_factory.mktemp("asn") / "asn"
    invoke("init", "--profile", "asn", str(folder))
    tables = [f"{name}={folder / name}.csv" for name in ("keputusan-atasan", "predikat-unit")]
    return finish(folder, "--input", tables[0], "--input", tables[1], lang="id")


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[Example, str]:
    """The simple example in English, with a script as a supervisor's comment and comments from a hidden peer group.

    :returns: the example and the id of the employee rated by only two peers.
    """
    folder = tmp_path_factory.mktemp("contoh") / "contoh"
    invoke("init", str(folder))
    with (folder / "ratings.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    peers: dict[str, set[str]] = {}
    for row in rows:
        if row["relationship"] == "peer":
            peers.setdefault(row["ratee_id"], set()).add(row["rater_id"])
    employee = min(ratee for ratee, raters in peers.items() if len(raters) == 2)
    supervisor_row = next(r for r in rows if r["ratee_id"] == employee and r["relationship"] == "supervisor")
    supervisor_row["comment"] = SCRIPT
    for row in rows:
        if row["ratee_id"] == employee and row["relationship"] == "peer":
            row["comment"] = PEER_SECRET
    with (folder / "ratings.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return finish(folder, lang="en"), employee


@cache
def rendered(page: Path) -> tuple[str, Element]:
    """The page's DOM as headless Chromium built it: the serialised text and its tree."""
    dom = dump_dom(page)
    return dom, parse(dom)


def source(page: Path) -> tuple[str, Element]:
    """The page as written, without a browser: for checks of what the file holds (quicker than a browser start)."""
    text = page.read_text(encoding="utf-8")
    return text, parse(text)


def two(value: float) -> str:
    return f"{value:.2f}"


def cell(root: Element, **attrs: str) -> str:
    return root.find(**attrs).words()


# ---------------------------------------------------------------------------
# Individual pages
# ---------------------------------------------------------------------------


def rich_employee(example: Example) -> dict[str, Any]:
    """The first employee with sufficient evidence, blind spots, competency gaps in the plan and comments."""
    return next(
        r
        for r in example.results["employees"]
        if r["status"] == "ok"
        and r["development"].get("blind_spots")
        and any(entry["competency"] for entry in r["development_plan"])
        and r["comments"]
    )


def test_individual_page_shows_the_records_numbers(asn):
    record = rich_employee(asn)
    _, root = rendered(asn.page(record["employee_id"]))
    assert cell(root, data_field="overall") == two(record["overall_shown"])
    low, high = record["overall_interval"]
    assert cell(root, data_field="interval") == f"rentang keyakinan 90%: {two(low)} – {two(high)}"
    assert cell(root, data_field="category") == record["category"]["label"]["id"]
    assert cell(root, data_field="status") == "Bukti cukup"
    assert cell(root, data_field="name") == record["name"]
    for competency in record["competencies"]:
        body = root.find("tbody", data_competency=competency["id"])
        shown = {g["group"]: g for g in competency["groups"] if g["shown"]}
        rows = body.find_all("tr", test=lambda e: "data-group" in e.attrs)
        assert {row.attrs["data-group"] for row in rows} == set(shown)
        for row in rows:
            assert row.find(data_field="mean").words() == two(shown[row.attrs["data-group"]]["mean"])
        assert body.find(data_field="score").words() == two(competency["score_shown"])


def test_radar_marks_the_required_levels_of_the_plan(asn):
    record = rich_employee(asn)
    _, root = rendered(asn.page(record["employee_id"]))
    required = sorted(two(e["required"]) for e in record["development_plan"] if e["competency"])
    marks = root.find("g", data_series="required").find_all(test=lambda e: "data-value" in e.attrs)
    assert sorted(mark.attrs["data-value"] for mark in marks) == required
    others = root.find("g", data_series="others").find_all("circle")
    assert [c.attrs["data-value"] for c in others] == [two(c["score_shown"]) for c in record["competencies"]]
    self_points = root.find("g", data_series="self").find_all("circle")
    assert [c.attrs["data-value"] for c in self_points] == [two(c["self"]) for c in record["competencies"] if c["self"] is not None]


def test_every_page_draws_the_radar_frame_and_bar_grid_of_its_own_run(asn, planted):
    """The rings, spokes, competency names and bar grid are drawn once per run and reused on every
    page: each page still names each competency on its own spoke, in the record's order."""
    for run, lang in ((asn, "id"), (planted[0], "en")):
        names = {c["id"]: c["name"][lang] for c in run.meta["competencies"]}
        for record in run.results["employees"][:3]:
            _, root = source(run.page(record["employee_id"]))
            labels = root.find_all("text", test=lambda e: e.attrs.get("class") == "axis-label")
            spelled = [" ".join(line.words() for line in label.find_all("tspan")) for label in labels]  # a long name takes two lines
            assert spelled == [names[c["id"]] for c in record["competencies"]]
            assert len(root.find_all("line", test=lambda e: e.attrs.get("class") == "spoke")) == len(record["competencies"])
            rings = root.find_all("text", test=lambda e: e.attrs.get("class") == "ring-label")
            scale = run.meta["scale"]
            assert [ring.words() for ring in rings] == [f"{p:g}" for p in range(int(scale["min"]), int(scale["max"]) + 1)]
            # Coordinates to a tenth of a unit, as the chart lays them out (no float noise such as 101.80000000000001).
            assert all(re.fullmatch(r"-?\d+(\.\d)?", ring.attrs[axis]) for ring in rings for axis in ("x", "y"))
            bars = root.find_all("td", test=lambda e: e.attrs.get("class") == "bar")
            assert bars and all(len(bar.find_all("line", test=lambda e: e.attrs.get("class") == "grid")) == len(rings) for bar in bars)


def test_plan_hours_add_up(asn):
    record = rich_employee(asn)
    _, root = rendered(asn.page(record["employee_id"]))
    hours = [a["hours"] for entry in record["development_plan"] for a in entry["actions"]]
    shown = [float(e.words()) for e in root.find_all(data_field="action-hours")]
    assert shown == hours
    total = float(cell(root, data_field="total-hours"))
    assert total == sum(hours) == record["development"]["learning_hours"]["total"]
    rules = cell(root, data_section="hours")
    assert f"{total:g} JP: memenuhi minimum 20 JP per tahun (PNS)" in rules


def test_self_others_blind_spots_comments_and_explanation(asn):
    record = rich_employee(asn)
    _, root = rendered(asn.page(record["employee_id"]))
    names = {c["id"]: c["name"]["id"] for c in asn.meta["competencies"]}
    blind = root.find(data_section="blind_spots").find("tbody").find_all("tr")
    assert [row.find_all("td")[0].words() for row in blind] == [names[b["competency"]] for b in record["development"]["blind_spots"]]
    assert [row.find_all("td")[3].words() for row in blind] == [f"{b['difference']:+.2f}" for b in record["development"]["blind_spots"]]
    texts = [e.text() for e in root.find_all("span", test=lambda e: e.attrs.get("class") == "comment-text")]
    assert texts == [c["text"] for c in record["comments"]]
    assert root.find("pre").text() == explain(record, asn.meta, "id")


def test_insufficient_evidence_is_explained(asn):
    record = next(r for r in asn.results["employees"] if r["status"] == "insufficient_evidence")
    _, root = source(asn.page(record["employee_id"]))
    assert cell(root, data_field="status") == "Bukti belum cukup"
    supervisor_seen = any(g["group"] == "supervisor" and g["shown"] for c in record["competencies"] for g in c["groups"])
    assert not supervisor_seen
    card = root.find(test=lambda e: "status-insufficient_evidence" in e.attrs.get("class", "")).words()
    assert "kelompok yang diwajibkan: Atasan" in card


def test_a_script_in_a_comment_is_shown_as_text(planted):
    example, employee = planted
    dom, root = rendered(example.page(employee))
    assert SCRIPT in [c["text"] for c in example.record(employee)["comments"]]
    assert not root.find_all("script")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    texts = [e.text() for e in root.find_all("span", test=lambda e: e.attrs.get("class") == "comment-text")]
    assert SCRIPT in texts


def test_a_peer_group_of_two_never_appears(planted):
    example, employee = planted
    record = example.record(employee)
    assert all(g["shown"] is False for c in record["competencies"] for g in c["groups"] if g["group"] == "peer")
    dom, root = rendered(example.page(employee))
    assert not root.find_all(data_group="peer")
    legend = root.find_all("ul", test=lambda e: e.attrs.get("class") == "legend")
    assert all("Peers" not in ul.words() for ul in legend)
    assert not root.find_all("td", test=lambda e: e.words() == "Peers")
    assert PEER_SECRET not in dom
    assert all("Peers ·" not in e.words() for e in root.find_all("span", test=lambda e: e.attrs.get("class") == "comment-about"))
    # The page says why the group is missing, as the explanation does.
    assert re.search(r"Not shown \(fewer raters than the minimum\): [^.]*\bPeers\b", root.words())


def test_an_employee_page_carries_no_hr_material(asn):
    hr_flag = next(f for f in asn.results["flags"] if f["audience"] == "hr" and f["subject"] == "employee")
    text, _ = source(asn.page(hr_flag["subject_id"]))
    assert hr_flag["message"]["id"] not in text
    mentor = next(r for r in asn.results["employees"] if r["development_hr"].get("mentor_for"))
    text, _ = source(asn.page(mentor["employee_id"]))
    mentees = {i for ids in mentor["development_hr"]["mentor_for"].values() for i in ids}
    assert mentees and not any(i in text for i in mentees)
    raters = {r["rater_id"] for r in asn.results["raters"]} - {mentor["employee_id"]}
    assert not any(i in text for i in raters)


def test_pages_are_self_contained_and_printable(asn):
    record = rich_employee(asn)
    for page in (asn.page(record["employee_id"]), asn.reports / "organisation.html"):
        source = page.read_text(encoding="utf-8")
        assert "@page { size: A4;" in source
        _, root = rendered(page)
        assert not root.find_all(test=lambda e: e.tag in {"script", "link", "img", "iframe", "object"})
        assert not root.find_all(test=lambda e: any(v.startswith(("http:", "https:", "//")) for v in e.attrs.values()))


def test_screenshot_shows_a_drawn_page(asn, tmp_path):
    record = rich_employee(asn)
    png = screenshot(asn.page(record["employee_id"]), tmp_path / "page.png")
    with Image.open(png) as image:
        assert image.size == A4_AT_150_DPI
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert len(colours) > 200
    background = max(colours)[0]
    assert background < 0.9 * A4_AT_150_DPI[0] * A4_AT_150_DPI[1]


def test_english_labels(planted):
    example, employee = planted
    _, root = rendered(example.page(employee))
    text = root.words()
    assert "Overall score" in text and "Skor keseluruhan" not in text
    assert "How the score was computed" in text


def test_file_names_stay_in_their_folder():
    tricky = ["../../etc/passwd", "a/b", "a_b", "a\\b", "CON", "", ".", "..", "nip 1990", "Ñandú", "x" * 300]
    names = [report_file_name(i) for i in tricky]
    assert len(set(names)) == len(names)
    for name in names:
        assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert name.endswith(".html") and len(name) <= 110
        assert Path("out", name).resolve().parent == Path("out").resolve()
    assert report_file_name("198406161993091548") == "198406161993091548.html"


# ---------------------------------------------------------------------------
# The organisation page
# ---------------------------------------------------------------------------


def test_organisation_categories_per_unit(asn):
    _, root = rendered(asn.reports / "organisation.html")
    employees = asn.results["employees"]
    units = Counter(r["unit"] for r in employees)
    table = root.find("table", test=lambda e: e.attrs.get("class") == "distribution")
    for unit, count in units.items():
        row = table.find("tr", data_unit=unit)
        assert row.find(data_field="employees").words() == str(count)
        categories = Counter((r["category"] or {}).get("code", "") for r in employees if r["unit"] == unit)
        for code in asn.meta["categories"]:
            assert row.find(data_category=code).words() == str(categories[code])
    insufficient = sum(r["status"] != "ok" for r in employees)
    assert cell(root, data_field="counts").startswith(f"{len(employees)} pegawai di {len(units)} unit kerja; {insufficient} ")


def test_organisation_nine_box_counts(asn):
    _, root = rendered(asn.reports / "organisation.html")
    boxes = Counter((r["classifications"].get("nine-box") or {}).get("code") for r in asn.results["employees"])
    grid = root.find(data_section="nine-box")
    for box in range(1, 10):
        assert grid.find("td", data_box=str(box)).find("span", test=lambda e: e.attrs.get("class") == "nb-value").words() == str(boxes[f"kotak-{box}"])
    # Official layout: box 9 top right, box 1 bottom left.
    rows = grid.find("table").find_all("tr")
    assert [td.attrs["data-box"] for td in rows[0].find_all("td")] == ["4", "7", "9"]
    assert [td.attrs["data-box"] for td in rows[2].find_all("td")] == ["1", "3", "6"]


def test_organisation_training_needs(asn):
    _, root = rendered(asn.reports / "organisation.html")
    summary = summarise(asn.meta, asn.results["employees"], [flag_from_dict(f) for f in asn.results["flags"]])
    names = {c["id"]: c["name"]["id"] for c in asn.meta["competencies"]}
    rows = root.find("table", test=lambda e: e.attrs.get("class") == "needs").find("tbody").find_all("tr")
    assert [(r.find_all("td")[0].words(), r.find(data_field="people").words(), r.find(data_field="mean-gap").words()) for r in rows] == [
        (names[n.competency], str(n.people), two(n.mean_gap)) for n in summary.training_needs()
    ]
    programmes = root.find("table", test=lambda e: e.attrs.get("class") == "programmes").find("tbody").find_all("tr")
    assert [(r.find(data_field="people").words(), r.find(data_field="hours").words()) for r in programmes] == [
        (str(p.people), f"{p.hours:g}") for p in summary.programme_needs()
    ]
    planned = sum(a["hours"] for r in asn.results["employees"] for e in r["development_plan"] for a in e["actions"])
    assert cell(root, data_field="hours-summary").startswith(f"Total {planned:g} JP direncanakan")


@pytest.fixture(scope="module")
def one_and_two_workers(asn, tmp_path_factory) -> tuple[Path, Path]:
    """The ASN reports in English with a small-cell minimum of 5, written in-process and by two worker processes."""
    folders = []
    for workers in (1, 2):
        out = tmp_path_factory.mktemp(f"workers-{workers}")
        HtmlReports().write(StoredRun(asn.run), out, "en", HtmlOptions(workers=workers, min_cell=5))
        folders.append(out)
    return folders[0], folders[1]


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_workers_write_the_same_bytes(asn, one_and_two_workers):
    alone, pooled = one_and_two_workers
    written = files(alone)
    assert len(written) == len(asn.results["employees"]) + 1
    assert files(pooled) == written


def test_spawned_workers_write_the_same_bytes(asn, one_and_two_workers, tmp_path):
    script = tmp_path / "spawned.py"
    script.write_text(
        "import multiprocessing, sys\n"
        "from pathlib import Path\n"
        "from appraisal.results import StoredRun\n"
        "from appraisal_plugins.report_html import HtmlOptions, HtmlReports\n"
        "if __name__ == '__main__':\n"
        "    multiprocessing.set_start_method('spawn')\n"
        "    HtmlReports().write(StoredRun(Path(sys.argv[1])), Path(sys.argv[2]), 'en', HtmlOptions(workers=2, min_cell=5))\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run([sys.executable, str(script), str(asn.run), str(out)], check=True, timeout=120)
    assert files(out) == files(one_and_two_workers[0])


def test_small_heatmap_cells_show_only_their_count(asn, one_and_two_workers):
    _, root = rendered(one_and_two_workers[0] / "organisation.html")
    employees = asn.results["employees"]
    table = root.find("table", test=lambda e: e.attrs.get("class") == "heat")
    small_units = {u for u, n in Counter(r["unit"] for r in employees).items() if n < 5}
    assert small_units
    for unit in Counter(r["unit"] for r in employees):
        cells = table.find("tr", data_unit=unit).find_all("td")
        for competency, td in zip(asn.meta["competencies"], cells, strict=True):
            scores = [c["score_shown"] for r in employees if r["unit"] == unit for c in r["competencies"]
                      if c["id"] == competency["id"] and c["score_shown"] is not None]
            assert td.attrs["data-n"] == str(len(scores))
            if len(scores) < 5:
                assert td.words() == f"n={len(scores)}"
            else:
                assert td.words() == two(sum(scores) / len(scores))


class CountingRun(StoredRun):
    """A stored run that counts how often its employee records are read."""

    reads = 0

    def employees(self):
        self.reads += 1
        return super().employees()


def test_records_are_read_once(asn, tmp_path):
    run = CountingRun(asn.run)
    written = HtmlReports().write(run, tmp_path, "id", HtmlOptions(workers=1))
    assert run.reads == 1
    assert len(written) == len(asn.results["employees"]) + 1
