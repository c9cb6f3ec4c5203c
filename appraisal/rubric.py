"""The rubric: what is rated, by whom, on which scale, and how it is scored.

A rubric is a YAML file written by HR.  :func:`load_rubric` reads it with
line positions, validates it with the pydantic models below (unknown keys are
errors), runs the cross-field checks a schema cannot express, and reports
every problem at once as ``file:line: dotted.field: message``.

The models are the single source of the rubric format: ``appraisal schema``
prints their JSON Schema, and ``docs/rubric.md`` documents the same fields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .errors import Problem, RubricError
from .i18n import Lang, Message, choose, join_values
from .yamlio import Loc, YamlDocument, load_yaml

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Identifier = Annotated[str, Field(pattern=ID_PATTERN, max_length=80)]

SELF_GROUP = "self"


class StrictModel(BaseModel):
    """Base of every YAML-facing model: unknown keys are errors, YAML booleans are not numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ShorthandModel(StrictModel):
    """A model that YAML may also give as a plain string (converted by a before-validator)."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        object_schema = handler(core_schema)
        return {"anyOf": [{"type": "string"}, object_schema], "description": cls.__doc__.splitlines()[0]}


class Text(ShorthandModel):
    """Text shown to people, in Bahasa Indonesia (``id``) and optionally English (``en``).

    In YAML either a plain string (used for both languages) or ``{id: ..., en: ...}``.
    """

    id: str = Field(description="Bahasa Indonesia")
    en: str | None = Field(default=None, description="English; falls back to Bahasa Indonesia")

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"id": value}
        if not isinstance(value, dict):
            raise PydanticCustomError("text_type", "expected text, or {id: Bahasa Indonesia, en: English}")
        return value

    def get(self, lang: Lang) -> str:
        return choose({"id": self.id, "en": self.en or ""}, lang)


class Scale(StrictModel):
    """The rating scale every score in the ratings file must lie on."""

    min: int = Field(1, description="Lowest scale point")
    max: int = Field(5, description="Highest scale point")
    labels: dict[Annotated[int, Field(strict=False)], Text] = Field(
        default_factory=dict, description="Label of each scale point, e.g. {1: Sangat kurang, ...}"
    )
    not_observed: list[str] = Field(
        default_factory=lambda: ["NA", "N/A", "TT", "TTD", "tidak tahu", "tidak teramati", "don't know"],
        description="Codes meaning 'not observed / don't know'; compared case-insensitively. "
        "Excluded from every average, never counted as zero or midpoint. A blank score means the same.",
    )
    whole_points: bool = Field(True, description="Accept only whole scale points (no 3.5)")


def _no_required_fields(schema: dict[str, Any]) -> None:
    schema.pop("required", None)


def _includable(*extra: str) -> Callable[[dict[str, Any]], None]:
    """JSON Schema for a list whose entries may also be ``{include: other-rubric, ...}``."""

    def amend(schema: dict[str, Any]) -> None:
        properties: dict[str, Any] = {
            "include": {"type": "string", "description": "A built-in rubric name or a YAML file relative to this one"},
            "only": {"type": "array", "items": {"type": "string"}, "description": "Only these ids"},
        }
        if "weight" in extra:
            properties["weight"] = {"type": "number", "minimum": 0, "description": "Weight of each included cluster"}
        include = {"type": "object", "properties": properties, "required": ["include"], "additionalProperties": False}
        schema["items"] = {"anyOf": [schema["items"], include]}

    return amend


def _one_or_many(schema: dict[str, Any]) -> None:
    """JSON Schema for a list field that YAML may also give as a single item."""
    items = schema.pop("items")
    array = {"type": schema.pop("type"), "items": items}
    schema["anyOf"] = [items, array]


class RaterGroup(StrictModel):
    """A source of ratings (supervisor, peers, ...).  Unset fields take the defaults of the group id."""

    # YAML may leave any field out: the rubric fills it from the group id's defaults.
    model_config = ConfigDict(json_schema_extra=_no_required_fields)

    label: Text
    weight: float = Field(ge=0, description="Weight in the group-weights scheme (renormalised over groups present)")
    min_raters: int = Field(ge=1, description="Fewest raters for the group to be shown and counted (anonymity)")
    counts_in_overall: bool = Field(description="Whether the group counts in the combined score (self: no)")
    aliases: list[str] = Field(default_factory=list, description="Other spellings in the ratings file, e.g. atasan")


DEFAULT_RATER_GROUPS: dict[str, dict[str, Any]] = {
    "self": {
        "label": {"id": "Diri sendiri", "en": "Self"},
        "weight": 0.0,
        "min_raters": 1,
        "counts_in_overall": False,
        "aliases": ["diri sendiri", "diri", "sendiri", "pribadi"],
    },
    "supervisor": {
        "label": {"id": "Atasan", "en": "Supervisor"},
        "weight": 1.0,
        "min_raters": 1,
        "counts_in_overall": True,
        "aliases": ["atasan", "atasan langsung", "manager", "boss"],
    },
    "peer": {
        "label": {"id": "Rekan kerja", "en": "Peers"},
        "weight": 1.0,
        "min_raters": 3,
        "counts_in_overall": True,
        "aliases": ["rekan", "rekan kerja", "sejawat", "peers"],
    },
    "subordinate": {
        "label": {"id": "Bawahan", "en": "Subordinates"},
        "weight": 1.0,
        "min_raters": 3,
        "counts_in_overall": True,
        "aliases": ["bawahan", "direct report", "direct_report", "subordinates"],
    },
    "other": {
        "label": {"id": "Lainnya", "en": "Others"},
        "weight": 1.0,
        "min_raters": 3,
        "counts_in_overall": True,
        "aliases": ["lainnya", "lain", "pelanggan", "customer", "others"],
    },
}
"""Defaults per group id; min_raters as the Center for Creative Leadership uses (peers and subordinates 3)."""

UNKNOWN_GROUP_DEFAULTS: dict[str, Any] = {"weight": 1.0, "min_raters": 3, "counts_in_overall": True}


class Item(StrictModel):
    """A behavioural indicator that raters score on its own."""

    id: Identifier
    text: Text


class Level(StrictModel):
    """What proficiency level N looks like."""

    description: Text
    indicators: list[Text] = Field(default_factory=list)


class Competency(StrictModel):
    id: Identifier
    name: Text
    definition: Text | None = None
    weight: float = Field(1.0, gt=0, description="Weight within its cluster")
    items: list[Item] = Field(
        default_factory=list,
        description="Indicators rated one by one; when empty the competency is rated as a whole",
    )
    levels: dict[Annotated[int, Field(strict=False, ge=1, le=5)], Level] = Field(
        default_factory=dict, description="Proficiency-level descriptors, keys 1..5"
    )


class Cluster(StrictModel):
    """A group of competencies (e.g. teknis, manajerial, sosial kultural)."""

    id: Identifier
    name: Text
    weight: float | None = Field(
        None,
        ge=0,
        description="Weight in the overall score; default: the sum of its competencies' weights; "
        "0: reported (and used by classifiers) but not part of the overall score",
    )
    competencies: list[Competency] = Field(min_length=1)


class PositionProfile(StrictModel):
    """Required proficiency per competency for a position (jabatan) or position class."""

    id: Identifier
    name: Text
    positions: list[str] = Field(
        default_factory=list,
        description="Roster `position` values that use this profile (case-insensitive); the id itself also matches",
    )
    required: dict[str, float] = Field(description="competency id -> required level")


class ComponentRef(ShorthandModel):
    """A plugin component chosen by name (a plain name, or {name, options}), with options validated by that component."""

    name: str = Field(description="Registered component name; see `appraisal plugins`")
    options: dict[str, Any] = Field(default_factory=dict, description="Validated by the component's own model")

    @model_validator(mode="before")
    @classmethod
    def _from_plain_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


DEFAULT_FLAG_RULES = (
    "anonymity",
    "coverage",
    "supervisor-missing",
    "evidence",
    "straight-lining",
    "central-tendency",
    "leniency",
    "misfit",
    "mutual-high-scoring",
    "unit-favouritism",
)


DEFAULTS = "defaults"


class Scoring(StrictModel):
    """Which plugin components run, in which order, with which options."""

    def flag_rules(self) -> list[tuple[int, ComponentRef]]:
        """The flag rules to run, with 'defaults' expanded, each with its index in ``flags``."""
        rules: list[tuple[int, ComponentRef]] = []
        for index, ref in enumerate(self.flags):
            expanded = [ComponentRef(name=n) for n in DEFAULT_FLAG_RULES] if ref.name == DEFAULTS else [ref]
            rules += [(index, rule) for rule in expanded if rule.name not in {r.name for _, r in rules}]
        return rules

    @field_validator("classification", mode="before")
    @classmethod
    def _single_classifier(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, (str, dict)) else value

    weighting: ComponentRef = Field(
        default_factory=lambda: ComponentRef(name="group-weights"),
        description="How rater groups combine into a competency score",
    )
    calibration: list[ComponentRef] = Field(
        default_factory=list, description="Calibration steps, applied top to bottom"
    )
    classification: list[ComponentRef] = Field(
        default_factory=list,
        description="Classifier (e.g. bands), or a list of classifiers run in order, each seeing the earlier ones' results",
        json_schema_extra=_one_or_many,
    )
    category: str | None = Field(
        None, description="Which classifier's result is 'the category' (default: the first)"
    )
    development: ComponentRef | None = Field(
        default_factory=lambda: ComponentRef(name="gap-training"), description="Development-plan recommender"
    )
    flags: list[ComponentRef] = Field(
        default_factory=lambda: [ComponentRef(name=DEFAULTS)],
        description="Flag rules to run; the name 'defaults' stands for the built-in default rules",
    )
    min_item_coverage: float = Field(
        0.5,
        gt=0,
        le=1,
        description="A rater counts for a competency only after answering this share of its items (CCL: 50%)",
    )
    decimals: int = Field(2, ge=0, le=6, description="Scores are shown and classified rounded half-up to this")
    interval: float = Field(0.90, gt=0, lt=1, description="Coverage of the interval shown around each score")
    min_reliability: float = Field(
        0.70, ge=0, le=1, description="Below this reliability an overall score is 'insufficient evidence'"
    )
    required_groups: list[str] = Field(
        default_factory=list, description="Rater groups without which a score is 'insufficient evidence', e.g. [supervisor]"
    )
    leave_one_out: bool = Field(
        True, description="Flag employees whose category would change if any single rater were removed"
    )


class Rubric(StrictModel):
    """A 360-degree appraisal rubric."""

    schema_version: Literal[1] = 1
    id: Identifier
    name: Text
    version: str = Field(description="Your version label, e.g. 2026.1 (quote it)")
    description: Text | None = None
    language: Lang = Field("id", description="Default output language: id or en")
    scale: Scale = Field(default_factory=Scale)
    rater_groups: dict[Identifier, RaterGroup] = Field(
        default_factory=lambda: {k: RaterGroup.model_validate(v) for k, v in DEFAULT_RATER_GROUPS.items()},
        description="Rater groups by id; default self, supervisor, peer, subordinate, other",
    )
    clusters: list[Cluster] = Field(min_length=1, json_schema_extra=_includable("weight"))
    positions: list[PositionProfile] = Field(default_factory=list, json_schema_extra=_includable())
    scoring: Scoring = Field(default_factory=Scoring)

    @field_validator("rater_groups", mode="before")
    @classmethod
    def _fill_group_defaults(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        filled = {}
        for group_id, spec in value.items():
            defaults = DEFAULT_RATER_GROUPS.get(group_id, {**UNKNOWN_GROUP_DEFAULTS, "label": str(group_id)})
            filled[group_id] = {**defaults, **spec} if isinstance(spec, dict) else spec
        return filled

    @cached_property
    def layout(self) -> RubricLayout:
        return RubricLayout.of(self)

    def competency(self, competency_id: str) -> Competency:
        return self.layout.competencies[self.layout.competency_index[competency_id]]


@dataclass(frozen=True)
class RubricLayout:
    """The rubric flattened into arrays the numeric engine indexes by integer code."""

    competencies: tuple[Competency, ...]
    competency_ids: tuple[str, ...]
    competency_index: dict[str, int]
    competency_weight: np.ndarray  # float64[C]
    competency_cluster: np.ndarray  # int64[C]
    items_per_competency: np.ndarray  # int64[C]; 0 = rated as a whole
    item_keys: tuple[tuple[int, str], ...]  # global item code -> (competency code, item id)
    cluster_ids: tuple[str, ...]
    cluster_weight: np.ndarray  # float64[K]
    group_ids: tuple[str, ...]
    group_min_raters: np.ndarray  # int64[G]
    group_weight: np.ndarray  # float64[G]
    group_counts: np.ndarray  # bool[G]
    self_group: int  # code of the self group, -1 when the rubric has none

    @classmethod
    def of(cls, rubric: Rubric) -> RubricLayout:
        competencies = tuple(c for cluster in rubric.clusters for c in cluster.competencies)
        cluster_of = [k for k, cluster in enumerate(rubric.clusters) for _ in cluster.competencies]
        weights = np.array([c.weight for c in competencies], dtype=np.float64)
        cluster_weight = np.array(
            [
                cluster.weight if cluster.weight is not None else sum(c.weight for c in cluster.competencies)
                for cluster in rubric.clusters
            ],
            dtype=np.float64,
        )
        groups = rubric.rater_groups
        group_ids = tuple(groups)
        return cls(
            competencies=competencies,
            competency_ids=tuple(c.id for c in competencies),
            competency_index={c.id: i for i, c in enumerate(competencies)},
            competency_weight=weights,
            competency_cluster=np.array(cluster_of, dtype=np.int64),
            items_per_competency=np.array([len(c.items) for c in competencies], dtype=np.int64),
            item_keys=tuple((ci, item.id) for ci, c in enumerate(competencies) for item in c.items),
            cluster_ids=tuple(cluster.id for cluster in rubric.clusters),
            cluster_weight=cluster_weight,
            group_ids=group_ids,
            group_min_raters=np.array([groups[g].min_raters for g in group_ids], dtype=np.int64),
            group_weight=np.array([groups[g].weight for g in group_ids], dtype=np.float64),
            group_counts=np.array([groups[g].counts_in_overall for g in group_ids], dtype=bool),
            self_group=group_ids.index(SELF_GROUP) if SELF_GROUP in group_ids else -1,
        )


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

BUILTIN_RUBRICS_PACKAGE = "appraisal_rubrics"

ComponentOptionsCheck = Callable[[Rubric], Iterable[tuple[Loc, Message]]]


@dataclass(frozen=True)
class LoadedRubric:
    """A valid rubric, where it came from, and the rubrics it includes."""

    rubric: Rubric
    source: str
    sha256: str
    includes: tuple[tuple[str, str], ...] = ()  # (source, sha256) of every included rubric, recursively


def builtin_names(subfolder: str = "") -> list[str]:
    """Built-in YAML files by name: rubrics (``--rubric NAME``), or those of a subfolder (e.g. catalogues)."""
    folder = resources.files(BUILTIN_RUBRICS_PACKAGE)
    if subfolder:
        folder = folder.joinpath(subfolder)
    return sorted(entry.name[: -len(".yaml")] for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def builtin_rubric_names() -> list[str]:
    """Names usable with ``--rubric NAME`` (files in the installed ``rubrics/`` folder)."""
    return builtin_names()


def read_source(name_or_path: str | Path, subfolder: str = "") -> tuple[str, str]:
    """Return ``(display name, text)`` for a YAML path or the name of a built-in file.

    :raises RubricError: when it is neither.
    """
    path = Path(name_or_path)
    if path.is_file():
        return str(name_or_path), path.read_text(encoding="utf-8-sig")
    name = str(name_or_path)
    available = builtin_names(subfolder)
    if name in available:
        relative = f"{subfolder}/{name}.yaml" if subfolder else f"{name}.yaml"
        return f"rubrics/{relative}", resources.files(BUILTIN_RUBRICS_PACKAGE).joinpath(relative).read_text(encoding="utf-8")
    message = Message("rubric_not_found", {"name": name, "available": join_values(available)})
    raise RubricError([Problem(name, None, "", message)])


def read_rubric_source(name_or_path: str | Path) -> tuple[str, str]:
    """Return ``(display name, text)`` for a rubric path or built-in rubric name."""
    return read_source(name_or_path)


def parse_document(source: str, text: str) -> YamlDocument:
    """YAML with positions; syntax errors, duplicate keys and a non-mapping top level are problems.

    :raises RubricError: when the text cannot be read as a mapping.
    """
    doc = load_yaml(source, text)
    if doc.problems and doc.data is None:
        raise RubricError(doc.problems)
    if not isinstance(doc.data, dict):
        raise RubricError([*doc.problems, Problem(source, 1, "", Message("yaml_not_mapping"))])
    return doc


M = TypeVar("M", bound=BaseModel)


def validate_document(doc: YamlDocument, model: type[M], problems: list[Problem]) -> M:
    """``doc.data`` as ``model``; every problem (with ``problems`` found before) raised together.

    :raises RubricError: with all problems, each as ``file:line: field: message``.
    """
    try:
        value = model.model_validate(doc.data)
    except ValidationError as exc:
        problems = problems + [_problem_from_pydantic(doc, error, model) for error in exc.errors(include_url=False)]
        raise RubricError(sorted(problems, key=lambda p: p.line or 0)) from None
    if problems:
        raise RubricError(sorted(problems, key=lambda p: p.line or 0))
    return value


def load_model_file(model: type[M], name_or_path: str | Path, subfolder: str) -> tuple[M, str, str]:
    """Load a YAML file (or built-in by name) into ``model``: (value, source, SHA-256).

    :raises RubricError: with every problem found.
    """
    source, text = read_source(name_or_path, subfolder)
    doc = parse_document(source, text)
    return validate_document(doc, model, list(doc.problems)), source, hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_rubric(name_or_path: str | Path, check_components: ComponentOptionsCheck | None = None) -> LoadedRubric:
    """Load and fully validate a rubric.

    :param name_or_path: a YAML file, or the name of a built-in rubric (``asn-perilaku``).
    :param check_components: validates component names and options against the
        installed plugins (see :meth:`appraisal.plugins.PluginHost.check_rubric_components`).
    :raises RubricError: with every problem found.
    """
    return _load(name_or_path, check_components, ())


def _load(name_or_path: str | Path, check_components: ComponentOptionsCheck | None, including: tuple[str, ...]) -> LoadedRubric:
    source, text = read_rubric_source(name_or_path)
    doc = parse_document(source, text)
    problems = list(doc.problems)
    includes: list[tuple[str, str]] = []
    for key in INCLUDABLE:
        problems += _expand_includes(doc, key, (*including, source), includes)
    if problems:
        raise RubricError(sorted(problems, key=lambda p: p.line or 0))
    rubric = validate_document(doc, Rubric, problems)
    findings = list(semantic_problems(rubric))
    if check_components is not None:
        findings += list(check_components(rubric))
    problems += [Problem(source, doc.line_for(loc), _dotted(doc.as_written(loc)), message) for loc, message in findings]
    for loaded_source, scale in doc.included_scales:
        if (scale.min, scale.max) != (rubric.scale.min, rubric.scale.max):
            problems.append(
                Problem(
                    source,
                    None,
                    "scale",
                    Message(
                        "field_invalid",
                        {"detail": f"the included rubric {loaded_source} uses the scale {scale.min}–{scale.max}, "
                         f"this one {rubric.scale.min}–{rubric.scale.max}"},
                    ),
                )
            )
    if problems:
        raise RubricError(sorted(problems, key=lambda p: p.line or 0))
    return LoadedRubric(rubric, source, hashlib.sha256(text.encode("utf-8")).hexdigest(), tuple(includes))


INCLUDABLE = {"clusters": ("only", "weight"), "positions": ("only",)}
"""Lists whose entries may be ``{include: rubric, ...}``, and the keys such an entry may carry."""


def _expand_includes(doc: YamlDocument, key: str, chain: tuple[str, ...], includes: list[tuple[str, str]]) -> list[Problem]:
    """Replace ``{include: other-rubric}`` entries of ``doc.data[key]`` with that rubric's entries.

    ``include`` names a built-in rubric or a file (relative to this one);
    ``only`` picks entries by id; ``weight`` (clusters) overrides each
    included cluster's weight.  The included rubric is validated on its own
    first, so its problems point into its own file.
    """
    items = doc.data.get(key)
    if not isinstance(items, list):
        return []
    problems: list[Problem] = []
    expanded: list[Any] = []
    for index, item in enumerate(items):
        if not (isinstance(item, dict) and "include" in item):
            doc.moved[(key, len(expanded))] = ((key, index), "")
            expanded.append(item)
            continue
        loc = (key, index)
        extra = set(item) - {"include", *INCLUDABLE[key]}
        for name in sorted(extra, key=str):
            message = Message("field_unknown", {"name": str(name), "allowed": join_values(["include", *INCLUDABLE[key]])})
            problems.append(Problem(doc.path, doc.line_for((*loc, name)), _dotted((*loc, name)), message))
        reference = str(item["include"])
        here = Path(doc.path).parent
        target: str | Path = here / reference if reference.endswith((".yaml", ".yml")) and Path(doc.path).is_file() else reference
        try:
            if str(target) in chain or f"rubrics/{target}.yaml" in chain:
                raise RubricError([Problem(doc.path, doc.line_for(loc), _dotted(loc), Message("field_invalid", {"detail": f"{reference} includes itself"}))])
            loaded = _load(target, None, chain)
        except RubricError as exc:
            problems.append(
                Problem(doc.path, doc.line_for((*loc, "include")), _dotted((*loc, "include")),
                        Message("field_invalid", {"detail": f"the included rubric {reference!r} is not valid (see below)"}))
            )
            problems += exc.problems
            continue
        includes += [(loaded.source, loaded.sha256), *loaded.includes]
        doc.included_scales.append((loaded.source, loaded.rubric.scale))
        entries = list(getattr(loaded.rubric, key))
        only = item.get("only")
        if only is not None:
            wanted = [str(o) for o in (only if isinstance(only, list) else [only])]
            missing = [o for o in wanted if o not in {entry.id for entry in entries}]
            if missing:
                problems.append(
                    Problem(doc.path, doc.line_for((*loc, "only")), _dotted((*loc, "only")),
                            Message("field_invalid", {"detail": f"{', '.join(missing)} not in {reference}; it has "
                                                      f"{', '.join(entry.id for entry in entries)}"}))
                )
            entries = [entry for entry in entries if entry.id in wanted]
        for entry in entries:
            data = entry.model_dump(mode="python", exclude_none=True)
            if key == "clusters" and "weight" in item:
                data["weight"] = item["weight"]
            doc.moved[(key, len(expanded))] = (loc, f"{reference}#{entry.id}")
            expanded.append(data)
    doc.data[key] = expanded
    return problems



def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


TYPE_WORDS: dict[str, tuple[str, str]] = {
    "text_type": ("teks, atau {id: Bahasa Indonesia, en: English}", "text, or {id: Bahasa Indonesia, en: English}"),
    "string_type": ("teks", "text"),
    "int_type": ("angka bulat", "a whole number"),
    "int_from_float": ("angka bulat", "a whole number"),
    "float_type": ("angka", "a number"),
    "bool_type": ("true atau false", "true or false"),
    "list_type": ("daftar (- ...)", "a list (- ...)"),
    "dict_type": ("pemetaan (kunci: nilai)", "a mapping (key: value)"),
    "model_type": ("pemetaan (kunci: nilai)", "a mapping (key: value)"),
    "model_attributes_type": ("pemetaan (kunci: nilai)", "a mapping (key: value)"),
}
BOUNDS: dict[str, tuple[str, str, str]] = {
    "greater_than": ("lebih besar dari", "greater than", "gt"),
    "greater_than_equal": ("paling sedikit", "at least", "ge"),
    "less_than": ("lebih kecil dari", "less than", "lt"),
    "less_than_equal": ("paling banyak", "at most", "le"),
}


def pydantic_message(error: dict[str, Any], written: str | None = None, model: type[BaseModel] | None = None) -> Message:
    """An HR-readable, bilingual message for one pydantic error.

    :param written: the value as typed in the file, when known (YAML turns
        ``1.10`` into 1.1 and ``no`` into False; people should see what they typed).
    :param model: the model that was validated, to list the allowed keys for an unknown one.
    """
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    shown = written if written is not None else value
    if kind == "extra_forbidden" and model is not None:
        loc = tuple(part for part in error["loc"] if part != "[key]")
        allowed = sorted(_allowed_keys(model, loc[:-1]))
        return Message("field_unknown", {"name": str(loc[-1]), "allowed": join_values(allowed, 30)})
    if kind == "missing":
        return Message("field_missing", {"name": str(error["loc"][-1])})
    if kind in {"int_type", "float_type", "greater_than_equal", "greater_than", "int_from_float"} and isinstance(value, bool):
        return Message("field_bool_for_number", {"value": shown})
    if kind == "string_type" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return Message("field_number_for_text", {"value": shown})
    if kind in BOUNDS:
        relation, relation_en, key = BOUNDS[kind]
        return Message("field_bound", {"relation": relation, "relation_en": relation_en, "limit": ctx.get(key)})
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == ID_PATTERN:
        return Message("field_id_pattern", {"value": shown})
    if kind == "literal_error":
        return Message("field_choice", {"expected": ctx.get("expected", "")})
    if kind == "too_short":
        return Message("field_too_short", {"min_length": ctx.get("min_length")})
    if kind in TYPE_WORDS:
        expected_id, expected_en = TYPE_WORDS[kind]
        return Message("field_type", {"expected_id": expected_id, "expected_en": expected_en})
    return Message("field_invalid", {"detail": error["msg"].removeprefix("Value error, ")})


def _problem_from_pydantic(doc: YamlDocument, error: dict[str, Any], model: type[BaseModel]) -> Problem:
    loc = tuple(part for part in error["loc"] if part != "[key]")
    message = pydantic_message(error, doc.scalars.get(loc), model)
    return Problem(doc.path, doc.line_for(loc), _dotted(doc.as_written(loc)), message)


def _allowed_keys(model: Any, loc: Loc) -> set[str]:
    """Field names accepted at ``loc`` (for 'unknown key' hints)."""
    annotation: Any = model
    for part in loc:
        annotation = _strip_optional(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(part, str):
            field = annotation.model_fields.get(part)
            if field is None:
                return set()
            annotation = field.annotation
        elif get_origin(annotation) in (list, tuple) and isinstance(part, int):
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return set()
    annotation = _strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return set(annotation.model_fields)
    return set()


def _strip_optional(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, type(int | None)):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _strip_optional(members[0])
    return annotation


# ---------------------------------------------------------------------------
# Cross-field checks the schema cannot express
# ---------------------------------------------------------------------------


def semantic_problems(rubric: Rubric) -> Iterable[tuple[Loc, Message]]:
    """Yield ``(location, message)`` for every cross-field inconsistency."""

    def invalid(text: str) -> Message:
        return Message("field_invalid", {"detail": text})

    scale = rubric.scale
    if scale.min >= scale.max:
        yield ("scale", "max"), invalid(f"max ({scale.max}) must be greater than min ({scale.min})")
    for point in scale.labels:
        if not scale.min <= point <= scale.max:
            yield ("scale", "labels", point), invalid(f"label for {point} is outside the scale {scale.min}–{scale.max}")
    for index, code in enumerate(scale.not_observed):
        if _is_number(code):
            yield ("scale", "not_observed", index), invalid(
                f"{code!r} is a number; a 'not observed' code must not look like a score "
                "(a blank score already means not observed)"
            )

    if not rubric.rater_groups:
        yield ("rater_groups",), invalid("at least one rater group is needed")
    elif not any(g.counts_in_overall for g in rubric.rater_groups.values()):
        yield ("rater_groups",), invalid("no rater group counts in the overall score (counts_in_overall: true)")
    spellings: dict[str, str] = {}
    for group_id, group in rubric.rater_groups.items():
        for index, alias in enumerate([group_id, *group.aliases]):
            key = alias.strip().lower()
            owner = spellings.setdefault(key, group_id)
            if owner != group_id:
                loc: Loc = ("rater_groups", group_id) if index == 0 else ("rater_groups", group_id, "aliases", index - 1)
                yield loc, invalid(f"{alias!r} already names rater group {owner!r}")
    for index, group_id in enumerate(rubric.scoring.required_groups):
        if group_id not in rubric.rater_groups:
            yield ("scoring", "required_groups", index), invalid(
                f"{group_id!r} is not a rater group of this rubric; groups: {', '.join(rubric.rater_groups)}"
            )
        elif not rubric.rater_groups[group_id].counts_in_overall:
            yield ("scoring", "required_groups", index), invalid(f"{group_id!r} does not count in the overall score")
    if SELF_GROUP in rubric.rater_groups and rubric.rater_groups[SELF_GROUP].counts_in_overall:
        yield ("rater_groups", SELF_GROUP, "counts_in_overall"), invalid(
            "self-ratings must not count in the combined score of others (set counts_in_overall: false)"
        )

    if not any(cluster.weight is None or cluster.weight > 0 for cluster in rubric.clusters):
        yield ("clusters",), invalid("every cluster has weight 0: nothing would make up the overall score")
    seen_clusters: dict[str, int] = {}
    seen_competencies: dict[str, str] = {}
    for k, cluster in enumerate(rubric.clusters):
        if cluster.id in seen_clusters:
            yield ("clusters", k, "id"), invalid(f"cluster id {cluster.id!r} is already used by clusters.{seen_clusters[cluster.id]}")
        seen_clusters.setdefault(cluster.id, k)
        for c, competency in enumerate(cluster.competencies):
            loc = ("clusters", k, "competencies", c)
            key = competency.id.lower()
            if key in seen_competencies:
                yield (*loc, "id"), invalid(
                    f"competency id {competency.id!r} is already used in cluster {seen_competencies[key]!r}"
                )
            seen_competencies.setdefault(key, cluster.id)
            item_ids: set[str] = set()
            for i, item in enumerate(competency.items):
                if item.id.lower() in item_ids:
                    yield (*loc, "items", i, "id"), invalid(f"item id {item.id!r} is used twice in this competency")
                item_ids.add(item.id.lower())

    classifiers = [ref.name for ref in rubric.scoring.classification]
    for index, name in enumerate(classifiers):
        if name in classifiers[:index]:
            yield ("scoring", "classification", index, "name"), invalid(f"classifier {name!r} is listed twice")
    if rubric.scoring.category is not None and rubric.scoring.category not in classifiers:
        yield ("scoring", "category"), invalid(
            f"{rubric.scoring.category!r} is not one of the classifiers listed: {', '.join(classifiers) or 'none'}"
        )

    competency_ids = {c.id for cluster in rubric.clusters for c in cluster.competencies}
    claimed: dict[str, str] = {}
    for p, profile in enumerate(rubric.positions):
        for index, title in enumerate([profile.id, *profile.positions]):
            key = title.strip().lower()
            owner = claimed.setdefault(key, profile.id)
            if owner != profile.id:
                loc = ("positions", p, "id") if index == 0 else ("positions", p, "positions", index - 1)
                yield loc, invalid(f"position {title!r} is already matched by profile {owner!r}")
        for competency_id, level in profile.required.items():
            loc = ("positions", p, "required", competency_id)
            if competency_id not in competency_ids:
                yield loc, Message(
                    "unknown_competency", {"value": competency_id, "allowed": join_values(sorted(competency_ids))}
                )
            elif not scale.min <= level <= scale.max:
                yield loc, invalid(f"required level {level} is outside the scale {scale.min}–{scale.max}")


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def rubric_json_schema() -> dict[str, Any]:
    """JSON Schema of the rubric format, for editors (yaml-language-server)."""
    schema = Rubric.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Appraisal rubric"
    return schema
