"""From input files to a validated :class:`~appraisal.frame.RatingFrame`.

Every row of every file is accounted for: it is either accepted or rejected
with the file, row, column and reason (``read = accepted + rejected``).  Checks
run column-wise with pyarrow compute and numpy; Python touches only the rows
that fail, to word their messages.

Row checks on ratings: blank required values; unknown relationship,
competency or item; item given where the competency has none (or missing
where it has items); score not numeric, off the scale or not a whole point;
``self`` with rater ≠ ratee or another relationship with rater = ratee; ratee
not in the roster; one rater rating one ratee under two relationships;
duplicate ratings (same rater, ratee, competency, item).  A supervisor rating
that contradicts the roster is a warning, not a rejection.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .components import RawTable
from .errors import InputError, Problem
from .frame import Comments, Employees, RatingFrame
from .grouping import stable_order
from .i18n import Message, join_values
from .rubric import Rubric

if TYPE_CHECKING:
    from .plugins import PluginHost

RATING_REQUIRED = ("ratee_id", "rater_id", "relationship", "competency", "score")
RATING_OPTIONAL = ("item", "comment", "cycle", "submitted_at")
ROSTER_REQUIRED = ("employee_id", "name", "unit", "position", "supervisor_id")

NUMBER_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
SUPERVISOR_GROUP = "supervisor"

Result = TypeVar("Result")


@dataclass(frozen=True)
class RejectedRow:
    """A row that was not used, with every reason."""

    file: str
    row: int
    problems: tuple[Problem, ...]
    values: dict[str, str]


@dataclass(frozen=True)
class FileCount:
    file: str
    kind: str  # "ratings" or "roster"
    read: int
    accepted: int
    rejected: int
    not_observed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class IngestReport:
    """What happened to every input row."""

    counts: list[FileCount] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [problem for row in self.rejected for problem in row.problems]


@dataclass(frozen=True)
class Inputs:
    """Validated inputs, ready for the pipeline."""

    employees: Employees
    frame: RatingFrame
    report: IngestReport
    tables: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def read_table(host: PluginHost, path: Path) -> RawTable:
    """Read ``path`` with the reader registered for its suffix.

    :raises InputError: for a missing file or an unknown format.
    """
    if not path.is_file():
        raise InputError([Problem(str(path), None, "", Message("file_not_found", {"path": str(path)}))])
    registered = host.reader_for(path)
    if registered is None:
        suffixes = sorted(s for r in host.components("reader").values() for s in r.component.suffixes)
        message = Message("unknown_format", {"suffix": path.suffix, "available": join_values(suffixes)})
        raise InputError([Problem(str(path), None, "", message)])
    return registered.component.read(path)


def canonical_column(name: str) -> str:
    """``" Ratee ID"`` → ``ratee_id``: header matching forgives case, spaces and hyphens."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _named_columns(table: RawTable, required: Sequence[str]) -> dict[str, Any]:
    """The reader's columns by canonical name; raises for missing or repeated required columns."""
    found: dict[str, Any] = {}
    problems: list[Problem] = []
    for raw_name, values in table.columns.items():
        name = canonical_column(raw_name)
        if name in found:
            problems.append(Problem(table.path, 1, raw_name, Message("column_duplicate", {"column": raw_name})))
            continue
        found[name] = values
    for name in required:
        if name not in found:
            message = Message("column_missing", {"column": name, "found": join_values(list(table.columns))})
            problems.append(Problem(table.path, 1, name, message))
    if problems:
        raise InputError(problems)
    return found


def _columns(table: RawTable, required: Sequence[str]) -> dict[str, pa.Array]:
    """Columns by canonical name as trimmed strings (roster and input tables: one row per person)."""
    return {name: pc.utf8_trim_whitespace(_as_array(values)) for name, values in _named_columns(table, required).items()}


