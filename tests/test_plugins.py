"""The hook contract, one test per hook, and how plugins are loaded, isolated and checked."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from appraisal import hookimpl, hookspecs
from appraisal.components import (
    Calibration,
    Calibrator,
    Classification,
    Classifier,
    Flag,
    Column,
    DevelopmentPlan,
    Example,
    FlagRule,
    InputTable,
    OutputFormat,
    PlanEntry,
    RawTable,
    Recommender,
    TableReader,
    WeightingScheme,
)
from appraisal.errors import AppraisalError, PluginError
from appraisal.ingest import ingest
from appraisal.plugins import DEFAULT_PLUGINS, get_plugin_host
from appraisal.runner import RunRequest, load_checked_rubric, run
from appraisal.testing import make_host, score_rows, write_rows
from appraisal.workers import can_fork
from appraisal_cli.cli import AppContext, cli

from test_scoring import HAND, ROWS

ROOT = Path(__file__).parent.parent
EXAMPLE_PLUGIN = ROOT / "docs" / "example-plugin" / "appraisal_supervisor_half.py"
HOOK_NAMES = sorted(name for name in dir(hookspecs) if name.startswith("register_"))


def plugin_module(name: str, source: str):
    """A real module object built from source, as pluggy sees an installed plugin."""
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(textwrap.dedent(source), module.__dict__)  # noqa: S102 - test-local source
    return module


# ---------------------------------------------------------------------------
# One test per hook
# ---------------------------------------------------------------------------


class PipeReader(TableReader):
    name = "pipe"
    suffixes = (".psv",)

    def read(self, path):
        lines = path.read_text(encoding="utf-8").splitlines()
        header = lines[0].split("|")
        records = [line.split("|") for line in lines[1:]]
        return RawTable(str(path), {h: [r[i] for r in records] for i, h in enumerate(header)}, np.arange(2, len(records) + 2))


def test_hook_register_readers(tmp_path):
    class Plugin:
        @hookimpl
        def register_readers(self, register):
            register(PipeReader())

    host = make_host(Plugin())
    path = tmp_path / "ratings.psv"
    path.write_text("ratee_id|rater_id|relationship|competency|score\nE1|S|supervisor|b|4\nE1|S|supervisor|c|x\n", encoding="utf-8")
    inputs = ingest(host, host_rubric(host), [path])
    assert inputs.frame.score.tolist() == [4.0]
    assert [(r.row, r.problems[0].message.code) for r in inputs.report.rejected] == [(3, "score_not_numeric")]
    assert host.components("reader")["pipe"].plugin == "Plugin"


def rubric_variant(tmp_path: Path, scoring: str, *, replace: bool = False) -> Path:
    """The hand rubric with lines added to its ``scoring:`` section (or replacing it), written to a file."""
    head, tail = HAND.read_text(encoding="utf-8").split("scoring:\n")
    path = tmp_path / "rubric.yaml"
    path.write_text(f"{head}scoring:\n  {scoring}\n{'' if replace else tail}", encoding="utf-8")
    return path


def host_rubric(host):
    from appraisal.runner import load_checked_rubric

    return load_checked_rubric(host, HAND).rubric


def test_hook_register_input_tables(tmp_path):
    class Decisions(InputTable):
        name = "decisions"
        key = "employee_id"
        columns = {
            "employee_id": Column("employee"),
            "verdict": Column("pass or fail", choices={"pass": "PASS", "lulus": "PASS", "fail": "FAIL", "gagal": "FAIL"}),
            "note": Column("free text", required=False),
        }

    class Units(InputTable):
        name = "units"
        key = "unit"
        columns = {"unit": Column("unit"), "size": Column("headcount")}

    class Plugin:
        @hookimpl
        def register_input_tables(self, register):
            register(Decisions())
            register(Units())

    host = make_host(Plugin())
    ratings = write_rows(tmp_path / "ratings.csv", ROWS + [("E2", "S", "supervisor", "b", "", 3)])
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(
        "employee_id,verdict,note\nE1,Lulus,ok\nE9,pass,\nE2,maybe,\nE1,Lulus,ok\n", encoding="utf-8"
    )
    units = tmp_path / "units.csv"
    units.write_text("unit,size\nA,3\nB,4\nA,5\n", encoding="utf-8")
    inputs = ingest(host, host_rubric(host), [ratings], None, {"decisions": decisions, "units": units})
    assert inputs.employees.extra["verdict"].tolist() == ["PASS", ""]  # E1 (canonical), E2 rejected
    assert inputs.employees.extra["note"].tolist() == ["ok", ""]
    assert {column: values.tolist() for column, values in inputs.tables["units"].items()} == {"unit": ["B"], "size": ["4"]}
    rejected = {(Path(r.file).name, r.row): [p.message.code for p in r.problems] for r in inputs.report.rejected}
    assert rejected == {
        ("decisions.csv", 3): ["input_unknown_employee"],
        ("decisions.csv", 4): ["input_bad_choice"],
        ("decisions.csv", 5): ["input_duplicate"],
        ("units.csv", 2): ["input_conflict"],
        ("units.csv", 4): ["input_conflict"],
    }
    counts = {c.kind: (c.read, c.accepted, c.rejected) for c in inputs.report.counts}
    assert counts["decisions"] == (4, 1, 3) and counts["units"] == (3, 1, 2)


class SupervisorOnly(WeightingScheme):
    name = "supervisor-only"

    def weights(self, cells, data, options):
        return (cells.group == data.rubric.layout.group_ids.index("supervisor")).astype(float)


def test_hook_register_weighting_schemes(tmp_path):
    class Plugin:
        @hookimpl
        def register_weighting_schemes(self, register):
            register(SupervisorOnly())

    record = score_rows(make_host(Plugin()), HAND, ROWS, tmp_path, weighting="supervisor-only").record(0)
    # Supervisor alone: A 4.5, B 3, C 4 -> X 4.5, Y 3.5 -> (2*4.5 + 2*3.5)/4 = 4.0
    assert [c["score"] for c in record["competencies"]] == [4.5, 3.0, 4.0]
    assert record["overall"] == 4.0


class PlusOne(Calibrator):
    name = "plus-one"
    summary = "adds one to every rating"

    def calibrate(self, scores, data, options):
        return Calibration(scores=scores + 1, summary={"added": 1}, rater_effects=np.full(len(data.frame.raters), -1.0))


def test_hook_register_calibrators(tmp_path):
    class Plugin:
        @hookimpl
        def register_calibrators(self, register):
            register(PlusOne())

    run_view = score_rows(make_host(Plugin()), HAND, ROWS, tmp_path, calibration=["plus-one"])
    record = run_view.record(0)
    # Final = raw + 1 everywhere (a weighted mean of scores + 1); raw unchanged; self not calibrated.
    assert record["overall_raw"] == pytest.approx(3.8125)
    assert record["overall"] == pytest.approx(4.8125)
    a = record["competencies"][0]
    assert a["score"] == pytest.approx(a["score_raw"] + 1)
    assert [g["mean_calibrated"] for g in a["groups"] if g.get("counted")] == pytest.approx([5.5, 4.5])
    assert a["self"] == 5.0
    step = next(s for s in run_view.meta["steps"] if s["step"] == "calibration")
    assert step == {"step": "calibration", "component": "plus-one", "plugin": "Plugin", "options": {}, "summary": {"added": 1}}
    assert run_view.outcome.rater_effects["plus-one"].effect.tolist() == [-1.0] * len(run_view.outcome.inputs.frame.raters)


def test_calibrator_that_breaks_the_contract_is_named(tmp_path):
    class FillsGaps(Calibrator):
        name = "fills-gaps"

        def calibrate(self, scores, data, options):
            return Calibration(scores=np.nan_to_num(scores, nan=3.0))

    class Plugin:
        @hookimpl
        def register_calibrators(self, register):
            register(FillsGaps())

    with pytest.raises(PluginError, match="'fills-gaps' from plugin 'Plugin' changed which ratings are 'not observed'"):
        score_rows(make_host(Plugin()), HAND, ROWS, tmp_path, calibration=["fills-gaps"])


def test_crashing_component_is_reported_with_its_plugin(tmp_path):
    class Crashes(WeightingScheme):
        name = "crashes"

        def weights(self, cells, data, options):
            raise ZeroDivisionError("oops")

    class Plugin:
        @hookimpl
        def register_weighting_schemes(self, register):
            register(Crashes())

    with pytest.raises(PluginError, match="weighting scheme 'crashes' from plugin 'Plugin' failed: ZeroDivisionError: oops"):
        score_rows(make_host(Plugin()), HAND, ROWS, tmp_path, weighting="crashes")


def test_hook_register_classifiers(tmp_path):
    class PassFail(Classifier):
        name = "pass-fail"

        def classify(self, scores, data, options):
            passed = scores.shown_overall >= 3.5
            return Classification(
                categories=np.where(passed, "pass", "fail").astype(object),
                labels={"pass": {"id": "Lulus", "en": "Pass"}, "fail": {"id": "Gagal", "en": "Fail"}},
                reasons=[{"id": "ambang 3.5", "en": "threshold 3.5"}] * len(passed),
            )

    class Plugin:
        @hookimpl
        def register_classifiers(self, register):
            register(PassFail())

    path = rubric_variant(tmp_path, "classification: pass-fail", replace=True)
    run = score_rows(make_host(Plugin()), path, ROWS, tmp_path)
    assert run.record(0)["category"] == {"code": "pass", "label": {"id": "Lulus", "en": "Pass"}, "reason": {"id": "ambang 3.5", "en": "threshold 3.5"}}
    # Without a title of its own, reports call the classification by the component's name.
    assert [(c["name"], c["title"]) for c in run.meta["classifications"]] == [("pass-fail", {"id": "pass-fail", "en": "pass-fail"})]
    PassFail.title = {"id": "Kelulusan", "en": "Pass or fail"}
    titled = score_rows(make_host(Plugin()), path, ROWS, tmp_path)
    assert titled.meta["classifications"][0]["title"] == {"id": "Kelulusan", "en": "Pass or fail"}


def test_hook_register_recommenders(tmp_path):
    class Lowest(Recommender):
        name = "lowest"

        def recommend(self, scores, data, options):
            plans = []
            for e in range(len(data.employees)):
                c = int(np.nanargmin(scores.competency[e]))
                value = float(scores.competency[e, c])
                entry = PlanEntry(competency=data.rubric.layout.competency_ids[c], required=4, achieved=value, gap=4 - value, priority=1)
                plans.append(DevelopmentPlan([entry], insights={"lowest": value}))
            return plans

    class Plugin:
        @hookimpl
        def register_recommenders(self, register):
            register(Lowest())

    path = rubric_variant(tmp_path, "development: lowest")
    record = score_rows(make_host(Plugin()), path, ROWS, tmp_path).record(0)
    assert record["development_plan"] == [{"competency": "b", "required": 4.0, "achieved": 3.0, "gap": 1.0, "priority": 1.0, "actions": []}]
    assert record["development"] == {"lowest": pytest.approx(3.0)}


def test_hook_register_flag_rules(tmp_path):
    class LowB(FlagRule):
        name = "low-b"

        def flags(self, scores, data, options):
            b = data.rubric.layout.competency_index["b"]
            return [
                self.employee_flag(data, e, "review", "B rendah", "B is low", competency="b",
                                   statistic=float(scores.competency[e, b]), threshold=3.5)
                for e in np.flatnonzero(scores.competency[:, b] < 3.5)
            ]

    class Plugin:
        @hookimpl
        def register_flag_rules(self, register):
            register(LowB())

    path = rubric_variant(tmp_path, "flags: [low-b, anonymity]")
    run_view = score_rows(make_host(Plugin()), path, ROWS, tmp_path)
    rules = [(f.rule, f.statistic) for f in run_view.flags() if f.rule != "leave-one-rater-out"]  # a core check
    assert ("low-b", pytest.approx(3.0)) in rules
    assert {rule for rule, _ in rules} == {"low-b", "anonymity"}  # only the rules the rubric names


class WhereChecked(FlagRule):
    """Reads only the ratings: raises one flag whose statistic is the id of the process that checked
    it, and whose message says what it was given."""

    name = "where-checked"
    reads_scores = False

    def flags(self, scores, data, options):
        given = f"scores={scores is not None} classifications={bool(data.classifications)} weights={data.weights is not None}"
        return [self.employee_flag(data, 0, "info", given, given, statistic=float(os.getpid()), threshold=0.0)]


class CrashingRule(FlagRule):
    name = "crashes"

    def flags(self, scores, data, options):
        raise ZeroDivisionError("oops")


class FlagPlugin:
    @hookimpl
    def register_flag_rules(self, register):
        register(WhereChecked())
        register(CrashingRule())


@pytest.mark.skipif(not can_fork(), reason="flag rules are checked in forked workers")
def test_flag_rules_checked_in_forked_workers_give_the_same_flags(tmp_path, monkeypatch):
    from appraisal import pipeline

    demo = tmp_path / "demo"
    assert CliRunner().invoke(cli, ["init", str(demo)], obj=AppContext(host=make_host())).exit_code == 0
    path = tmp_path / "rubric.yaml"
    path.write_text((demo / "rubric.yaml").read_text(encoding="utf-8").replace("scoring:\n", "scoring:\n  flags: [defaults, where-checked]\n"), encoding="utf-8")

    def outcome():
        host = make_host(FlagPlugin())
        loaded = load_checked_rubric(host, path)
        return pipeline.run_pipeline(host, loaded, ingest(host, loaded.rubric, [demo / "ratings.csv"], demo / "roster.csv"))

    here = outcome()
    monkeypatch.setattr(pipeline, "PARALLEL_FLAGS_MIN_EMPLOYEES", 2)
    forked = outcome()
    def checked_in(run) -> float:
        return next(f.statistic for f in run.flags if f.rule == "where-checked")

    assert checked_in(here) == os.getpid() and checked_in(forked) != os.getpid()
    given = {run.flags[[f.rule for f in run.flags].index("where-checked")].message["en"] for run in (here, forked)}
    assert given == {"scores=False classifications=False weights=True"}  # the same input in either place
    strip = lambda flags: [f for f in flags if f.rule != "where-checked"]  # noqa: E731
    assert len(strip(forked.flags)) > 5 and strip(forked.flags) == strip(here.flags)  # same flags, same order
    assert [s.as_dict() for s in forked.steps] == [s.as_dict() for s in here.steps]

    path.write_text(path.read_text(encoding="utf-8").replace("where-checked]", "where-checked, crashes]"), encoding="utf-8")
    with pytest.raises(PluginError, match="flag rule 'crashes' from plugin 'FlagPlugin' failed: ZeroDivisionError: oops"):
        outcome()


def test_hook_register_output_formats(tmp_path):
    class Summary(OutputFormat):
        name = "summary"

        def write(self, run, out_dir, lang, options):
            path = out_dir / "summary.txt"
            lines = [f"{r['employee_id']} {r['overall_shown']}" for r in run.employees()]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return [path]

    class Plugin:
        @hookimpl
        def register_output_formats(self, register):
            register(Summary())

    ratings = write_rows(tmp_path / "ratings.csv", ROWS)
    request = RunRequest(rubric=str(HAND), ratings=[ratings], out_dir=tmp_path / "out", formats=["summary"])
    result = run(make_host(Plugin()), request)
    assert (tmp_path / "out" / "summary.txt").read_text(encoding="utf-8") == "E1 3.81\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["manifest.json", "summary.txt"]
    assert [o["file"] for o in result.manifest["outputs"]] == ["summary.txt"]


def test_hook_register_examples(tmp_path):
    class Tiny(Example):
        name = "tiny"

        def write(self, target):
            target.mkdir(parents=True)
            rubric = target / "rubric.yaml"
            rubric.write_text(HAND.read_text(encoding="utf-8"), encoding="utf-8")
            return [rubric, write_rows(target / "ratings.csv", ROWS)]

    class Plugin:
        @hookimpl
        def register_examples(self, register):
            register(Tiny())

    host = make_host(Plugin())
    result = CliRunner().invoke(cli, ["init", "--profile", "tiny", str(tmp_path / "t")], obj=AppContext(host=host))
    assert result.exit_code == 0, result.output
    assert f"appraisal run --rubric {tmp_path / 't' / 'rubric.yaml'}" in result.stdout
    assert {"contoh", "asn", "tiny"} <= set(host.components("example"))
    result = CliRunner().invoke(cli, ["init", "--profile", "nope", str(tmp_path / "u")], obj=AppContext(host=host))
    assert result.exit_code == 1 and "unknown example 'nope'; available: asn, contoh, tiny" in result.output


def test_every_hook_has_a_test():
    tests = {name for name in globals() if name.startswith("test_hook_")}
    assert {f"test_hook_{hook}" for hook in HOOK_NAMES} <= tests


def test_every_hook_is_documented_with_its_signature():
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    for hook in HOOK_NAMES:
        caller = getattr(make_host().pm.hook, hook)
        assert f"## {hook}({', '.join(caller.spec.argnames)})" in docs, hook
        assert getattr(hookspecs, hook).__doc__.count(":param") == len(caller.spec.argnames)


# ---------------------------------------------------------------------------
# Built-ins are ordinary plugins
# ---------------------------------------------------------------------------


def test_builtins_register_through_the_same_manager(host):
    records = {r["name"]: r for r in host.describe()}
    assert set(DEFAULT_PLUGINS) <= set(records)
    assert all(records[name]["source"] == "built-in" for name in DEFAULT_PLUGINS)
    assert records["appraisal_plugins.weighting"]["components"] == {"weighting scheme": ["equal-groups", "equal-raters", "group-weights"]}


def test_builtin_plugins_do_not_import_the_cli():
    for path in (ROOT / "plugins").glob("*.py"):
        assert not re.search(r"^\s*(from|import)\s+(appraisal_)?cli\b", path.read_text(encoding="utf-8"), re.M), path


def test_installed_plugins_package_is_ours():
    import appraisal_plugins

    assert Path(appraisal_plugins.__file__).resolve().parent == (ROOT / "plugins").resolve() or "site-packages" in appraisal_plugins.__file__


# ---------------------------------------------------------------------------
# Checks at registration
# ---------------------------------------------------------------------------


def test_misspelled_hook_fails_loudly():
    class Typo:
        @hookimpl
        def register_weighting_scheme(self, register):  # missing "s"
            pass

    with pytest.raises(Exception, match="register_weighting_scheme"):
        make_host(Typo())


def test_name_clash_names_both_plugins():
    class Clash:
        @hookimpl
        def register_weighting_schemes(self, register):
            class Again(SupervisorOnly):
                name = "equal-raters"

            register(Again())

    with pytest.raises(PluginError, match="'equal-raters' is registered by both 'appraisal_plugins.weighting' and 'Clash'"):
        make_host(Clash())


def test_wrong_component_type_is_refused():
    class Wrong:
        @hookimpl
        def register_weighting_schemes(self, register):
            register(PlusOne())

    with pytest.raises(PluginError, match="is not a appraisal.components.WeightingScheme"):
        make_host(Wrong())


def test_failed_registration_leaves_no_trace():
    host = make_host()
    before = host.describe()

    class Clash:
        @hookimpl
        def register_calibrators(self, register):
            register(PlusOne())
            register(PlusOne())

    with pytest.raises(PluginError):
        host.register(Clash(), "Clash", host.info["appraisal_plugins.weighting"])
    assert host.describe() == before
    assert not host.pm.has_plugin("Clash")


def test_results_do_not_depend_on_registration_order(tmp_path):
    class A:
        @hookimpl
        def register_weighting_schemes(self, register):
            register(SupervisorOnly())

    class B:
        @hookimpl
        def register_calibrators(self, register):
            register(PlusOne())

    first = score_rows(make_host(A(), B()), HAND, ROWS, tmp_path, weighting="supervisor-only", calibration=["plus-one"])
    second = score_rows(make_host(B(), A()), HAND, ROWS, tmp_path, weighting="supervisor-only", calibration=["plus-one"])
    assert first.record(0) == second.record(0)


def test_unknown_component_lists_what_exists(tmp_path):
    with pytest.raises(AppraisalError, match="unknown weighting scheme 'nope'; available: equal-groups, equal-raters, group-weights"):
        score_rows(make_host(), HAND, ROWS, tmp_path, weighting="nope")


def test_component_options_are_validated_by_the_component(tmp_path):
    path = rubric_variant(tmp_path, "weighting: {name: group-weights, options: {weights: {boss: 1}, extra: 2}}")
    rubric = path.read_text(encoding="utf-8")
    line = rubric.splitlines().index("scoring:") + 2
    result = CliRunner().invoke(cli, ["validate", str(path), "--lang", "en"], obj=AppContext(host=make_host()))
    assert result.exit_code == 1
    assert result.output == f"{path}:{line}: scoring.weighting.options.extra: unknown key 'extra' (check the spelling); allowed: weights\n"
    # unknown group ids are checked by the component once its options parse
    path.write_text(rubric.replace(", extra: 2", ""), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(path), "--lang", "en"], obj=AppContext(host=make_host()))
    assert result.exit_code == 1
    assert f"{path}:{line}: scoring.weighting.options.weights.boss: 'boss' is not a rater group of this rubric" in result.output


# ---------------------------------------------------------------------------
# Entry points, local plugins, broken plugins
# ---------------------------------------------------------------------------


def install_fake_distribution(site: Path, name: str, module: str, source: str, entry: str | None = None) -> None:
    """A real (unzipped) distribution on sys.path: importlib.metadata finds its entry points."""
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{name.replace('-', '_')}-1.2.3.dist-info"  # dist-info names use underscores
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[appraisal]\n{entry or module} = {module}\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for module in [m for m in sys.modules if m.startswith("fake_")]:
        del sys.modules[module]


GOOD_PLUGIN = EXAMPLE_PLUGIN.read_text(encoding="utf-8")


def test_entry_point_plugin_is_loaded_with_its_distribution(site):
    install_fake_distribution(site, "appraisal-supervisor-half", "fake_half", GOOD_PLUGIN, "supervisor_half")
    host = get_plugin_host()
    record = next(r for r in host.describe() if r["name"] == "supervisor_half")
    assert record == {
        "name": "supervisor_half",
        "version": "1.2.3",
        "source": "distribution appraisal-supervisor-half",
        "hooks": ["register_weighting_schemes"],
        "components": {"weighting scheme": ["supervisor-half"]},
    }


@pytest.mark.parametrize(
    "source",
    ["raise ImportError('no such library')", "from appraisal import hookimpl\n@hookimpl\ndef register_weighting_scheme(register): pass"],
    ids=["import-error", "hook-typo"],
)
def test_broken_entry_point_is_skipped_and_reported(site, source):
    install_fake_distribution(site, "appraisal-broken", "fake_broken", source)
    install_fake_distribution(site, "appraisal-supervisor-half", "fake_half", GOOD_PLUGIN, "supervisor_half")
    host = get_plugin_host()
    assert [f.name for f in host.failures] == ["fake_broken"]
    assert not host.pm.has_plugin("fake_broken")
    assert "supervisor-half" in host.components("weighting scheme")  # the others still load
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    assert [f["name"] for f in listed["failed"]] == ["fake_broken"]
    assert "failed to load and is skipped" in result.stderr
    assert CliRunner().invoke(cli, ["--help"]).exit_code == 0


def test_strict_mode_makes_a_broken_plugin_fatal(site, monkeypatch):
    install_fake_distribution(site, "appraisal-broken", "fake_broken", "raise ImportError('no such library')")
    monkeypatch.setenv("APPRAISAL_STRICT_PLUGINS", "1")
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 1
    assert "plugin 'fake_broken' (distribution appraisal-broken) failed to load" in result.stderr


def test_disabled_plugin_is_not_imported(site, monkeypatch):
    install_fake_distribution(site, "appraisal-broken", "fake_broken", "raise ImportError('must not be imported')")
    monkeypatch.setenv("APPRAISAL_DISABLE_PLUGINS", "fake_broken")
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0
    assert "fake_broken" not in result.stdout
    assert "fake_broken" not in sys.modules


def test_local_plugin_file_runs_by_name_from_the_cli(tmp_path):
    """The documented example plugin, loaded with --plugin, runs by name; its numbers are checked by hand."""
    ratings = write_rows(tmp_path / "ratings.csv", ROWS)
    path = rubric_variant(tmp_path, "weighting: {name: supervisor-half, options: {share: 0.6}}")
    result = CliRunner().invoke(
        cli,
        ["--plugin", str(EXAMPLE_PLUGIN), "run", "--rubric", str(path), "--ratings", str(ratings), "--out", str(tmp_path / "out"), "-q"],
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["employees"][0]
    # A: .6*4.5 + .4*3.5 = 4.1; B: .6*3 + .4*3 = 3.0; C: supervisor alone (peers hidden) = 4.0
    # X = 4.1, Y = 3.5, overall = (2*4.1 + 2*3.5)/4 = 3.8
    assert [c["score"] for c in record["competencies"]] == pytest.approx([4.1, 3.0, 4.0])
    assert record["overall"] == pytest.approx(3.8)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    weighting = next(s for s in manifest["parameters"]["steps"] if s["step"] == "weighting")
    assert weighting["component"] == "supervisor-half" and weighting["options"] == {"share": 0.6}
    assert weighting["plugin"] == str(EXAMPLE_PLUGIN)


def test_local_plugin_that_fails_is_an_error(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--plugin", str(broken), "plugins"])
    assert result.exit_code == 1
    assert f"plugin {str(broken)!r} failed to load: RuntimeError: boom" in result.output
