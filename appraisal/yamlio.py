"""YAML loading that remembers where every value came from.

PyYAML silently keeps the last of two duplicate keys and turns ``2025-06-30``
into a date; both surprise people who edit rubrics by hand.  :func:`load_yaml`
composes the node tree once, reports duplicate keys, keeps dates as text and
records the line of every key and list entry so that validation errors can
point at ``file:line``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem
from .i18n import Message

Loc = tuple[str | int, ...]


class _PlainLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader (libyaml when available) without the implicit timestamp resolver: dates stay strings."""


_PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class YamlDocument:
    """Parsed YAML plus a map from location tuples to 1-based line numbers."""

    path: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    scalars: dict[Loc, str] = field(default_factory=dict)  # scalar values as written, e.g. "1.10", "no"
    sequences: set[Loc] = field(default_factory=set)  # where the author wrote a list
    problems: list[Problem] = field(default_factory=list)
    # After an include was expanded: new (key, index) -> (the (key, index) written, "rubric#entry" or "").
    moved: dict[Loc, tuple[Loc, str]] = field(default_factory=dict)
    included_scales: list[tuple[str, Any]] = field(default_factory=list)

    def _unmoved(self, loc: Loc) -> tuple[Loc, str]:
        """``loc`` in terms of the file as written, and the included entry it falls in (if any)."""
        if len(loc) >= 2 and loc[:2] in self.moved:
            written, origin = self.moved[loc[:2]]
            return (written if origin else (*written, *loc[2:])), origin
        return loc, ""

    def line_for(self, loc: Loc) -> int:
        """Line of the deepest part of ``loc`` that exists in the file.

        Segments that are not in the file (e.g. ``options`` added by a
        normaliser, or a missing key) are skipped so the line still points at
        the nearest thing the author wrote.
        """
        loc, _ = self._unmoved(loc)
        best = self.lines.get((), 1)
        found: Loc = ()
        for part in loc:
            candidate = (*found, part)
            if candidate in self.lines:
                found = candidate
                best = self.lines[candidate]
        return best


    def as_written(self, loc: Loc) -> Loc:
        """``loc`` without list indices the author did not write (a single item given instead of a list).

        Inside an included entry, the path keeps the included part and names its origin.
        """
        unmoved, origin = self._unmoved(loc)
        if origin:
            return (*unmoved, f"[{origin}]", *loc[2:])
        loc = unmoved
        written: Loc = ()
        for part in loc:
            if isinstance(part, int) and written in self.lines and written not in self.sequences and (*written, part) not in self.lines:
                continue  # the author wrote one item where a list is allowed
            written = (*written, part)
        return written


def load_yaml(path: Path | str, text: str | None = None) -> YamlDocument:
    """Read ``path`` and return its data with line positions and duplicate-key problems.

    :param path: file to read (also used in messages).
    :param text: the file content, when already read.
    :returns: a :class:`YamlDocument`; syntax errors and duplicate keys are in
        ``problems`` (``data`` is ``None`` after a syntax error).
    """
    name = str(path)
    if text is None:
        text = Path(path).read_text(encoding="utf-8-sig")
    doc = YamlDocument(name, None)
    loader = _PlainLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            doc.data = {}
            return doc
        _index(node, (), doc, loader)
        doc.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        doc.problems.append(
            Problem(name, mark.line + 1 if mark else None, "", Message("yaml_syntax", {"problem": detail}))
        )
        doc.data = None
    finally:
        loader.dispose()
    return doc


def _index(node: yaml.Node, loc: Loc, doc: YamlDocument, loader: Any) -> None:
    doc.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first_seen:
                doc.problems.append(
                    Problem(
                        doc.path,
                        line,
                        ".".join(str(p) for p in (*loc, key)),
                        Message("yaml_duplicate_key", {"key": key, "first_line": first_seen[key]}),
                    )
                )
                continue
            first_seen[key] = line
            doc.lines[(*loc, key)] = line
            _index(value_node, (*loc, key), doc, loader)
    elif isinstance(node, yaml.SequenceNode):
        doc.sequences.add(loc)
        for index, item in enumerate(node.value):
            _index(item, (*loc, index), doc, loader)
    else:
        doc.scalars[loc] = node.value