def _as_array(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        array = values.combine_chunks() if values.num_chunks else pa.array([], type=values.type)
    elif isinstance(values, pa.Array):
        array = values
    else:
        array = pa.array(values, type=pa.string())
    return array.cast(pa.string()).fill_null("")


# ---------------------------------------------------------------------------
# Collecting problems column by column
# ---------------------------------------------------------------------------


class _Findings:
    """Problems per row of one file, filled one check (one boolean mask) at a time."""

    def __init__(self, table: RawTable) -> None:
        self.table = table
        self.errors: dict[int, list[Problem]] = defaultdict(list)
        self.warnings: list[Problem] = []

    def add(
        self,
        where: np.ndarray,
        column: str,
        message: Callable[[int], Message],
        severity: str = "error",
    ) -> None:
        """Record ``message(i)`` for every row ``i`` in ``where`` (a boolean mask or row indices)."""
        indices = np.flatnonzero(where) if where.dtype == bool else where
        for index in indices:
            problem = Problem(self.table.path, int(self.table.rows[index]), column, message(int(index)), severity)  # type: ignore[arg-type]
            if severity == "error":
                self.errors[int(index)].append(problem)
            else:
                self.warnings.append(problem)

    def rejected_mask(self) -> np.ndarray:
        mask = np.zeros(len(self.table), dtype=bool)
        mask[list(self.errors)] = True
        return mask

    def rejected_rows(self, columns: Mapping[str, pa.Array | _Coded]) -> list[RejectedRow]:
        indices = sorted(self.errors)
        if not indices:
            return []
        taken = {
            name: values.texts(indices) if isinstance(values, _Coded) else values.take(pa.array(indices)).to_pylist()
            for name, values in columns.items()
        }
        return [
            RejectedRow(
                self.table.path,
                int(self.table.rows[index]),
                tuple(self.errors[index]),
                {name: taken[name][k] for name in columns},
            )
            for k, index in enumerate(indices)
        ]


def _malformed(table: RawTable) -> list[RejectedRow]:
    """Records the reader could not split into columns: read, and rejected."""
    expected = len(table.columns)
    return [
        RejectedRow(
            table.path,
            row,
            (Problem(table.path, row, "", Message("row_malformed", {"found": found, "expected": expected})),),
            {"raw": text},
        )
        for row, text, found in table.malformed
    ]


def _value(column: pa.Array, index: int) -> str:
    """One cell as text, for a message (only failing rows are ever looked up)."""
    return column[int(index)].as_py()


def _np(array: pa.Array) -> np.ndarray:
    """A boolean or numeric pyarrow array as numpy (nulls become False / NaN)."""
    if pa.types.is_boolean(array.type):
        return array.fill_null(False).to_numpy(zero_copy_only=False)
    return array.to_numpy(zero_copy_only=False)


def _lookup(values: pa.Array, keys: Sequence[str]) -> np.ndarray:
    """Index of each value in ``keys`` (case-insensitive), -1 where absent."""
    index = pc.index_in(pc.utf8_lower(values), value_set=pa.array([k.lower() for k in keys], type=pa.string()))
    return index.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


# ---------------------------------------------------------------------------
# Roster
# ---------------------------------------------------------------------------


def load_roster(host: PluginHost, path: Path, rubric: Rubric, report: IngestReport) -> Employees:
    """Read and validate the roster; rejected rows go to ``report``."""
    table = read_table(host, path)
    columns = _columns(table, ROSTER_REQUIRED)
    findings = _Findings(table)
    ids = columns["employee_id"]
    blank_id = _np(pc.equal(ids, ""))
    findings.add(blank_id, "employee_id", lambda i: Message("value_blank"))

    id_values = np.asarray(ids.to_pylist(), dtype=object)
    # Arrow numbers the distinct ids in order of first appearance, so a row is an id's first exactly
    # where its code exceeds every code before it (hashing, not np.unique's sort of Python strings).
    code = pc.dictionary_encode(ids).indices.to_numpy(zero_copy_only=False)
    is_first = np.r_[True, code[1:] > np.maximum.accumulate(code)[:-1]] if len(code) else np.zeros(0, dtype=bool)
    first_row_of_code = np.flatnonzero(is_first)
    findings.add(
        ~is_first & ~blank_id,
        "employee_id",
        lambda i: Message("roster_duplicate_id", {"value": id_values[i], "first": int(table.rows[first_row_of_code[code[i]]])}),
    )
    accepted = ~findings.rejected_mask()
    supervisor_ids = columns["supervisor_id"]
    supervisors = np.asarray(supervisor_ids.to_pylist(), dtype=object)
    known = pa.array(id_values[accepted].tolist(), type=pa.string())
    unknown_supervisor = accepted & (supervisors != "") & ~_np(pc.is_in(supervisor_ids, value_set=known))
    findings.add(
        unknown_supervisor,
        "supervisor_id",
        lambda i: Message("roster_unknown_supervisor", {"value": supervisors[i]}),
        "warning",
    )
    positions = columns["position"]
    profile = _position_profiles(positions, rubric)
    if rubric.positions:
        position_values = positions.to_pylist()
        findings.add(
            accepted & (profile < 0) & _np(pc.not_equal(positions, "")),
            "position",
            lambda i: Message("roster_unknown_position", {"value": position_values[i]}),
            "warning",
        )

    malformed = _malformed(table)
    report.rejected += sorted(findings.rejected_rows(columns) + malformed, key=lambda r: r.row)
    report.warnings += findings.warnings
    report.counts.append(
        FileCount(
            str(path), "roster", len(table) + len(malformed), int(accepted.sum()), int((~accepted).sum()) + len(malformed)
        )
    )

    keep = np.flatnonzero(accepted)
    employee_ids = id_values[keep]
    kept = pa.array(keep)
    supervisor_code = _lookup_exact(supervisor_ids.take(kept), ids.take(kept)).astype(np.int64)

    def take(name: str) -> np.ndarray:
        return np.asarray(columns[name].take(kept).to_pylist(), dtype=object)

    extra = {name: take(name) for name in columns if name not in ROSTER_REQUIRED}
    return Employees(
        ids=employee_ids,
        names=take("name"),
        units=take("unit"),
        positions=take("position"),
        supervisor=supervisor_code,
        profile=profile[keep],
        extra=extra,
        source=str(path),
    )


def _position_profiles(positions: pa.Array, rubric: Rubric) -> np.ndarray:
    """Index of the position profile each position title matches, -1 for none."""
    titles: list[str] = []
    owners: list[int] = []
    for index, profile in enumerate(rubric.positions):
        for title in (profile.id, *profile.positions):
            titles.append(title.strip())
            owners.append(index)
    if not titles:
        return np.full(len(positions), -1, dtype=np.int64)
    matched = _lookup(positions, titles)
    return np.where(matched >= 0, np.asarray(owners, dtype=np.int64)[np.maximum(matched, 0)], -1)


# ---------------------------------------------------------------------------
# Ratings
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Coded:
    """A text column as int32 codes into its distinct values (trimmed, each once).

    Ratings repeat a few relationships, competencies, items and scores, and a
    few thousand ids, millions of times: every check looks at each distinct
    value once and reaches the rows through the codes.
    """

    values: pa.Array  # string[D]: distinct, trimmed
    codes: np.ndarray  # int32[N]: index into values

    @cached_property
    def blank_values(self) -> np.ndarray:
        """``bool[D]``: the distinct value is empty."""
        return _np(pc.equal(self.values, ""))

    @cached_property
    def blank(self) -> np.ndarray:
        """``bool[N]``: the cell is empty."""
        return self.rows(self.blank_values)

    def rows(self, value_mask: np.ndarray) -> np.ndarray:
        """``bool[N]`` from a ``bool[D]`` mask over the distinct values."""
        if not value_mask.any():  # the usual outcome of a check: zeros cost less than a pass over the rows
            return np.zeros(len(self.codes), dtype=bool)
        return value_mask[self.codes]

    def value(self, index: int) -> str:
        """One cell as text, for a message (only failing rows are ever looked up)."""
        return self.values[int(self.codes[index])].as_py()

    def texts(self, indices: Sequence[int]) -> list[str]:
        return self.values.take(pa.array(self.codes[np.asarray(indices, dtype=np.int64)])).to_pylist()


def _coded(values: Any) -> _Coded:
    """Encode a reader's column (string or dictionary-encoded, chunked or not) as :class:`_Coded`."""
    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = pa.array(list(values), type=pa.string())
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    if not pa.types.is_dictionary(values.type):
        values = pc.dictionary_encode(values.cast(pa.string()))
    values = values.unify_dictionaries()
    if values.num_chunks == 0:
        return _Coded(pa.array([], type=pa.string()), np.zeros(0, dtype=np.int32))
    dictionary = values.chunk(0).dictionary.cast(pa.string()).fill_null("")
    codes = np.concatenate(
        [(chunk.indices.fill_null(-1) if chunk.null_count else chunk.indices).to_numpy(zero_copy_only=False) for chunk in values.chunks]
    ).astype(np.int32, copy=False)
    if any(chunk.null_count for chunk in values.chunks):  # a null cell is a blank one
        dictionary = pa.concat_arrays([dictionary, pa.array([""], type=pa.string())])
        codes[codes < 0] = len(dictionary) - 1
    distinct = pc.dictionary_encode(pc.utf8_trim_whitespace(dictionary))
    remap = distinct.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    if _is_identity(remap):  # trimming merged nothing: the codes stand as read
        return _Coded(distinct.dictionary, codes)
    return _Coded(distinct.dictionary, remap[codes])


@dataclass
class _ParsedRatings:
    """One ratings file after the checks that need only its own rows."""

    table: RawTable
    columns: dict[str, _Coded]
    findings: _Findings
    people: pa.Array  # string[P]: the distinct ratee and rater ids of this file
    ratee: np.ndarray  # int32[N] index into people
    rater: np.ndarray  # int32[N] index into people
    group: np.ndarray
    competency: np.ndarray
    item: np.ndarray
    score: np.ndarray


def _parse_ratings_file(table: RawTable, rubric: Rubric, roster_ids: pa.Array | None, roster_name: str) -> _ParsedRatings:
    named = _named_columns(table, RATING_REQUIRED)
    columns = dict(zip(named, _two_at_a_time(_coded, list(named.values()))))  # Arrow's kernels release the GIL
    del named
    n = len(table)
    for name in RATING_OPTIONAL:
        columns.setdefault(name, _Coded(pa.array([""], type=pa.string()), np.zeros(n, dtype=np.int32)))
    findings = _Findings(table)
    layout = rubric.layout

    for name in ("ratee_id", "rater_id", "relationship", "competency"):
        findings.add(columns[name].blank, name, lambda i: Message("value_blank"))

    relationship = columns["relationship"]
    spellings, owners = _group_spellings(rubric)
    matched = _lookup(relationship.values, spellings)
    group_of_value = np.where(matched >= 0, np.asarray(owners, dtype=np.int64)[np.maximum(matched, 0)], -1)
    group = group_of_value[relationship.codes]
    allowed_groups = join_values(list(layout.group_ids))
    findings.add(
        relationship.rows((group_of_value < 0) & ~relationship.blank_values),
        "relationship",
        lambda i: Message("unknown_relationship", {"value": relationship.value(i), "allowed": allowed_groups}),
    )

    competency_column = columns["competency"]
    competency_of_value = _lookup(competency_column.values, list(layout.competency_ids))
    competency = competency_of_value[competency_column.codes]
    allowed_competencies = join_values(list(layout.competency_ids))
    findings.add(
        competency_column.rows((competency_of_value < 0) & ~competency_column.blank_values),
        "competency",
        lambda i: Message("unknown_competency", {"value": competency_column.value(i), "allowed": allowed_competencies}),
    )

    item = _check_items(columns, competency_of_value, competency, rubric, findings)
    score = _check_scores(columns["score"], rubric, findings)

    ratee_column, rater_column = columns["ratee_id"], columns["rater_id"]
    people = pc.unique(pa.concat_arrays([ratee_column.values, rater_column.values]))
    people = people.take(pc.sort_indices(people))  # in the run's order: a single file's codes then stand
    ratee = _lookup_exact(ratee_column.values, people)[ratee_column.codes]
    rater = _lookup_exact(rater_column.values, people)[rater_column.codes]
    same_person = ratee == rater
    known_group = group >= 0
    is_self = group == layout.self_group
    findings.add(
        known_group & is_self & ~same_person,
        "rater_id",
        lambda i: Message("self_rater_differs", {"rater": rater_column.value(i), "ratee": ratee_column.value(i)}),
    )
    findings.add(
        known_group & ~is_self & same_person,
        "relationship",
        lambda i: Message("rater_is_ratee", {"relationship": relationship.value(i)}),
    )
    if roster_ids is not None:
        in_roster = _np(pc.is_in(ratee_column.values, value_set=roster_ids))
        findings.add(
            ratee_column.rows(~in_roster & ~ratee_column.blank_values),
            "ratee_id",
            lambda i: Message("ratee_not_in_roster", {"value": ratee_column.value(i), "roster": roster_name}),
        )
    # The text now lives in ``columns`` as codes; dropping the reader's Arrow columns lets their
    # buffers go before the checks across files allocate (a quarter of a gigabyte at 8M ratings).
    table = replace(table, columns=dict.fromkeys(table.columns))
    findings.table = table
    return _ParsedRatings(table, columns, findings, people, ratee, rater, group, competency, item, score)


def _lookup_exact(values: pa.Array, keys: pa.Array) -> np.ndarray:
    """``int32``: index of each value in ``keys`` (exact match), -1 where absent."""
    return pc.index_in(values, value_set=keys).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)


