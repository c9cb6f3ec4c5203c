"""Built-in output formats: ``csv`` (results.csv, flags.csv) and ``json`` (results.json)."""

from __future__ import annotations

import csv
import json

from appraisal import hookimpl
from appraisal.components import OutputFormat
from appraisal.i18n import choose
from appraisal.results import flag_to_dict
from appraisal.scoring import round_half_up

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
        competency_ids = [c["id"] for c in run.meta["competencies"]]
        decimals = run.meta["scale"]["decimals"]

        def shown(value):
            return "" if value is None else f"{value:.{decimals}f}"

        results = out_dir / "results.csv"
        with results.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["employee_id", "name", "unit", "overall_raw", "overall", "category", *competency_ids])
            for record in run.employees():
                category = record["category"]
                writer.writerow(
                    [
                        record["employee_id"],
                        record["name"],
                        record["unit"],
                        shown(_rounded(record["overall_raw"], decimals)),
                        shown(record["overall_shown"]),
                        choose(category["label"], lang) if category else "",
                        *(shown(c["score_shown"]) for c in record["competencies"]),
                    ]
                )
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


def _rounded(value, decimals):
    return None if value is None else float(round_half_up(value, decimals))


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
            for index, record in enumerate(run.employees()):
                if index:
                    handle.write(",\n")
                json.dump(record, handle, ensure_ascii=False, allow_nan=False)
            handle.write('\n],\n"flags": [\n')
            for index, flag in enumerate(run.flags()):
                if index:
                    handle.write(",\n")
                json.dump(flag_to_dict(flag), handle, ensure_ascii=False, allow_nan=False)
            handle.write("\n]}\n")
        return [path]


@hookimpl
def register_output_formats(register):
    register(CsvResults())
    register(JsonResults())
