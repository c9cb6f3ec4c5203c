"""Built-in output format ``xlsx``: ``appraisal.xlsx``, the workbook HR works in.

The writer lives in :mod:`appraisal_plugins.xlsx_workbook` and is imported
only when a workbook is written: openpyxl takes a fifth of a second to
import, which every other command would pay for nothing.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field as OptionField

from appraisal import hookimpl
from appraisal.components import ComponentOptions, OutputFormat, RunView
from appraisal.i18n import Lang

FILE_NAME = "appraisal.xlsx"
EXCEL_MAX_ROWS = 1_048_576


class XlsxOptions(ComponentOptions):
    rows_per_sheet: int = OptionField(
        EXCEL_MAX_ROWS,
        ge=2,
        le=EXCEL_MAX_ROWS,
        description="Rows per sheet, header included, before a table continues on the next sheet (Excel's limit)",
    )


class XlsxWorkbook(OutputFormat):
    """appraisal.xlsx: the HR workbook, streamed in one pass over the employee records."""

    name = "xlsx"
    summary = "appraisal.xlsx for HR: results, competencies, development plans, training needs, HR queue (text never runs as a formula)"
    Options = XlsxOptions

    def write(self, run: RunView, out_dir: Path, lang: Lang, options: XlsxOptions) -> list[Path]:  # type: ignore[override]
        from .xlsx_workbook import write_workbook

        path = out_dir / FILE_NAME
        write_workbook(run, path, lang, options.rows_per_sheet)
        return [path]


@hookimpl
def register_output_formats(register):
    register(XlsxWorkbook())