def _group_spellings(rubric: Rubric) -> tuple[list[str], list[int]]:
    spellings: list[str] = []
    owners: list[int] = []
    for index, (group_id, group) in enumerate(rubric.rater_groups.items()):
        for spelling in (group_id, *group.aliases):
            spellings.append(spelling.strip())
            owners.append(index)
    return spellings, owners


def _check_items(
    columns: dict[str, _Coded], competency_of_value: np.ndarray, competency: np.ndarray, rubric: Rubric, findings: _Findings
) -> np.ndarray:
    """``int64[N]``: each row's item index (-1 for none); ``competency_of_value`` codes the distinct competency spellings."""
    layout = rubric.layout
    item_column, competency_column = columns["item"], columns["competency"]
    known_value = competency_of_value >= 0
    has_items_value = known_value & (layout.items_per_competency[np.maximum(competency_of_value, 0)] > 0)
    has_items = competency_column.rows(has_items_value)
    blank = item_column.blank

    def items_of(i: int) -> str:
        return join_values([item.id for item in layout.competencies[competency[i]].items])

    if has_items_value.any():
        findings.add(
            has_items & blank,
            "item",
            lambda i: Message("item_required", {"competency": competency_column.value(i), "allowed": items_of(i)}),
        )
    if not item_column.blank_values.all():
        findings.add(
            competency_column.rows(known_value & ~has_items_value) & ~blank,
            "item",
            lambda i: Message("item_not_allowed", {"competency": competency_column.value(i), "value": item_column.value(i)}),
        )
    item = np.full(len(competency), -1, dtype=np.int64)
    if layout.item_keys:
        # item_of[c, v]: the rubric's index of item value v within competency c (case-insensitive), -1 if none.
        index_of = {(c, item_id.strip().lower()): k for k, (c, item_id) in enumerate(layout.item_keys)}
        spelled = [value.lower() for value in item_column.values.to_pylist()]
        item_of = np.full((len(layout.competency_ids), len(spelled)), -1, dtype=np.int64)
        for (c, item_id), k in index_of.items():
            for v in (v for v, text in enumerate(spelled) if text == item_id):
                item_of[c, v] = k
        found = item_of[np.maximum(competency, 0), item_column.codes] if len(spelled) else np.full(len(competency), -1)
        item = np.where(has_items & ~blank, found, -1)
        findings.add(
            has_items & ~blank & (found < 0),
            "item",
            lambda i: Message(
                "unknown_item",
                {"value": item_column.value(i), "competency": competency_column.value(i), "allowed": items_of(i)},
            ),
        )
    return item


