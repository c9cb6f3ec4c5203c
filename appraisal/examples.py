"""``appraisal init``: the generic example, and helpers every example profile uses.

Example profiles are plugin components (``register_examples``); the generic
``contoh`` profile is registered by ``appraisal_plugins.examples``, the ASN
profile by ``appraisal_plugins.asn_example``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from .rubric import load_rubric, read_rubric_source, rubric_json_schema
from .simulate import SimulationSettings, simulate, write_csv

EXAMPLE_RUBRIC = "contoh-360"
EXAMPLE_SETTINGS = SimulationSettings(employees=24, seed=2026, unit_size_min=6, unit_size_max=9)


def refuse_overwrite(files: dict[str, Path]) -> None:
    """:raises FileExistsError: when any of ``files`` exists (examples never overwrite)."""
    existing = [str(path) for path in files.values() if path.exists()]
    if existing:
        raise FileExistsError(f"will not overwrite: {', '.join(existing)}")


def write_rubric(rubric_name: str, files: dict[str, Path]) -> None:
    """Copy a built-in rubric to ``rubric.yaml`` with its JSON Schema next to it."""
    _, text = read_rubric_source(rubric_name)
    files["rubric.yaml"].write_text(text.replace("../docs/rubric.schema.json", "rubric.schema.json"), encoding="utf-8")
    files["rubric.schema.json"].write_text(json.dumps(rubric_json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def readme(name: str) -> str:
    """A README for HR shipped with the package (``appraisal/examples/NAME``)."""
    return resources.files("appraisal").joinpath(f"examples/{name}").read_text(encoding="utf-8")


def write_example(target: Path) -> list[Path]:
    """Write ``rubric.yaml`` (+ its JSON Schema), ``roster.csv``, ``ratings.csv`` and ``README.md`` into ``target``.

    :raises FileExistsError: when any of them already exists (nothing is overwritten).
    """
    names = ("rubric.yaml", "rubric.schema.json", "roster.csv", "ratings.csv", "README.md")
    files = {name: target / name for name in names}
    refuse_overwrite(files)
    target.mkdir(parents=True, exist_ok=True)
    write_rubric(EXAMPLE_RUBRIC, files)
    data = simulate(load_rubric(EXAMPLE_RUBRIC).rubric, EXAMPLE_SETTINGS)
    write_csv(data.roster, files["roster.csv"])
    write_csv(data.ratings, files["ratings.csv"])
    files["README.md"].write_text(readme("README-HR.md"), encoding="utf-8")
    return list(files.values())
