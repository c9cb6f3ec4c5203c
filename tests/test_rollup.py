"""`appraisal rollup`: agency runs merged into one table, with every refusal named."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from appraisal.testing import make_host
from appraisal_cli.cli import AppContext, cli


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), obj=AppContext(host=make_host()))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def agencies(tmp_path_factory) -> Path:
    """The example's ratings split by ratee into two agencies, each run on its own."""
    root = tmp_path_factory.mktemp("rollup")
    assert invoke("init", str(root / "demo")).exit_code == 0
    rows = read_csv(root / "demo" / "ratings.csv")
    ratees = sorted({r["ratee_id"] for r in rows})
    for name, part in (("dinas-a", ratees[:12]), ("dinas-b", ratees[12:])):
        path = root / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(r for r in rows if r["ratee_id"] in part)
        result = invoke("run", "--rubric", str(root / "demo" / "rubric.yaml"), "--ratings", str(path), "--out", str(root / name), "-q")
        assert result.exit_code == 0, result.output
    return root


def test_rollup_merges_the_agencies_results(agencies, tmp_path):
    result = invoke("rollup", str(agencies / "dinas-a"), str(agencies / "dinas-b"), "--out", str(tmp_path / "nasional"))
    assert result.exit_code == 0, result.output
    merged = read_csv(tmp_path / "nasional" / "results.csv")
    parts = {name: read_csv(agencies / name / "results.csv") for name in ("dinas-a", "dinas-b")}
    assert merged == [{"agency": name, **row} for name, rows in parts.items() for row in rows]
    summary = json.loads((tmp_path / "nasional" / "rollup.json").read_text(encoding="utf-8"))
    manifests = {name: json.loads((agencies / name / "manifest.json").read_text(encoding="utf-8")) for name in parts}
    assert [a["employees"] for a in summary["agencies"]] == [12, 12]
    assert summary["total"]["employees"] == 24
    assert summary["total"]["ratings"]["read"] == sum(m["rows"]["ratings"]["read"] for m in manifests.values())
    assert summary["total"]["categories"] == dict(Counter(row["category"] for rows in parts.values() for row in rows))
    assert [a["inputs"] for a in summary["agencies"]] == [m["inputs"] for m in manifests.values()]
    assert "2 agencies, 24 employees" in result.output


def test_rollup_refuses_what_would_make_the_table_wrong_and_names_it(agencies, tmp_path):
    twice = tmp_path / "dinas-c"  # the same employees as dinas-a
    shutil.copytree(agencies / "dinas-a", twice)
    edited = tmp_path / "dinas-d"  # results.csv changed after its run
    shutil.copytree(agencies / "dinas-b", edited)
    (edited / "results.csv").write_text((edited / "results.csv").read_text(encoding="utf-8").replace(",", ";", 1), encoding="utf-8")
    other = tmp_path / "dinas-e"  # another rubric
    shutil.copytree(agencies / "dinas-b", other)
    manifest = json.loads((other / "manifest.json").read_text(encoding="utf-8"))
    manifest["rubric"] |= {"sha256": "0" * 64, "id": "lain"}
    (other / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    out = tmp_path / "nasional"
    result = invoke("rollup", str(agencies / "dinas-a"), str(twice), str(edited), str(other), str(tmp_path), "--out", str(out), "--lang", "en")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    first = read_csv(agencies / "dinas-a" / "results.csv")[0]["employee_id"]
    assert f"{twice / 'results.csv'}:2: employee_id: employee '{first}' is also appraised by agency 'dinas-a'" in lines
    assert f"{edited / 'results.csv'}: the file changed after the run wrote it (SHA-256 differs from manifest.json); run this agency again" in lines
    assert any(line.startswith(f"{other / 'manifest.json'}: rubric.sha256: scored with another rubric ('lain')") for line in lines)
    assert any(line.startswith(f"{tmp_path}: not an `appraisal run` output folder") for line in lines)
    assert not out.exists()  # nothing half-written


def test_agencies_simulated_separately_never_share_an_id():
    from appraisal.runner import load_checked_rubric
    from appraisal.simulate import SimulationSettings, simulate

    rubric = load_checked_rubric(make_host(), "asn").rubric

    def ids(**settings) -> list[str]:
        return simulate(rubric, SimulationSettings(employees=3000, seed=7, **settings)).roster.column("employee_id").to_pylist()

    first, second = ids(agency=1), ids(agency=2)  # the same seed: without the blocks they would be the same ids
    assert not set(first) & set(second)
    assert {int(i[-3:]) for i in first} <= set(range(1, 10)) and {int(i[-3:]) for i in second} <= set(range(10, 19))
    assert len(set(first)) == 3000 and all(len(i) == 18 for i in first)
    assert ids() == ids(agency=0) and len({int(i[-3:]) for i in ids()}) > 100  # one organisation: ids as before
