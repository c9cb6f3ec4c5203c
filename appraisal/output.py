"""Writing a run directory atomically, with its manifest and rejects.

Files are written into a private staging directory next to the output
directory and moved into place only after every writer succeeded; a failed
run leaves the previous outputs untouched and no half-written file.  The
manifest is moved last, and files listed by an earlier manifest but not
produced by this run (e.g. an old ``rejects.csv``) are removed so the
directory always describes one run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from .i18n import Lang
from .ingest import RejectedRow

MANIFEST = "manifest.json"
REJECTS = "rejects.csv"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_written_digests: dict[Path, tuple[int, int, str]] = {}
"""Files written through :class:`DigestedOutput`: path → (size, modification time in ns, SHA-256)."""


class DigestedOutput:
    """A binary file written with its SHA-256 computed on the way, for writers of large outputs.

    The run's manifest lists every output's SHA-256; for a file written
    through this class it takes the digest computed here instead of reading
    the file again after all writers are done (1.1 s for the 1.2 GB
    ``results.json`` of 100,000 employees, while every worker sat idle).
    The digest is used only while the file's size and modification time are
    those it had when closed.  Use as a context manager; a block left on an
    exception records nothing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("wb")
        self._digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._digest.update(data)  # hashlib releases the GIL for large blocks
        return self._handle.write(data)

    def __enter__(self) -> DigestedOutput:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._handle.close()
        if kind is None:
            stat = self.path.stat()
            _written_digests[self.path.resolve()] = (stat.st_size, stat.st_mtime_ns, self._digest.hexdigest())


def output_digest(path: Path) -> str:
    """SHA-256 of an output file: the one computed while it was written (:class:`DigestedOutput`), if
    the file has not changed since, else read from the file."""
    known = _written_digests.pop(path.resolve(), None)
    if known is not None:
        stat = path.stat()
        if (stat.st_size, stat.st_mtime_ns) == known[:2]:
            return known[2]
    return sha256_of(path)


def write_rejects(rows: Iterable[RejectedRow], path: Path, lang: Lang) -> None:
    """One line per rejected row: where it is, why, and its values (so HR can fix it)."""
    rows = list(rows)
    value_columns: list[str] = []
    for row in rows:
        value_columns += [name for name in row.values if name not in value_columns]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "row", "columns", "reason", *value_columns])
        for row in rows:
            columns = " ".join(dict.fromkeys(p.field for p in row.problems))
            reason = "; ".join(p.message.text(lang) for p in row.problems)
            writer.writerow([row.file, row.row, columns, reason, *(row.values.get(c, "") for c in value_columns)])


def write_atomically(
    out_dir: Path,
    produce: Callable[[Path], list[Path]],
    manifest: Callable[[list[dict[str, Any]]], dict[str, Any]],
) -> list[Path]:
    """Run ``produce(staging_dir)``, then move its files and the manifest into ``out_dir``.

    :param produce: writes files into the staging directory and returns them.
    :param manifest: builds the manifest from the list of ``{"file", "sha256", "bytes"}``.
    :returns: the final paths, manifest last.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.staging-", dir=out_dir.parent))
    try:
        written = produce(staging)
        outputs = [
            {"file": p.relative_to(staging).as_posix(), "sha256": output_digest(p), "bytes": p.stat().st_size} for p in written
        ]
        (staging / MANIFEST).write_text(
            json.dumps(manifest(outputs), indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
        )
        previous = _previous_outputs(out_dir)
        for path in written:
            target = out_dir / path.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        for name in previous - {entry["file"] for entry in outputs}:
            (out_dir / name).unlink(missing_ok=True)
        os.replace(staging / MANIFEST, out_dir / MANIFEST)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / p.relative_to(staging) for p in written] + [out_dir / MANIFEST]


def _previous_outputs(out_dir: Path) -> set[str]:
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        return {entry["file"] for entry in manifest.get("outputs", []) if ".." not in Path(entry["file"]).parts}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()
