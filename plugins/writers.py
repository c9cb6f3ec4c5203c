"""Built-in output formats: ``csv`` (results.csv, flags.csv) and ``json`` (results.json)."""

from __future__ import annotations

import csv
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from appraisal import hookimpl
from appraisal.components import ComponentOptions, OutputFormat
from appraisal.i18n import choose
from appraisal.results import write_results_json
from appraisal.simulate import write_csv

FLAG_COLUMNS = (
    "rule",
    "severity",
    "subject",
    "subject_id",
    "audience",
    "competency",
    "statistic",
    "threshold",
    "message",
    "rows",
)


class CsvResults(OutputFormat):
    """results.csv: one row per employee; flags.csv: one row per flag; raters.csv: one row per rater (HR only)."""

    name = "csv"
    summary = "results.csv (one row per employee, a column per competency), flags.csv and raters.csv (HR only)"

    def write(self, run, out_dir, lang, options):
        raters = out_dir / "raters.csv"
        # raters.csv is summarised and written beside the other two files: numpy and Arrow release the
        # GIL for most of either (at 100,000 employees 0.3 s and 0.25 s of a 0.55 s write one after the other).
        with ThreadPoolExecutor(max_workers=1) as beside:
            raters_written = beside.submit(lambda: _write_raters(run.rater_summary(), raters))
            results = out_dir / "results.csv"
            _write_results(run, results, lang)
            flags = out_dir / "flags.csv"
            _write_flags(run, flags, lang)
            raters_written.result()
        return [results, flags, raters]


def _write_results(run, path, lang):
    """results.csv: one row per employee, a column per competency and per further classification."""
    meta = run.meta
    decimals = meta["scale"]["decimals"]
    table = run.summary()
    labels = {code: choose(label, lang) for code, label in meta["categories"].items()}
    columns = {
        "employee_id": _text(table["employee_id"]),
        "name": _text(table["name"]),
        "unit": _text(table["unit"]),
        "overall_raw": _fixed(table["overall_raw"], decimals),
        "overall": _fixed(table["overall"], decimals),
        "category": _labels(table["category"], labels),
    }
    scores = np.asarray(table["competencies"], dtype=np.float64)
    for c, competency in enumerate(meta["competencies"]):
        columns[competency["id"]] = _fixed(scores[:, c], decimals)
    other_labels = {entry["name"]: entry["labels"] for entry in meta.get("classifications", [])}
    for name, codes in table["classifications"].items():
        names = {code: choose(label, lang) for code, label in other_labels.get(name, {}).items()}
        columns[name] = _labels(codes, names)
    write_csv(pa.table(columns), path)


def _write_flags(run, path, lang):
    """flags.csv: one row per flag, in the language of the run."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FLAG_COLUMNS)
        for flag in run.flags():
            writer.writerow(
                [
                    flag.rule,
                    flag.severity,
                    flag.subject,
                    flag.subject_id,
                    flag.audience,
                    flag.competency or "",
                    "" if flag.statistic is None else flag.statistic,
                    "" if flag.threshold is None else flag.threshold,
                    choose(dict(flag.message), lang),
                    " ".join(str(row) for row in flag.rows),
                ]
            )


RATER_COLUMNS = ("rater_id", "employee", "ratings", "ratees", "relationships", "mean", "sd", "centring_offset", "units_rated")


def _write_raters(table, path):
    """raters.csv, for HR only: names raters with their statistics and estimated leniency."""
    steps = sorted(table["leniency"])
    no_numbers = np.full(len(table["ratings"]), np.nan)
    columns = {name: table[name] for name in RATER_COLUMNS}
    columns |= {f"leniency_{step}": table["leniency"][step] for step in steps}
    columns |= {f"leniency_se_{step}": table["leniency_se"].get(step, no_numbers) for step in steps}
    write_csv(pa.table({name: _cell_text(name, values) for name, values in columns.items()}), path)


def _cell_text(name, values) -> pa.Array:
    """A rater column for the CSV: yes/no, numbers as numbers (NaN blank, shortest decimals), or text."""
    if name == "employee":
        return pc.if_else(pa.array(np.asarray(values, dtype=bool)), "yes", "no")
    values = np.asarray(values)
    if values.dtype.kind in "fiu":
        return pa.array(values, from_pandas=True)  # from_pandas: NaN becomes null, written blank
    return _text(values)


def _text(values) -> pa.Array:
    return pa.array([str(v) for v in values], type=pa.string())


def _labels(codes, names: dict[str, str]) -> pa.Array:
    """Category codes spelled as labels ("" for none), one dictionary lookup per distinct code."""
    coded = pc.dictionary_encode(pa.array(np.asarray(codes, dtype=object).tolist(), type=pa.string()))
    words = pa.array([names.get(code, "") for code in coded.dictionary.to_pylist()], type=pa.string())
    return words.take(coded.indices)


def _fixed(values, decimals: int) -> pa.Array:
    """Numbers with a fixed number of decimals, blank for none.

    Done in integers and Arrow string kernels: ``%``-formatting a million
    floats in numpy takes seconds.  The values are already rounded to
    ``decimals``; ``rint`` only removes binary representation error.
    """
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    scale = 10**decimals
    scaled = np.rint(np.where(missing, 0.0, values) * scale).astype(np.int64)
    magnitude = np.abs(scaled)
    text = pa.array(magnitude // scale).cast(pa.string())
    if decimals:
        fraction = pc.utf8_lpad(pa.array(magnitude % scale).cast(pa.string()), width=decimals, padding="0")
        text = pc.binary_join_element_wise(text, fraction, ".")
    text = pc.if_else(pa.array(scaled < 0), pc.binary_join_element_wise("-", text, ""), text)
    return pc.if_else(pa.array(missing), "", text)


class JsonOptions(ComponentOptions):
    """Options of the ``json`` output format."""

    workers: int | None = Field(
        None, ge=1, description="Processes building the employee records; None = one per CPU (in-process for small runs)"
    )


class JsonResults(OutputFormat):
    """results.json: run facts, every employee with its trace, and every flag."""

    name = "json"
    summary = "results.json: everything, including each employee's explanation trace"
    Options = JsonOptions

    def write(self, run, out_dir, lang, options: JsonOptions):  # type: ignore[override]
        path = out_dir / "results.json"
        write_results_json(run, path, options.workers or os.cpu_count() or 1)
        return [path]


@hookimpl
def register_output_formats(register):
    register(CsvResults())
    register(JsonResults())