def _check_scores(column: _Coded, rubric: Rubric, findings: _Findings) -> np.ndarray:
    """Parse scores (decimal point or comma); NaN for blank and 'not observed' codes.

    Each distinct spelling is parsed once; rows take their value through the codes.
    """
    scale = rubric.scale
    values = column.values
    blank = _np(pc.equal(values, ""))
    not_observed = _np(pc.is_in(pc.utf8_lower(values), value_set=pa.array([c.lower() for c in scale.not_observed])))
    text = pc.replace_substring(values, ",", ".")
    numeric = _np(pc.match_substring_regex(text, NUMBER_PATTERN))
    parsed = _np(pc.if_else(pa.array(numeric, type=pa.bool_()), text, pa.scalar(None, pa.string())).cast(pa.float64()))
    parsed = parsed.astype(np.float64)
    with np.errstate(invalid="ignore"):
        outside = numeric & ((parsed < scale.min) | (parsed > scale.max))
        fractional = numeric & ~outside & (parsed != np.round(parsed)) if scale.whole_points else np.zeros_like(numeric)
    codes = join_values(scale.not_observed)
    findings.add(
        column.rows(~blank & ~not_observed & ~numeric),
        "score",
        lambda i: Message("score_not_numeric", {"value": column.value(i), "codes": codes}),
    )
    findings.add(
        column.rows(outside),
        "score",
        lambda i: Message("score_out_of_scale", {"value": column.value(i), "min": scale.min, "max": scale.max}),
    )
    findings.add(column.rows(fractional), "score", lambda i: Message("score_not_whole", {"value": column.value(i)}))
    usable = np.where(numeric & ~outside & ~fractional, parsed, np.nan)
    return usable[column.codes] if len(usable) else np.zeros(0)


