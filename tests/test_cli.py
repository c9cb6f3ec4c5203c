"""The command line end to end: init → run → explain, validation, strict and lenient runs, atomic output."""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from appraisal import hookimpl, results
from appraisal.components import OutputFormat
from appraisal.rubric import DEFAULT_FLAG_RULES
from appraisal.testing import make_host
from appraisal_cli.cli import AppContext, cli

ROOT = Path(__file__).parent.parent


def invoke(*args: str, host=None):
    return CliRunner().invoke(cli, list(args), obj=AppContext(host=host or make_host()))


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "demo"
    result = invoke("init", str(folder))
    assert result.exit_code == 0, result.output
    return folder


def run_demo(demo: Path, out: Path, *extra: str, ratings: Path | None = None, host=None):
    return invoke(
        "run",
        "--rubric", str(demo / "rubric.yaml"),
        "--ratings", str(ratings or demo / "ratings.csv"),
        "--roster", str(demo / "roster.csv"),
        "--out", str(out),
        *extra,
        host=host,
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_init_writes_the_example(demo):
    assert sorted(p.name for p in demo.iterdir()) == ["README.md", "ratings.csv", "roster.csv", "rubric.schema.json", "rubric.yaml"]
    assert "# yaml-language-server: $schema=rubric.schema.json" in (demo / "rubric.yaml").read_text(encoding="utf-8")
    roster = read_csv(demo / "roster.csv")
    assert list(roster[0])[:5] == ["employee_id", "name", "unit", "position", "supervisor_id"]
    assert len(roster) == 24


def test_init_never_overwrites(demo):
    result = invoke("init", str(demo))
    assert result.exit_code == 1
    assert "will not overwrite" in result.output


@pytest.fixture(scope="module")
def demo_run(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    result = run_demo(demo, out)
    assert result.exit_code == 0, result.output
    return out, result


def test_run_writes_every_output(demo_run):
    out, result = demo_run
    assert sorted(p.name for p in out.iterdir()) == ["flags.csv", "manifest.json", "raters.csv", "results.csv", "results.json"]
    assert "24 employees; ratings read" in result.stdout
    assert not list(out.parent.glob(".out.staging-*"))


def test_results_csv_columns(demo_run, demo):
    out, _ = demo_run
    rows = read_csv(out / "results.csv")
    competencies = json.loads(invoke("rubric", "show", str(demo / "rubric.yaml"), "--json").stdout)["competencies"]
    assert list(rows[0]) == ["employee_id", "name", "unit", "overall_raw", "overall", "category", *[c["id"] for c in competencies]]
    assert [r["employee_id"] for r in rows] == [r["employee_id"] for r in read_csv(demo / "roster.csv")]
    assert {r["category"] for r in rows} <= {"Sangat Baik", "Baik", "Cukup", "Kurang", "Sangat Kurang", ""}


def test_manifest_accounts_for_everything(demo_run, demo):
    out, _ = demo_run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rubric"]["sha256"] == sha256(demo / "rubric.yaml")
    assert {i["path"]: i["sha256"] for i in manifest["inputs"]} == {
        str(demo / "ratings.csv"): sha256(demo / "ratings.csv"),
        str(demo / "roster.csv"): sha256(demo / "roster.csv"),
    }
    assert {o["file"]: o["sha256"] for o in manifest["outputs"]} == {
        name: sha256(out / name) for name in ("results.csv", "flags.csv", "raters.csv", "results.json")
    }
    ratings = manifest["rows"]["ratings"]
    n_rows = len(read_csv(demo / "ratings.csv"))
    assert (ratings["read"], ratings["accepted"], ratings["rejected"], ratings["balanced"]) == (n_rows, n_rows, 0, True)
    assert manifest["engine"]["name"] == "appraisal"
    assert any(p["name"] == "appraisal_plugins.weighting" and p["source"] == "built-in" for p in manifest["plugins"])
    steps = manifest["parameters"]["steps"]
    assert [s["step"] for s in steps] == ["weighting", "aggregation", "classification", "development"] + ["flags"] * 10
    assert [s["component"] for s in steps if s["step"] == "flags"] == list(DEFAULT_FLAG_RULES)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="workers are forked")
def test_results_json_built_by_forked_workers_is_the_same_file(demo, tmp_path, monkeypatch):
    from appraisal.ingest import ingest
    from appraisal.pipeline import run_pipeline
    from appraisal.runner import load_checked_rubric

    host = make_host()
    loaded = load_checked_rubric(host, demo / "rubric.yaml")
    run = results.ComputedRun(run_pipeline(host, loaded, ingest(host, loaded.rubric, [demo / "ratings.csv"], demo / "roster.csv")))
    results.write_results_json(run, tmp_path / "serial.json", workers=1)
    monkeypatch.setattr(results, "PARALLEL_MIN_EMPLOYEES", 2)
    monkeypatch.setattr(results, "RECORDS_PER_TASK", 5)
    parts = list(run.encoded_body(workers=2))
    batches, separators, rest = parts[:-1:2], parts[1:-1:2], parts[-1]
    assert len(batches) == 5  # 24 employees in batches of 5: the forked path, not one record at a time
    assert all(batch.count(b"\n") == min(5, 24 - 5 * k) - 1 for k, batch in enumerate(batches))
    assert separators == [b",\n"] * 4
    assert rest.startswith(b'\n],\n"flags": [\n') and rest.endswith(b"}\n")  # encoded by a worker too
    results.write_results_json(run, tmp_path / "parallel.json", workers=2)
    assert (tmp_path / "parallel.json").read_bytes() == (tmp_path / "serial.json").read_bytes()
    assert len(json.loads((tmp_path / "parallel.json").read_bytes())["employees"]) == 24


def test_an_output_digested_while_written_is_read_again_only_if_it_changed(tmp_path):
    from appraisal.output import DigestedOutput, output_digest

    path = tmp_path / "big.json"
    with DigestedOutput(path) as handle:
        handle.write(b"[1,\n")
        handle.write(b"2]\n")
    assert output_digest(path) == hashlib.sha256(b"[1,\n2]\n").hexdigest()
    with DigestedOutput(path) as handle:
        handle.write(b"[1]\n")
    with path.open("ab") as handle:  # changed after it was written: its size no longer matches
        handle.write(b"more\n")
    assert output_digest(path) == hashlib.sha256(b"[1]\nmore\n").hexdigest()
    with pytest.raises(RuntimeError), DigestedOutput(path) as handle:
        handle.write(b"half")
        raise RuntimeError("a writer failed")
    assert output_digest(path) == hashlib.sha256(b"half").hexdigest()  # nothing was recorded: read from the file


def test_results_json_encodes_what_plugins_put_in_a_record():
    """Plain values take orjson's fast path; numpy values and number keys (a plugin's details) still encode."""
    assert results._dumps({"x": 0.1, "none": None, "nan": float("nan")}) == b'{"x":0.1,"none":null,"nan":null}'
    encoded = results._dumps({"n": np.int64(3), "x": np.float64(0.5), 2: [np.nan], "a": np.arange(2)})
    assert json.loads(encoded) == {"n": 3, "x": 0.5, "2": [None], "a": [0, 1]}


def test_band_reasons_name_the_shown_score_and_the_band(demo_run):
    out, _ = demo_run
    run = json.loads((out / "results.json").read_bytes())
    starts = {"sangat-baik": (4.5, None), "baik": (3.5, 4.5), "cukup": (2.5, 3.5), "kurang": (1.5, 2.5), "sangat-kurang": (1.0, 1.5)}
    checked = 0
    for record in run["employees"]:
        category = record["category"]
        if category is None:
            assert record["overall_shown"] is None or record["status"] != "ok"
            continue
        low, high = starts[category["code"]]
        shown = f"{record['overall_shown']:.2f}"
        upper_id, upper_en = (f" dan < {high:g}", f" and < {high:g}") if high else ("", "")
        assert category["reason"] == {
            "id": f"{shown} ≥ {low:g}{upper_id} → {category['label']['id']}",
            "en": f"{shown} ≥ {low:g}{upper_en} → {category['label']['en']}",
        }
        checked += 1
    assert checked >= 20


def test_explain_reproduces_the_overall(demo_run):
    out, _ = demo_run
    rows = {r["employee_id"]: r for r in read_csv(out / "results.csv")}
    checked = 0
    for employee_id, row in rows.items():
        if not row["overall"]:
            continue
        result = invoke("explain", "--run", str(out), employee_id)
        assert result.exit_code == 0, result.output
        text = result.stdout
        # Step 5 shows the weighted mean of the clusters, evaluated here independently.
        expression, value = re.search(r"^   (\(.*\) / \(.*\)) = ([\d.]+)$", text, re.M).groups()
        numerator, denominator = expression.split(" / ")
        evaluated = eval(numerator.replace("×", "*")) / eval(denominator)  # noqa: S307 - our own arithmetic text
        assert evaluated == pytest.approx(float(value), abs=1e-3)
        shown = re.search(r"Dibulatkan ke 2 desimal \(setengah ke atas\): ([\d.]+)", text).group(1)
        assert shown == row["overall"]
        if row["category"]:
            assert f"→ {row['category']}" in text
        checked += 1
    assert checked >= 20


def test_explain_in_english_and_as_json(demo_run):
    out, _ = demo_run
    employee_id = read_csv(out / "results.csv")[1]["employee_id"]
    english = invoke("explain", "--run", str(out), employee_id, "--lang", "en")
    assert "Overall score = sum of (cluster weight × cluster score)" in english.stdout
    record = json.loads(invoke("explain", "--run", str(out), employee_id, "--json").stdout)
    assert record["employee_id"] == employee_id
    assert [step["step"] for step in record["trace"]] == [
        "ratings", "weighting", "calibration", "competency", "cluster", "overall", "uncertainty", "classification"
    ]


def test_explain_unknown_employee_or_run(demo_run, tmp_path):
    out, _ = demo_run
    assert invoke("explain", "--run", str(out), "nobody").exit_code == 1
    result = invoke("explain", "--run", str(tmp_path), "x")
    assert result.exit_code == 1 and "holds no results.json" in result.output


def test_lang_en_outputs(demo, tmp_path):
    result = run_demo(demo, tmp_path / "en", "--lang", "en")
    assert result.exit_code == 0
    categories = {r["category"] for r in read_csv(tmp_path / "en" / "results.csv")}
    assert categories & {"Good", "Fair", "Outstanding"} and not categories & {"Baik", "Cukup"}


def test_weighting_and_calibration_overrides_are_recorded(demo, tmp_path):
    result = run_demo(demo, tmp_path / "o", "--weighting", "equal-raters", "--calibration", "none", "--json")
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest["parameters"]["weighting_override"] == "equal-raters"
    assert manifest["parameters"]["calibration_override"] == []
    assert manifest["parameters"]["steps"][0]["component"] == "equal-raters"


def test_unknown_format_or_component_fails_cleanly(demo, tmp_path):
    result = run_demo(demo, tmp_path / "f", "--format", "csv,pdf")
    assert result.exit_code == 1
    assert "unknown output format 'pdf'; available: csv, html, json, xlsx" in result.output
    result = run_demo(demo, tmp_path / "w", "--weighting", "heavy")
    assert result.exit_code == 1 and "unknown weighting scheme 'heavy'" in result.output
    assert not (tmp_path / "f").exists() and not (tmp_path / "w").exists()


def test_usage_error_exits_2(demo):
    assert invoke("run", "--rubric", str(demo / "rubric.yaml")).exit_code == 2
    assert invoke("frobnicate").exit_code == 2


# ---------------------------------------------------------------------------
# Bad rows: strict and lenient
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_ratings(demo, tmp_path_factory) -> tuple[Path, int]:
    """The demo ratings with 60 broken rows (scores 9), so that more problems exist than are printed."""
    rows = read_csv(demo / "ratings.csv")
    for row in rows[:60]:
        row["score"] = "9"
    path = tmp_path_factory.mktemp("bad") / "ratings.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path, len(rows)


def test_strict_run_fails_and_writes_nothing(demo, bad_ratings, tmp_path):
    path, _ = bad_ratings
    out = tmp_path / "out"
    result = run_demo(demo, out, ratings=path)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"{path}:2: score: skor 9 di luar skala 1–5"
    assert len([line for line in lines if line.startswith(str(path))]) == 50
    assert "… dan 10 masalah lainnya" in lines
    assert "60 problems on 60 rows; nothing was written" in result.stderr
    assert not out.exists()


def test_failed_run_leaves_previous_outputs_untouched(demo, bad_ratings, demo_run):
    out, _ = demo_run
    before = {p.name: sha256(p) for p in out.iterdir()}
    path, _ = bad_ratings
    assert run_demo(demo, out, ratings=path).exit_code == 1
    assert {p.name: sha256(p) for p in out.iterdir()} == before


def test_lenient_run_scores_valid_rows_and_lists_rejects(demo, bad_ratings, tmp_path):
    path, n_rows = bad_ratings
    out = tmp_path / "out"
    result = run_demo(demo, out, "--lenient", ratings=path)
    assert result.exit_code == 0, result.output
    rejects = read_csv(out / "rejects.csv")
    assert len(rejects) == 60
    assert rejects[0]["row"] == "2" and rejects[0]["columns"] == "score" and rejects[0]["score"] == "9"
    assert rejects[0]["reason"] == "skor 9 di luar skala 1–5"
    rows = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["rows"]["ratings"]
    assert (rows["read"], rows["accepted"], rows["rejected"], rows["balanced"]) == (n_rows, n_rows - 60, 60, True)
    assert "60 rejected rows are listed in" in result.stdout
    # A later clean run into the same directory removes the stale rejects.csv.
    assert run_demo(demo, out).exit_code == 0
    assert not (out / "rejects.csv").exists()


def test_failing_writer_leaves_nothing_half_written(demo, demo_run):
    out, _ = demo_run
    before = {p.name: sha256(p) for p in out.iterdir()}

    class HalfWriter(OutputFormat):
        name = "half"

        def write(self, run, out_dir, lang, options):
            (out_dir / "results.csv").write_text("partial", encoding="utf-8")
            raise OSError("disk full")

    class Plugin:
        @hookimpl
        def register_output_formats(self, register):
            register(HalfWriter())

    result = run_demo(demo, out, "--format", "json,half", host=make_host(Plugin()))
    assert result.exit_code == 1
    assert "disk full" in result.output
    assert {p.name: sha256(p) for p in out.iterdir()} == before
    assert not list(out.parent.glob(".out.staging-*"))


# ---------------------------------------------------------------------------
# validate, rubric show, schema, plugins
# ---------------------------------------------------------------------------


def test_validate_good_and_bad(demo, bad_ratings):
    ok = invoke("validate", str(demo / "rubric.yaml"), "--ratings", str(demo / "ratings.csv"), "--roster", str(demo / "roster.csv"))
    assert ok.exit_code == 0, ok.output
    assert "valid; ratings read" in ok.stdout
    path, n_rows = bad_ratings
    bad = invoke("validate", str(demo / "rubric.yaml"), "--ratings", str(path), "--json")
    assert bad.exit_code == 1
    counts = json.loads(bad.stdout)["ratings"]
    assert (counts["read"], counts["accepted"], counts["rejected"]) == (n_rows, n_rows - 60, 60)
    assert f"{path}:51: score: skor 9 di luar skala 1–5" in bad.stderr  # the 50th problem, the last one printed
    assert f"{path}:52: " not in bad.stderr


def test_validate_builtin_rubric_by_name():
    result = invoke("validate", "asn-perilaku")
    assert result.exit_code == 0 and "valid rubric asn-perilaku" in result.stdout
    result = invoke("validate", "no-such-rubric")
    assert result.exit_code == 1
    assert "rubric 'no-such-rubric' is neither a file nor a built-in rubric" in invoke("validate", "no-such-rubric", "--lang", "en").output


@pytest.mark.parametrize("name_or_path", ["contoh-360", str(ROOT / "rubrics" / "contoh-360.yaml")])
def test_rubric_show_json(name_or_path):
    result = invoke("rubric", "show", name_or_path, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [c["id"] for c in data["competencies"]][:2] == ["penguasaan-tugas", "pengelolaan-data"]
    assert [g["id"] for g in data["rater_groups"]] == ["supervisor", "peer", "subordinate", "other", "self"]
    assert (data["scale"]["min"], data["scale"]["max"]) == (1, 5)
    assert data["scoring"]["weighting"] == {"name": "group-weights", "options": {}}


def test_rubric_show_text():
    result = invoke("rubric", "show", "contoh-360", "--lang", "en")
    assert result.exit_code == 0
    assert "contoh-360 2026.1: Example 360-degree Employee Appraisal" in result.stdout
    assert "scoring: weighting group-weights; calibration none; classification bands; development gap-training" in result.stdout


def test_schema_is_json_schema_and_docs_copy_is_current():
    result = invoke("schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "Appraisal rubric" and "clusters" in schema["required"]
    assert json.loads((ROOT / "docs" / "rubric.schema.json").read_text(encoding="utf-8")) == schema, (
        "docs/rubric.schema.json is stale: appraisal schema > docs/rubric.schema.json"
    )


def test_plugins_json_lists_builtins():
    records = json.loads(invoke("plugins", "--json").stdout)
    weighting = next(r for r in records if r["name"] == "appraisal_plugins.weighting")
    assert weighting["hooks"] == ["register_weighting_schemes"]
    assert weighting["source"] == "built-in" and weighting["version"]


def test_help_does_not_load_plugins():
    code = (
        "import sys\n"
        "from appraisal_cli.cli import cli\n"
        "try:\n    cli(['--help'], prog_name='appraisal')\nexcept SystemExit:\n    pass\n"
        "print('LOADED' if any(m.startswith('appraisal_plugins.') for m in sys.modules) else 'NOT LOADED')\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Usage: appraisal" in output and output.strip().endswith("NOT LOADED")


def test_simulate_writes_truth(tmp_path):
    result = invoke("simulate", "--rubric", "contoh-360", "--employees", "30", "--seed", "4", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    truth = read_csv(tmp_path / "truth.csv")
    assert len(truth) == 30 * 7 and list(truth[0]) == ["employee_id", "competency", "true_score"]
    again = tmp_path / "again"
    invoke("simulate", "--rubric", "contoh-360", "--employees", "30", "--seed", "4", "--out", str(again))
    assert sha256(again / "ratings.csv") == sha256(tmp_path / "ratings.csv")
