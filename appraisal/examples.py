"""``appraisal init``: a small working example a new user can run at once."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from .rubric import load_rubric, read_rubric_source, rubric_json_schema
from .simulate import SimulationSettings, simulate, write_csv

EXAMPLE_RUBRIC = "contoh-360"
EXAMPLE_SETTINGS = SimulationSettings(employees=24, seed=2026, unit_size_min=6, unit_size_max=9)


def write_example(target: Path) -> list[Path]:
    """Write ``rubric.yaml`` (+ its JSON Schema), ``roster.csv``, ``ratings.csv`` and ``README.md`` into ``target``.

    :raises FileExistsError: when any of them already exists (nothing is overwritten).
    """
    names = ("rubric.yaml", "rubric.schema.json", "roster.csv", "ratings.csv", "README.md")
    files = {name: target / name for name in names}
    existing = [str(path) for path in files.values() if path.exists()]
    if existing:
        raise FileExistsError(f"will not overwrite: {', '.join(existing)}")
    target.mkdir(parents=True, exist_ok=True)
    _, rubric_text = read_rubric_source(EXAMPLE_RUBRIC)
    data = simulate(load_rubric(EXAMPLE_RUBRIC).rubric, EXAMPLE_SETTINGS)
    files["rubric.yaml"].write_text(rubric_text.replace("../docs/rubric.schema.json", "rubric.schema.json"), encoding="utf-8")
    files["rubric.schema.json"].write_text(json.dumps(rubric_json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_csv(data.roster, files["roster.csv"])
    write_csv(data.ratings, files["ratings.csv"])
    readme = resources.files("appraisal").joinpath("examples/README-HR.md").read_text(encoding="utf-8")
    files["README.md"].write_text(readme, encoding="utf-8")
    return list(files.values())
