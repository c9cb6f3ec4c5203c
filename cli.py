"""The ``appraisal`` command line.

A thin layer: every command parses options, calls the engine, and turns
domain errors into messages and exit codes (0 success, 1 invalid input or
failed run, 2 usage error).  Plugins are loaded lazily, only by commands that
need them, so ``--help`` stays fast and a broken plugin never blocks it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
LANG_CHOICE = click.Choice(["id", "en"])


class AppContext:
    """Per-invocation state; builds the plugin host on first use."""

    def __init__(self, local_plugins: tuple[str, ...] = (), verbose: bool = False, host: Any = None) -> None:
        self.local_plugins = local_plugins
        self.verbose = verbose
        self._host = host

    @property
    def host(self) -> Any:
        if self._host is None:
            from appraisal.plugins import get_plugin_host

            blocked = [name for name in os.environ.get("APPRAISAL_DISABLE_PLUGINS", "").split(",") if name.strip()]
            self._host = get_plugin_host(
                local_plugins=self.local_plugins,
                blocked=blocked,
                strict=os.environ.get("APPRAISAL_STRICT_PLUGINS", "") not in ("", "0"),
            )
            for failure in self._host.failures:
                click.echo(
                    f"warning: plugin {failure.name!r} ({failure.source}) failed to load and is skipped: {failure.error}",
                    err=True,
                )
        return self._host


@contextmanager
def domain_errors(app: AppContext, lang: str = "id") -> Iterator[None]:
    """Turn engine errors into exit code 1 with a readable message."""
    from appraisal.errors import AppraisalError, ProblemsError

    try:
        yield
    except ProblemsError as exc:
        click.echo(exc.format(lang), err=True)
        raise SystemExit(1) from None
    except AppraisalError as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, FileExistsError) as exc:
        if app.verbose:
            raise
        raise click.ClickException(str(exc)) from None


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="appraisal", prog_name="appraisal")
@click.option(
    "plugins",
    "--plugin",
    multiple=True,
    metavar="MODULE_OR_FILE",
    help="Load a plugin from an importable module or a .py file, without packaging it. Repeatable.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks of unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, plugins: tuple[str, ...], verbose: bool) -> None:
    """360-degree competency appraisal: YAML rubrics in, explainable scores out.

    \b
    Start with:  appraisal init demo
    Then:        appraisal run --rubric demo/rubric.yaml --ratings demo/ratings.csv \\
                               --roster demo/roster.csv --out demo/out
    """
    if ctx.obj is None:
        ctx.obj = AppContext(plugins, verbose)


pass_app = click.pass_obj


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--profile",
    default="contoh",
    show_default=True,
    help="Which example: contoh (a generic 360), asn (a fictional civil-service agency); `appraisal plugins` lists all.",
)
@pass_app
def init(app: AppContext, directory: Path, profile: str) -> None:
    """Write a small working example into DIRECTORY: rubric, roster, ratings and a README for HR."""
    with domain_errors(app):
        written = app.host.component("example", profile).component.write(directory)
    for path in written:
        click.echo(f"wrote {path}")
    inputs = "".join(
        f" --input {path.stem}={path}" for path in written if path.name in ("keputusan-atasan.csv", "predikat-unit.csv")
    )
    click.echo(
        f"\nNext / berikutnya:\n  appraisal run --rubric {directory / 'rubric.yaml'} --ratings {directory / 'ratings.csv'} "
        f"--roster {directory / 'roster.csv'}{inputs} --out {directory / 'out'}"
    )


def _print_warnings(problems: list[Any], lang: str, quiet: bool) -> None:
    from appraisal.errors import MAX_PROBLEMS_SHOWN

    if quiet or not problems:
        return
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        click.echo(problem.format(lang), err=True)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        click.echo(f"… +{len(problems) - MAX_PROBLEMS_SHOWN} warnings", err=True)


def _input_tables(values: tuple[str, ...]) -> dict[str, Path]:
    """``--input NAME=FILE`` (or ``--input FILE``, named after the file) as a name → path mapping."""
    tables: dict[str, Path] = {}
    for value in values:
        name, _, path = value.rpartition("=") if "=" in value else ("", "", value)
        name = name or Path(path).stem
        if name in tables:
            raise click.BadParameter(f"{name!r} is given twice", param_hint="--input")
        tables[name] = Path(path)
    return tables


def _counts_line(totals: dict[str, Any]) -> str:
    ratings = totals["ratings"]
    return (
        f"ratings read {ratings['read']} = accepted {ratings['accepted']} + rejected {ratings['rejected']} "
        f"(not observed among accepted: {ratings['not_observed']}); warnings {totals['warnings']}"
    )


@cli.command()
@click.argument("rubric")
@click.option("ratings", "--ratings", multiple=True, type=click.Path(path_type=Path), help="Ratings file(s) to check.")
@click.option("--roster", type=click.Path(path_type=Path), help="Roster file to check.")
@click.option("inputs", "--input", multiple=True, metavar="NAME=FILE", help="A further input table to check (repeatable).")
@click.option("--lang", type=LANG_CHOICE, help="Language of messages (default: the rubric's).")
@click.option("json_", "--json", is_flag=True, help="Print the row counts as JSON.")
@pass_app
def validate(
    app: AppContext,
    rubric: str,
    ratings: tuple[Path, ...],
    roster: Path | None,
    inputs: tuple[str, ...],
    lang: str | None,
    json_: bool,
) -> None:
    """Check RUBRIC (a file or built-in name) and, optionally, ratings and roster files.

    Exits 0 when everything is valid, 1 with every problem as file:line: field: message.
    """
    from appraisal.errors import InputError
    from appraisal.runner import load_checked_rubric, load_inputs, row_totals

    with domain_errors(app, lang or "id"):
        loaded = load_checked_rubric(app.host, rubric)
        lang = lang or loaded.rubric.language
        if not ratings:
            if roster is not None:
                raise click.UsageError("--roster needs --ratings")
            click.echo(f"{loaded.source}: valid rubric {loaded.rubric.id} {loaded.rubric.version}")
            return
        report = load_inputs(app.host, loaded, ratings, roster, _input_tables(inputs)).report
        totals = row_totals(report)
        _print_warnings(report.warnings, lang, False)
        if json_:
            click.echo(json.dumps(totals, indent=2))
        if report.rejected:
            click.echo(InputError(report.errors).format(lang), err=True)
            click.echo(_counts_line(totals), err=True)
            raise SystemExit(1)
        if not json_:
            click.echo(f"{loaded.source}: valid; {_counts_line(totals)}")


@cli.group()
def rubric() -> None:
    """Inspect rubrics."""


@rubric.command("show")
@click.argument("name_or_path")
@click.option("json_", "--json", is_flag=True, help="The normalised rubric as JSON.")
@click.option("--lang", type=LANG_CHOICE, default="id", show_default=True)
@pass_app
def rubric_show(app: AppContext, name_or_path: str, json_: bool, lang: str) -> None:
    """Show a rubric after validation, with every default filled in."""
    from appraisal.runner import load_checked_rubric

    with domain_errors(app, lang):
        loaded = load_checked_rubric(app.host, name_or_path)
    model = loaded.rubric
    if json_:
        data = model.model_dump(mode="json")
        data["competencies"] = [
            {**competency.model_dump(mode="json"), "cluster": cluster.id}
            for cluster in model.clusters
            for competency in cluster.competencies
        ]
        data["rater_groups"] = [{"id": group_id, **group.model_dump(mode="json")} for group_id, group in model.rater_groups.items()]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"{model.id} {model.version}: {model.name.get(lang)}  ({loaded.source})")
    labels = ", ".join(f"{k}={v.get(lang)}" for k, v in sorted(model.scale.labels.items()))
    click.echo(f"scale {model.scale.min}–{model.scale.max}  {labels}")
    click.echo(f"not observed: {', '.join(model.scale.not_observed)}")
    click.echo("rater groups:")
    for group_id, group in model.rater_groups.items():
        counts = "counts" if group.counts_in_overall else "shown only"
        click.echo(f"  {group_id:<12} {group.label.get(lang):<16} weight {group.weight:<5g} min {group.min_raters}  {counts}")
    for cluster, weight in zip(model.clusters, model.layout.cluster_weight):
        click.echo(f"cluster {cluster.id} ({cluster.name.get(lang)}), weight {weight:g}")
        for competency in cluster.competencies:
            rated = f"{len(competency.items)} items" if competency.items else "rated as a whole"
            click.echo(f"  {competency.id:<22} {competency.name.get(lang)} (weight {competency.weight:g}, {rated})")
    for profile in model.positions:
        click.echo(f"position profile {profile.id}: {', '.join(f'{k}={v:g}' for k, v in profile.required.items())}")
    scoring = model.scoring
    click.echo(
        f"scoring: weighting {scoring.weighting.name}; calibration "
        f"{', '.join(r.name for r in scoring.calibration) or 'none'}; classification "
        f"{', '.join(r.name for r in scoring.classification) or 'none'}; development "
        f"{scoring.development.name if scoring.development else 'none'}"
    )


class StepProgress:
    """A progress bar over the pipeline steps, on stderr, only when stderr is a terminal."""

    def __init__(self, quiet: bool) -> None:
        from appraisal.pipeline import STEPS

        self.bar = None
        if not quiet and sys.stderr.isatty():
            self.bar = click.progressbar(length=len(STEPS) + 2, label="appraisal", file=sys.stderr, show_pos=True)
            self.bar.__enter__()

    def __call__(self, name: str) -> None:
        if self.bar is not None:
            self.bar.label = f"appraisal: {name}"
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@cli.command()
@click.option("--rubric", "rubric_name", required=True, help="Rubric file or built-in rubric name.")
@click.option(
    "ratings", "--ratings", required=True, multiple=True, type=click.Path(path_type=Path), help="Ratings file(s): CSV, XLSX, Parquet, JSON Lines."
)
@click.option("--roster", type=click.Path(path_type=Path), help="Roster file (employee_id, name, unit, position, supervisor_id).")
@click.option(
    "inputs",
    "--input",
    multiple=True,
    metavar="NAME=FILE",
    help="A further input table a plugin needs, e.g. keputusan-atasan=decisions.csv (repeatable; NAME defaults to the file name).",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory.")
@click.option("--weighting", help="Weighting scheme; overrides the rubric.")
@click.option(
    "calibration", "--calibration", multiple=True, help="Calibration step, repeatable, in order; overrides the rubric ('none' for no steps)."
)
@click.option("--lenient", is_flag=True, help="Score the valid rows and write the invalid ones to rejects.csv instead of failing.")
@click.option("formats", "--format", default="csv,json", show_default=True, help="Output formats, comma-separated.")
@click.option("--lang", type=LANG_CHOICE, help="Output language (default: the rubric's).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, warnings or summary.")
@click.option("json_", "--json", is_flag=True, help="Print the manifest as JSON instead of a summary.")
@pass_app
def run(
    app: AppContext,
    rubric_name: str,
    ratings: tuple[Path, ...],
    roster: Path | None,
    inputs: tuple[str, ...],
    out_dir: Path,
    weighting: str | None,
    calibration: tuple[str, ...],
    lenient: bool,
    formats: str,
    lang: str | None,
    quiet: bool,
    json_: bool,
) -> None:
    """Score every employee and write results.csv, results.json, flags.csv and manifest.json into OUT."""
    from appraisal.errors import InputError
    from appraisal.pipeline import Overrides
    from appraisal.runner import RunRequest
    from appraisal.runner import run as execute

    steps = [name for name in calibration if name != "none"]
    request = RunRequest(
        rubric=rubric_name,
        ratings=ratings,
        roster=roster,
        tables=_input_tables(inputs),
        out_dir=out_dir,
        overrides=Overrides(weighting=weighting, calibration=steps if calibration else None),
        lenient=lenient,
        lang=lang,  # type: ignore[arg-type]
        formats=[f.strip() for f in formats.split(",") if f.strip()],
    )
    progress = StepProgress(quiet or json_)
    try:
        with domain_errors(app, lang or "id"):
            try:
                result = execute(app.host, request, progress)
            except InputError as exc:
                progress.close()
                click.echo(exc.format(lang or "id"), err=True)
                rows = {(p.file, p.line) for p in exc.problems if p.line is not None}
                if rows:
                    click.echo(
                        f"{len(exc.problems)} problems on {len(rows)} rows; nothing was written. Fix them, or run with "
                        "--lenient to score the valid rows and list the invalid ones in rejects.csv.",
                        err=True,
                    )
                raise SystemExit(1) from None
    finally:
        progress.close()
    output_lang = lang or result.outcome.rubric.rubric.language
    _print_warnings(result.report.warnings, output_lang, quiet or json_)
    if json_:
        click.echo(json.dumps(result.manifest, indent=2, ensure_ascii=False))
    elif not quiet:
        names = ", ".join(path.name for path in result.outputs)
        click.echo(f"wrote {out_dir}: {names}")
        click.echo(f"{len(result.outcome.inputs.employees)} employees; {_counts_line(result.manifest['rows'])}")
        if result.report.rejected:
            click.echo(f"{len(result.report.rejected)} rejected rows are listed in {out_dir / 'rejects.csv'}")


@cli.command()
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="A run's output directory.")
@click.argument("employee_id")
@click.option("--lang", type=LANG_CHOICE, help="Language (default: the run's).")
@click.option("json_", "--json", is_flag=True, help="Print the employee's full record (with trace) as JSON.")
@pass_app
def explain(app: AppContext, run_dir: Path, employee_id: str, lang: str | None, json_: bool) -> None:
    """Explain, in plain words, how EMPLOYEE_ID's scores were computed in a finished run."""
    from appraisal.explain import explain as render
    from appraisal.results import StoredRun

    if not (run_dir / "results.json").is_file():
        raise click.ClickException(f"{run_dir} holds no results.json; run `appraisal run ... --out {run_dir}` first")
    stored = StoredRun(run_dir)
    record = stored.employee(employee_id)
    if record is None:
        raise click.ClickException(f"employee {employee_id!r} is not in the run {run_dir}")
    if json_:
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
        return
    click.echo(render(record, stored.meta, lang or stored.meta.get("language", "id")))