def load_ratings(
    host: PluginHost,
    paths: Sequence[Path],
    rubric: Rubric,
    employees: Employees | None,
    report: IngestReport,
) -> tuple[Employees, RatingFrame]:
    """Read and validate every ratings file; build employees (when no roster) and the frame."""
    roster_ids = pa.array(employees.ids.tolist(), type=pa.string()) if employees is not None else None
    roster_name = employees.source or "" if employees is not None else ""
    parsed = []
    for path in paths:
        parsed.append(_parse_ratings_file(read_table(host, path), rubric, roster_ids, roster_name))
        pa.default_memory_pool().release_unused()

    # One code per person across all files, in sorted id order, so rows of different files compare
    # and codes never depend on row order.
    people = pc.unique(pa.concat_arrays([p.people for p in parsed])) if parsed else pa.array([], type=pa.string())
    people = people.take(pc.sort_indices(people))
    # Person codes in int32 (2 billion people is far off) and no copies for the usual single file:
    # at a million employees every byte per rating is 80 MB.
    to_people = [_lookup_exact(p.people, people) for p in parsed]
    ratee = _joined([p.ratee if _is_identity(m) else m[p.ratee] for m, p in zip(to_people, parsed)])
    rater = _joined([p.rater if _is_identity(m) else m[p.rater] for m, p in zip(to_people, parsed)])
    group = _joined([p.group for p in parsed])
    competency = _joined([p.competency for p in parsed])
    item = _joined([p.item for p in parsed])
    score = _joined([p.score for p in parsed])
    for p in parsed:  # the joined arrays now hold these
        p.ratee = p.rater = p.group = p.competency = p.item = p.score = np.zeros(0)
    source = _joined([np.full(len(p.table), k, dtype=np.int16) for k, p in enumerate(parsed)])
    rows = _joined([np.asarray(p.table.rows) for p in parsed])
    rejected = _joined([p.findings.rejected_mask() for p in parsed])
    offsets = np.cumsum([0] + [len(p.table) for p in parsed])
    order = _RatingOrder(ratee, rater, competency, item, _ratee_rank(people, employees), len(people), rubric)

    def add(mask: np.ndarray, column: str, message: Callable[[int], Message], severity: str = "error") -> None:
        """Record a cross-file finding; ``message`` gets the index in the concatenated rows."""
        indices = np.flatnonzero(mask)
        for k, p in enumerate(parsed):
            mine = indices[source[indices] == k]
            if len(mine):
                p.findings.add(mine - offsets[k], column, lambda j, base=int(offsets[k]): message(base + j), severity)

    def where(index: int, seen_from: int) -> int | str:
        """Row number of ``index``; ``file:row`` when it is in another file than ``seen_from``."""
        if source[index] == source[seen_from]:
            return int(rows[index])
        return f"{parsed[source[index]].table.path}:{int(rows[index])}"

    _check_relationship_consistency(order, group, rejected, where, rubric, add)
    rejected = _joined([p.findings.rejected_mask() for p in parsed])
    _check_duplicates(order, score, rejected, where, add)
    rejected = _joined([p.findings.rejected_mask() for p in parsed])
    accepted = ~rejected
    order.sorted_key = None  # the checks are done; the frame needs only the order

    if employees is None:
        rated = np.flatnonzero(np.bincount(ratee[accepted], minlength=len(people)))
        employees = _employees_from_ratees(people.take(pa.array(rated)))
    employee_of_person = _lookup_exact(people, pa.array(employees.ids.tolist(), type=pa.string())).astype(np.int64)
    if employees.source is not None:
        _check_supervisors(employees, people, employee_of_person, ratee, rater, group, accepted, rubric, add)

    not_observed = np.isnan(score)
    for k, p in enumerate(parsed):
        mine = source == k
        malformed = _malformed(p.table)
        report.rejected += sorted(p.findings.rejected_rows(p.columns) + malformed, key=lambda r: r.row)
        report.warnings += p.findings.warnings
        report.counts.append(
            FileCount(
                p.table.path,
                "ratings",
                len(p.table) + len(malformed),
                int((accepted & mine).sum()),
                int((rejected & mine).sum()) + len(malformed),
                int((accepted & mine & not_observed).sum()),
            )
        )
        cycle = p.columns["cycle"]
        used = np.bincount(cycle.codes[accepted[mine]], minlength=len(cycle.values)) > 0
        cycles = sorted(set(cycle.values.filter(pa.array(used)).to_pylist()) - {""})
        if len(cycles) > 1:
            report.warnings.append(
                Problem(p.table.path, None, "cycle", Message("several_cycles", {"cycles": join_values(cycles)}), "warning")
            )

    # Only the comments are still needed as text; the other columns' codes served the messages above.
    for p in parsed:
        p.columns = {"comment": p.columns["comment"]}
    # The frame keeps the accepted rows sorted by employee, rater, competency and item: results do
    # not depend on row order, and the engine's grouping steps find their groups already in place.
    taken = order.sorted if accepted.all() else order.sorted[accepted[order.sorted]]
    del order, accepted, rejected, not_observed
    rater_people = np.flatnonzero(np.bincount(rater[taken], minlength=len(people)))
    rater_code_of_person = np.full(len(people), -1, dtype=np.int64)
    rater_code_of_person[rater_people] = np.arange(len(rater_people))
    recode = {"ratee": employee_of_person, "rater": rater_code_of_person}
    columns = {
        "ratee": ratee, "rater": rater, "group": group, "competency": competency,
        "item": item, "score": score, "source": source, "row": rows,
    }  # fmt: skip
    del ratee, rater, group, competency, item, score, source, rows

    def copy(name: str) -> np.ndarray:
        # Popped: each column is freed as soon as the frame has its copy, and a later copy reuses its memory.
        values = columns.pop(name)
        return recode[name][values[taken]] if name in recode else _gathered(values, taken)

    # Gathers in the sort order wait on memory more than they compute, and numpy releases the GIL
    # for them: two at a time take 0.3 s at 8M ratings where one after another took 0.5 s.
    names = list(columns)
    copied = dict(zip(names, _two_at_a_time(copy, names)))
    frame = RatingFrame(
        **copied,
        raters=np.asarray(people.take(pa.array(rater_people)).to_pylist(), dtype=object),
        rater_employee=employee_of_person[rater_people],
        sources=tuple(p.table.path for p in parsed),
        comments=_comments(parsed, taken),
    )
    return employees, frame


