"""Domain errors.  Core code raises these; only the CLI turns them into exit codes.

Input problems are collected, never raised one at a time: a
:class:`ProblemsError` carries every :class:`Problem` found so that HR can fix a
file in one pass.  Each problem prints as ``file:line: field: message``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .i18n import DEFAULT_LANG, Lang, Message, render

Severity = Literal["error", "warning"]

MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as the format allows.

    :param file: path as the user gave it.
    :param line: 1-based line (YAML) or spreadsheet row (CSV/XLSX, header = row 1);
        ``None`` for whole-file problems.
    :param field: dotted field path (YAML) or column name (tables); may be empty.
    :param message: what is wrong and what was expected.
    """

    file: str
    line: int | None
    field: str
    message: Message
    severity: Severity = "error"

    def format(self, lang: Lang = DEFAULT_LANG) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        prefix = "" if self.severity == "error" else ("peringatan: " if lang == "id" else "warning: ")
        location = f"{where}: {self.field}: " if self.field else f"{where}: "
        return f"{location}{prefix}{self.message.text(lang)}"

    def __str__(self) -> str:
        return self.format()


class AppraisalError(Exception):
    """Base class of every error the engine raises on purpose."""


@dataclass
class ProblemsError(AppraisalError):
    """Invalid input: carries all problems found, not only the first."""

    problems: list[Problem] = field(default_factory=list)

    def format(self, lang: Lang = DEFAULT_LANG, limit: int = MAX_PROBLEMS_SHOWN) -> str:
        errors = [p for p in self.problems if p.severity == "error"] or self.problems
        lines = [p.format(lang) for p in errors[:limit]]
        if len(errors) > limit:
            lines.append(render("and_more", lang, {"count": len(errors) - limit}))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


class RubricError(ProblemsError):
    """The rubric YAML is not valid."""


class InputError(ProblemsError):
    """A ratings, roster or other input table is not valid."""


class PluginError(AppraisalError):
    """A plugin failed to load, broke the hook contract or returned invalid output.

    The message always names the plugin so the user knows whom to blame.
    """
