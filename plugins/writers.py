"""Built-in output formats: ``csv`` (results.csv, flags.csv) and ``json`` (results.json)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow as pa

from appraisal import hookimpl
from appraisal.components import OutputFormat
from appraisal.i18n import choose
from appraisal.results import flag_to_dict
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
    """results.csv: one row per employee; flags.csv: one row per flag."""

    name = "csv"
    summary = "results.csv (one row per employee, a column per competency) and flags.csv"

    def write(self, run, out_dir, lang, options):
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
            "category": [labels.get(code, "") for code in table["category"]],
        }
        scores = np.asarray(table["competencies"], dtype=np.float64)
        for c, competency in enumerate(meta["competencies"]):
            columns[competency["id"]] = _fixed(scores[:, c], decimals)
        results = out_dir / "results.csv"
        write_csv(pa.table({name: pa.array(values, type=pa.string()) for name, values in columns.items()}), results)

        flags = out_dir / "flags.csv"
        with flags.open("w", newline="", encoding="utf-8") as handle:
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
        return [results, flags]


def _text(values) -> list[str]:
    return [str(v) for v in values]


def _fixed(values, decimals: int) -> np.ndarray:
    """Numbers with a fixed number of decimals, blank for none (vectorised)."""
    values = np.asarray(values, dtype=np.float64)
    text = np.char.mod(f"%.{decimals}f", np.where(np.isnan(values), 0.0, values)).astype(object)
    text[np.isnan(values)] = ""
    return text


class JsonResults(OutputFormat):
    """results.json: run facts, every employee with its trace, and every flag."""

    name = "json"
    summary = "results.json: everything, including each employee's explanation trace"

    def write(self, run, out_dir, lang, options):
        path = out_dir / "results.json"
        with path.open("w", encoding="utf-8") as handle:
            handle.write('{"run": ')
            json.dump(run.meta, handle, ensure_ascii=False)
            handle.write(',\n"employees": [\n')
            # json.dumps uses the C encoder; json.dump to a file would not.
            for index, record in enumerate(run.employees()):
                handle.write((",\n" if index else "") + json.dumps(record, ensure_ascii=False, allow_nan=False))
            handle.write('\n],\n"flags": [\n')
            for index, flag in enumerate(run.flags()):
                handle.write((",\n" if index else "") + json.dumps(flag_to_dict(flag), ensure_ascii=False, allow_nan=False))
            handle.write("\n]}\n")
        return [path]


@hookimpl
def register_output_formats(register):
    register(CsvResults())
    register(JsonResults())