@cli.command()
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="A run's output directory.")
@click.option("employees", "--employee", multiple=True, help="Only this employee (repeatable); default: everyone.")
@click.option("formats", "--format", default="html,xlsx", show_default=True, help="Report formats, comma-separated.")
@click.option("--lang", type=LANG_CHOICE, help="Language (default: the run's).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Output directory (default: RUN/reports).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@pass_app
def report(
    app: AppContext, run_dir: Path, employees: tuple[str, ...], formats: str, lang: str | None, out_dir: Path | None, quiet: bool
) -> None:
    """Write reports of a finished run: individual and organisation HTML, an XLSX workbook for HR."""
    from appraisal.runner import write_reports

    target = out_dir or run_dir / "reports"
    names = [f.strip() for f in formats.split(",") if f.strip()]
    bars: list[Any] = []

    def progress(done: int, total: int) -> None:
        if not bars and not quiet and sys.stderr.isatty() and total:
            bars.append(click.progressbar(length=total, label="reports", file=sys.stderr, show_pos=True))
            bars[0].__enter__()
        if bars:
            bars[0].update(done)

    try:
        with domain_errors(app, lang or "id"):
            written = write_reports(app.host, run_dir, names, target, lang, list(employees) or None, progress)  # type: ignore[arg-type]
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
    if not quiet:
        click.echo(f"wrote {len(written)} files into {target}")


@cli.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory.")
@click.option("--lang", type=LANG_CHOICE, default="id", show_default=True, help="Language of error messages.")
@click.option("-q", "--quiet", is_flag=True, help="No summary.")
@pass_app
def rollup(app: AppContext, run_dirs: tuple[Path, ...], out_dir: Path, lang: str, quiet: bool) -> None:
    """Merge agency runs (one folder each, named after the agency) into a provincial or national results.csv.

    Raters never cross agencies, so each agency is run on its own and only the
    results are merged: results.csv with an agency column, rollup.json with
    each agency's counts and the totals.
    """
    from appraisal.rollup import roll_up

    with domain_errors(app, lang):
        report = roll_up(list(run_dirs), out_dir)
    if not quiet:
        total = report.total
        click.echo(f"{total['agencies']} agencies, {total['employees']} employees, {total['ratings']['read']} ratings read -> {out_dir}")


@cli.command()
@click.option("json_", "--json", is_flag=True, help="Output as JSON.")
@pass_app
def plugins(app: AppContext, json_: bool) -> None:
    """List plugins: name, version, source, hooks and the components each registers."""
    with domain_errors(app):
        host = app.host
    records = host.describe()
    failures = [{"name": f.name, "source": f.source, "error": f.error} for f in host.failures]
    if json_:
        click.echo(json.dumps({"plugins": records, "failed": failures} if failures else records, indent=2))
        return
    for record in records:
        click.echo(f"{record['name']} {record['version'] or ''} ({record['source']})")
        for kind, names in record["components"].items():
            click.echo(f"    {kind}: {', '.join(names)}")
    for failure in failures:
        click.echo(f"FAILED {failure['name']} ({failure['source']}): {failure['error']}")


@cli.command()
def schema() -> None:
    """Print the rubric JSON Schema (for editor validation of rubric YAML)."""
    from appraisal.rubric import rubric_json_schema

    click.echo(json.dumps(rubric_json_schema(), indent=2, ensure_ascii=False))


@cli.command()
@click.option("--rubric", "rubric_name", required=True, help="Rubric file or built-in rubric name.")
@click.option("--employees", type=click.IntRange(min=2), default=60, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--collusion", type=click.IntRange(min=0), default=0, help="Planted pairs of peers who inflate each other.")
@click.option("--straight-liners", type=click.IntRange(min=0), default=0, help="Planted raters who give one score to everything.")
@click.option(
    "--agency", type=click.IntRange(min=0, max=111), default=0, show_default=True,
    help="Simulate agency K of a province (1-111): agencies simulated with different K never share an employee id (for `appraisal rollup`).",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@pass_app
def simulate(
    app: AppContext, rubric_name: str, employees: int, seed: int, collusion: int, straight_liners: int, agency: int, out_dir: Path
) -> None:
    """Write synthetic roster.csv, ratings.csv, truth.csv and truth_raters.csv with known rater effects."""
    from appraisal.runner import load_checked_rubric
    from appraisal.simulate import SimulationSettings, simulate as generate, write_simulation

    with domain_errors(app):
        loaded = load_checked_rubric(app.host, rubric_name)
        settings = SimulationSettings(
            employees=employees, seed=seed, collusion_pairs=collusion, straight_liners=straight_liners, agency=agency
        )
        data = generate(loaded.rubric, settings)
        for path in write_simulation(data, out_dir):
            click.echo(f"wrote {path}")


def main() -> None:
    """Console-script entry point."""
    from appraisal.process import fewer_collections, keep_large_allocations, no_huge_pages, single_threaded_blas

    single_threaded_blas()  # before numpy is imported
    no_huge_pages()
    keep_large_allocations()
    fewer_collections()
    cli(prog_name="appraisal")


if __name__ == "__main__":
    main()