def _gathered(values: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """``values[taken]``, without the gather where ``values`` repeat one value (one file's source, the
    items of a rubric without items) or count up by one (one file's row numbers): a gather of 8M
    entries takes 0.1 s, a fill or an addition a fraction of that."""
    if len(values) == 0:
        return values[taken]
    first = values[0]
    if values[-1] == first and (values == first).all():
        return np.full(len(taken), first, dtype=values.dtype)
    if values[-1] - first == len(values) - 1 and (values[1:] - values[:-1] == 1).all():
        return taken + first
    return values[taken]


def _two_at_a_time(function: Callable[[Any], Result], items: Sequence[Any]) -> list[Result]:
    """``[function(item) for item in items]``, in two threads: for work that releases the GIL, one per core."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(function, items))


def _is_identity(mapping: np.ndarray) -> bool:
    return bool(np.array_equal(mapping, np.arange(len(mapping))))


def _joined(parts: Sequence[np.ndarray]) -> np.ndarray:
    """The parts end to end; the part itself (no copy) when there is one."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _ratee_rank(people: pa.Array, employees: Employees | None) -> np.ndarray:
    """``int64[P]``: each person's place in the output order as a ratee.

    With a roster that is the roster order, and people not on it come after
    everyone on it; without one, employees are the rated ids in sorted order,
    which is the people's own (sorted) order.
    """
    if employees is None:
        return np.arange(len(people), dtype=np.int64)
    rank = _lookup_exact(people, pa.array(employees.ids.tolist(), type=pa.string())).astype(np.int64)
    missing = rank < 0
    rank[missing] = len(employees) + np.flatnonzero(missing)
    return rank


class _RatingOrder:
    """All rows sorted once by (ratee, rater, competency, item), shared by the checks and the frame.

    The sort key orders rows by ratee in output order, then rater (sorted
    id), competency and item, so one stable sort gives the duplicate blocks
    (equal ``sorted_key``), the rater–ratee pairs (equal ``sorted_key //
    slots``) and the frame's final order (``sorted``).
    """

    def __init__(
        self,
        ratee: np.ndarray,
        rater: np.ndarray,
        competency: np.ndarray,
        item: np.ndarray,
        ratee_rank: np.ndarray,
        n_people: int,
        rubric: Rubric,
    ) -> None:
        self.slots = (len(rubric.layout.competency_ids) + 1) * (len(rubric.layout.item_keys) + 1)
        # Built in place: each 8-byte column of 8M ratings is 64 MB of fresh memory.
        key = ratee_rank[ratee]
        key *= max(n_people, 1)
        key += rater
        key *= self.slots
        key += competency * (len(rubric.layout.item_keys) + 1)
        key += item
        key += len(rubric.layout.item_keys) + 2  # (competency + 1) * (items + 1) + (item + 1), with -1 for none
        self.sorted = stable_order(key, self.slots)
        # The checks read the keys in sorted order only: gathered once, then read front to back.
        self.sorted_key: np.ndarray | None = key[self.sorted]

    def kept(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows where ``keep`` (``bool[N]``) holds, in sorted order, and their keys; no copies when it holds everywhere."""
        assert self.sorted_key is not None, "the keys are dropped once the checks are done"
        if keep.all():
            return self.sorted, self.sorted_key
        in_order = keep[self.sorted]
        return self.sorted[in_order], self.sorted_key[in_order]


def _comments(parsed: Sequence[_ParsedRatings], taken: np.ndarray) -> Comments | None:
    """The non-blank comments of the rows in ``taken``, by their index in it (the frame's rows)."""
    if all(p.columns["comment"].blank_values.all() for p in parsed):  # no comments: no pass over the rows
        return None
    has_comment = np.concatenate([~p.columns["comment"].blank for p in parsed])
    frame_index = np.flatnonzero(has_comment[taken])
    if len(frame_index) == 0:
        return None
    row = taken[frame_index]
    starts = np.cumsum([0] + [len(p.table) for p in parsed])
    texts = np.empty(len(row), dtype=object)
    for k, p in enumerate(parsed):
        mine = (row >= starts[k]) & (row < starts[k + 1])
        texts[mine] = p.columns["comment"].texts(row[mine] - starts[k])
    return Comments(rating=frame_index.astype(np.int64), text=texts)


def _employees_from_ratees(ratees: pa.Array) -> Employees:
    """Employees from the ids that were rated (no roster), in sorted id order."""
    ids = ratees.take(pc.sort_indices(ratees)).to_pylist()
    n = len(ids)
    blank = np.full(n, "", dtype=object)
    return Employees(
        ids=np.asarray(ids, dtype=object),
        names=blank,
        units=blank.copy(),
        positions=blank.copy(),
        supervisor=np.full(n, -1, dtype=np.int64),
        profile=np.full(n, -1, dtype=np.int64),
    )


def _check_relationship_consistency(
    order: _RatingOrder,
    group: np.ndarray,
    rejected: np.ndarray,
    where: Callable[[int, int], int | str],
    rubric: Rubric,
    add: Callable[..., None],
) -> None:
    """One rater rates one ratee under one relationship; later rows that disagree are rejected."""
    members, keys = order.kept(~rejected & (group >= 0))
    if len(members) == 0:
        return
    pair = keys // order.slots
    del keys
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    del pair
    member_group = group[members]
    conflicting = np.minimum.reduceat(member_group, starts) != np.maximum.reduceat(member_group, starts)
    del member_group
    if not conflicting.any():  # the usual case: nothing more to allocate
        return
    sizes = np.diff(np.r_[starts, len(members)])
    # Only the pairs in conflict are expanded back to their rows.
    first_of_pair = np.minimum.reduceat(members, starts)[conflicting]
    rows = members[np.repeat(conflicting, sizes)]
    first_row = np.repeat(first_of_pair, sizes[conflicting])
    differs = group[rows] != group[first_row]
    first_of = dict(zip(rows[differs].tolist(), first_row[differs].tolist()))
    mask = np.zeros(len(group), dtype=bool)
    mask[rows[differs]] = True
    group_ids = rubric.layout.group_ids
    add(
        mask,
        "relationship",
        lambda i: Message("relationship_conflict", {"first": where(first_of[i], i), "relationship": group_ids[group[first_of[i]]]}),
    )


def _check_duplicates(
    order: _RatingOrder,
    score: np.ndarray,
    rejected: np.ndarray,
    where: Callable[[int, int], int | str],
    add: Callable[..., None],
) -> None:
    """Same rater, ratee, competency and item twice: identical copies keep the first; conflicts keep none."""
    members, sorted_key = order.kept(~rejected)
    if len(members) == 0:
        return
    is_first = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
    if is_first.all():  # the usual case: no duplicates, nothing more to allocate
        return
    starts = np.flatnonzero(is_first)
    sizes = np.diff(np.r_[starts, len(sorted_key)])
    comparable = np.where(np.isnan(score), -np.inf, score)[members]
    low = np.minimum.reduceat(comparable, starts)
    high = np.maximum.reduceat(comparable, starts)
    block = np.repeat(np.arange(len(starts)), sizes)
    in_duplicate_block = sizes[block] > 1
    identical = (low == high)[block]
    n = len(score)
    identical_extra = np.zeros(n, dtype=bool)
    identical_extra[members[in_duplicate_block & identical & ~is_first]] = True
    first_member = members[starts][block]
    first_of = np.zeros(n, dtype=np.int64)
    first_of[members] = first_member
    add(identical_extra, "score", lambda i: Message("duplicate_rating", {"first": where(int(first_of[i]), i)}))

    conflicting = np.zeros(n, dtype=bool)
    conflicting[members[in_duplicate_block & ~identical]] = True
    block_of = np.zeros(n, dtype=np.int64)
    block_of[members] = block
    block_members: dict[int, list[int]] = defaultdict(list)
    for index in np.flatnonzero(conflicting):
        block_members[int(block_of[index])].append(int(index))
    add(
        conflicting,
        "score",
        lambda i: Message(
            "conflicting_rating", {"rows": join_values([str(where(j, i)) for j in block_members[int(block_of[i])]])}
        ),
    )


def _check_supervisors(
    employees: Employees,
    people: pa.Array,
    employee_of_person: np.ndarray,
    ratee: np.ndarray,
    rater: np.ndarray,
    group: np.ndarray,
    accepted: np.ndarray,
    rubric: Rubric,
    add: Callable[..., None],
) -> None:
    """Warn where a 'supervisor' rating comes from someone other than the roster's supervisor."""
    if SUPERVISOR_GROUP not in rubric.rater_groups or len(employees) == 0:
        return
    supervisor_group = rubric.layout.group_ids.index(SUPERVISOR_GROUP)
    employee = employee_of_person[ratee]
    listed = np.where(employee >= 0, employees.supervisor[np.maximum(employee, 0)], -1)
    # The listed supervisor as a person code (-1 when they never appear in the ratings: then any rater differs).
    person_of_employee = _lookup_exact(pa.array(employees.ids.tolist(), type=pa.string()), people).astype(np.int64)
    expected = np.where(listed >= 0, person_of_employee[np.maximum(listed, 0)], -1)
    mismatch = accepted & (group == supervisor_group) & (listed >= 0) & (rater != expected)
    add(
        mismatch,
        "rater_id",
        lambda i: Message(
            "supervisor_mismatch",
            {
                "rater": people[int(rater[i])].as_py(),
                "ratee": people[int(ratee[i])].as_py(),
                "expected": employees.ids[listed[i]],
            },
        ),
        "warning",
    )


# ---------------------------------------------------------------------------
# Further input tables (plugins declare them)
# ---------------------------------------------------------------------------


def _choice_key(values: pa.Array) -> pa.Array:
    """Values compared ignoring case, spaces, hyphens and underscores."""
    return pc.replace_substring_regex(pc.utf8_lower(values), r"[\s_\-]+", "")


def load_input_table(
    host: PluginHost, name: str, path: Path, employees: Employees, report: IngestReport
) -> tuple[Employees, dict[str, np.ndarray] | None]:
    """Read and validate the input table ``name``.

    :returns: the employees with the table's columns added (a table keyed by
        employee_id), or the employees unchanged and the table's columns.
    """
    registered = host.components("input table").get(name)
    if registered is None:
        message = Message("unknown_input", {"name": name, "available": join_values(sorted(host.components("input table")))})
        raise InputError([Problem(str(path), None, "", message)])
    spec = registered.component
    table = read_table(host, path)
    columns = _columns(table, [column for column, c in spec.columns.items() if c.required])
    for column in spec.columns:
        columns.setdefault(column, pa.array([""] * len(table), type=pa.string()))
    findings = _Findings(table)
    for column, c in spec.columns.items():
        values = columns[column]
        blank = _np(pc.equal(values, ""))
        if c.required:
            findings.add(blank, column, lambda i: Message("value_blank"))
        if c.choices:
            spellings = list(c.choices)
            allowed = join_values(sorted(set(c.choices.values())))
            found = pc.index_in(_choice_key(values), value_set=_choice_key(pa.array(spellings, type=pa.string())))
            found_np = found.fill_null(-1).to_numpy(zero_copy_only=False)
            findings.add(
                (found_np < 0) & ~blank,
                column,
                lambda i, v=values, a=allowed: Message("input_bad_choice", {"value": _value(v, i), "allowed": a}),
            )
            canonical = np.asarray([c.choices[s] for s in spellings] + [""], dtype=object)[np.where(found_np < 0, -1, found_np)]
            columns[column] = pa.array(canonical.tolist(), type=pa.string())
    key = columns[spec.key]
    by_employee = spec.key == "employee_id"
    if by_employee:
        known = _np(pc.is_in(key, value_set=pa.array(employees.ids.tolist(), type=pa.string())))
        findings.add(
            ~known & _np(pc.not_equal(key, "")),
            spec.key,
            lambda i: Message("input_unknown_employee", {"value": _value(key, i)}),
        )
    _check_table_duplicates(table, columns, spec.key, findings)
    accepted = ~findings.rejected_mask()
    malformed = _malformed(table)
    report.rejected += sorted(findings.rejected_rows(columns) + malformed, key=lambda r: r.row)
    report.warnings += findings.warnings
    report.counts.append(
        FileCount(str(path), name, len(table) + len(malformed), int(accepted.sum()), int((~accepted).sum()) + len(malformed))
    )
    keep = pa.array(accepted)
    values = {column: np.asarray(columns[column].filter(keep).to_pylist(), dtype=object) for column in spec.columns}
    if not by_employee:
        return employees, values
    clash = [column for column in spec.columns if column != spec.key and column in employees.extra]
    if clash:
        raise InputError([Problem(str(path), 1, c, Message("input_column_clash", {"column": c})) for c in clash])
    code = pc.index_in(pa.array(values[spec.key].tolist(), type=pa.string()), value_set=pa.array(employees.ids.tolist(), type=pa.string()))
    code_np = code.to_numpy(zero_copy_only=False).astype(np.int64)
    extra = dict(employees.extra)
    for column in spec.columns:
        if column == spec.key:
            continue
        aligned = np.full(len(employees), "", dtype=object)
        aligned[code_np] = values[column]
        extra[column] = aligned
    return replace(employees, extra=extra), None


def _check_table_duplicates(table: RawTable, columns: dict[str, pa.Array], key_column: str, findings: _Findings) -> None:
    """One row per key: identical repeats keep the first; conflicting ones are all rejected."""
    candidates = np.flatnonzero(~findings.rejected_mask())
    if len(candidates) == 0:
        return
    keys = np.asarray(columns[key_column].take(pa.array(candidates)).to_pylist(), dtype=object)
    rows = {column: np.asarray(values.take(pa.array(candidates)).to_pylist(), dtype=object) for column, values in columns.items()}
    groups: dict[str, list[int]] = defaultdict(list)
    for position, key in enumerate(keys.tolist()):
        groups[key].append(position)
    for key, positions in groups.items():
        if len(positions) < 2:
            continue
        contents = {tuple(rows[c][p] for c in columns) for p in positions}
        first = candidates[positions[0]]
        if len(contents) == 1:
            findings.add(
                candidates[positions[1:]],
                key_column,
                lambda i, k=key, f=first: Message("input_duplicate", {"key": key_column, "value": k, "first": int(table.rows[f])}),
            )
        else:
            listed = join_values([str(int(table.rows[candidates[p]])) for p in positions])
            findings.add(
                candidates[positions],
                key_column,
                lambda i, k=key, r=listed: Message("input_conflict", {"key": key_column, "value": k, "rows": r}),
            )


def ingest(
    host: PluginHost,
    rubric: Rubric,
    ratings: Sequence[Path],
    roster: Path | None = None,
    tables: Mapping[str, Path] | None = None,
) -> Inputs:
    """Read and validate all inputs.  Never raises for bad rows: they are in ``report.rejected``.

    :param tables: further input tables by name (see :class:`~appraisal.components.InputTable`).
    :raises InputError: for problems that make a whole file unusable (missing,
        unknown format, missing columns, unreadable).
    """
    report = IngestReport()
    employees = load_roster(host, roster, rubric, report) if roster is not None else None
    employees, frame = load_ratings(host, ratings, rubric, employees, report)
    keyed: dict[str, dict[str, np.ndarray]] = {}
    for name, path in (tables or {}).items():
        employees, values = load_input_table(host, name, path, employees, report)
        if values is not None:
            keyed[name] = values
    # The files' Arrow tables are gone; Arrow's allocator keeps their pages unless told, and numpy (the
    # rest of the run) cannot reuse them: giving them back lowers the peak of a 100k run from 2.67 to 2.38 GB.
    pa.default_memory_pool().release_unused()
    return Inputs(employees, frame, report, keyed)
