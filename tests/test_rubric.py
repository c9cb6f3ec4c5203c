"""Rubric loading: every problem at once, as file:line: dotted.field: message."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from appraisal.errors import RubricError
from appraisal.rubric import builtin_rubric_names, load_rubric, rubric_json_schema
from appraisal.runner import load_checked_rubric

ROOT = Path(__file__).parent.parent

BASE = """\
id: t
name: Test
version: "1"
clusters:
  - id: k
    name: K
    competencies:
      - id: a
        name: A
      - id: b
        name: B
"""


def problems(tmp_path: Path, text: str, host=None, lang: str = "en") -> list[str]:
    path = tmp_path / "r.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(RubricError) as caught:
        load_checked_rubric(host, path) if host else load_rubric(path)
    prefix = f"{path}:"
    return [p.format(lang).removeprefix(prefix) for p in caught.value.problems]


def test_base_is_valid(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(BASE, encoding="utf-8")
    rubric = load_rubric(path).rubric
    assert rubric.layout.competency_ids == ("a", "b")
    assert list(rubric.rater_groups) == ["self", "supervisor", "peer", "subordinate", "other"]
    assert [rubric.rater_groups[g].min_raters for g in rubric.rater_groups] == [1, 1, 3, 3, 3]
    assert rubric.rater_groups["self"].counts_in_overall is False


CASES = {
    "unknown key with the allowed ones": (
        BASE.replace('version: "1"', 'version: "1"\nwieght: 2'),
        ["4: wieght: unknown key 'wieght' (check the spelling); allowed: clusters, description, id, language, name, "
         "positions, rater_groups, scale, schema_version, scoring, version"],
    ),
    "duplicate key": (
        BASE.replace('version: "1"', 'version: "1"\nversion: "2"'),
        ["4: version: duplicate key 'version' (first at line 3)"],
    ),
    "YAML syntax error": (
        BASE.replace("name: K", "name: [K"),
        # libyaml words it "did not find expected ',' or ']'"; the pure-Python parser "expected ',' or ']', but got ':'"
        ["7: invalid YAML: while parsing a flow sequence"],
    ),
    "number where text is expected, as typed": (
        BASE.replace('version: "1"', "version: 1.10"),
        ["3: version: expected text; YAML read '1.10' as a number — quote it, e.g. \"1.10\""],
    ),
    "YAML boolean where a number is expected": (
        BASE + "rater_groups:\n  peer: {min_raters: no}\n",
        ["13: rater_groups.peer.min_raters: expected a number; YAML read 'no' as true/false — quote it or write a number"],
    ),
    "missing field and bad id, all at once": (
        BASE.replace("      - id: b\n        name: B\n", "      - id: b c\n"),
        ["10: clusters.0.competencies.1.id: 'b c' is not a valid id: use letters, digits, '-', '_' or '.', "
         "starting with a letter or digit, no spaces",
         "10: clusters.0.competencies.1.name: required field 'name' is missing"],
    ),
    "bounds": (
        BASE.replace("        name: A\n", "        name: A\n        weight: 0\n        levels: {6: {description: x}}\n"),
        ["10: clusters.0.competencies.0.weight: must be greater than 0.0",
         "11: clusters.0.competencies.0.levels.6: must be at most 5"],
    ),
    "text must be a string or id/en": (
        BASE.replace("name: Test", "name: [Test]"),
        ["2: name: expected text, or {id: Bahasa Indonesia, en: English}"],
    ),
    "scale": (
        BASE + "scale: {min: 5, max: 1, labels: {7: x}, not_observed: ['0']}\n",
        ["12: scale.max: max (1) must be greater than min (5)",
         "12: scale.labels.7: label for 7 is outside the scale 5–1",
         "12: scale.not_observed.0: '0' is a number; a 'not observed' code must not look like a score (a blank score already means not observed)"],
    ),
    "duplicate competency id (case-insensitive)": (
        BASE.replace("- id: b\n", "- id: A\n"),
        ["10: clusters.0.competencies.1.id: competency id 'A' is already used in cluster 'k'"],
    ),
    "position profiles": (
        BASE
        + "positions:\n  - id: staf\n    name: Staf\n    required: {a: 9, zz: 2}\n"
        + "  - id: kepala\n    name: Kepala\n    positions: [STAF]\n    required: {a: 3}\n",
        ["15: positions.0.required.a: required level 9.0 is outside the scale 1–5",
         "15: positions.0.required.zz: competency 'zz' is not in the rubric; available: a, b",
         "18: positions.1.positions.0: position 'STAF' is already matched by profile 'staf'"],
    ),
    "rater groups": (
        BASE + "rater_groups:\n  self: {counts_in_overall: true}\n  peer: {aliases: [self]}\n",
        ["13: rater_groups.self.counts_in_overall: self-ratings must not count in the combined score of others "
         "(set counts_in_overall: false)",
         "14: rater_groups.peer.aliases.0: 'self' already names rater group 'self'"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_invalid_rubric(tmp_path, case):
    text, expected = CASES[case]
    found = problems(tmp_path, text)
    if case == "YAML syntax error":
        found = [p[: len(expected[0])] for p in found]
    assert found == expected


def test_component_problems_point_into_the_yaml(tmp_path, host):
    text = BASE + textwrap.dedent(
        """\
        scoring:
          weighting: {name: group-weightz}
          calibration:
            - none
            - {name: none, options: {x: 1}}
          classification:
            name: bands
            options:
              bands:
                - {code: hi, min: 3, label: Hi}
        """
    )
    assert problems(tmp_path, text, host) == [
        "13: scoring.weighting.name: unknown weighting scheme 'group-weightz'; available: equal-groups, equal-raters, group-weights",
        "16: scoring.calibration.1.options.x: unknown key 'x' (check the spelling); allowed: ",
        "20: scoring.classification.options.bands: the lowest band starts at 3.0, above the scale minimum 1; "
        "lower scores would get no category",
    ]


def test_messages_in_bahasa_indonesia(tmp_path):
    text, _ = CASES["YAML boolean where a number is expected"]
    assert problems(tmp_path, text, lang="id") == [
        "13: rater_groups.peer.min_raters: harus berupa angka; YAML membaca 'no' sebagai benar/salah — beri tanda kutip atau tulis angka"
    ]


def test_dates_stay_text(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(BASE.replace('version: "1"', "version: 2026-06-30"), encoding="utf-8")
    assert load_rubric(path).rubric.version == "2026-06-30"


def test_plain_strings_and_bilingual_text(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(BASE.replace("name: Test", "name: {id: Uji, en: Test}"), encoding="utf-8")
    rubric = load_rubric(path).rubric
    assert (rubric.name.get("id"), rubric.name.get("en")) == ("Uji", "Test")
    assert rubric.competency("a").name.get("en") == "A"  # plain strings serve both languages


def test_cluster_weight_defaults_to_the_sum_of_competency_weights(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(BASE.replace("        name: A\n", "        name: A\n        weight: 2.5\n"), encoding="utf-8")
    assert load_rubric(path).rubric.layout.cluster_weight.tolist() == [3.5]


@pytest.mark.parametrize("name", builtin_rubric_names())
def test_builtin_rubrics_are_valid_and_match_the_schema(host, name):
    loaded = load_checked_rubric(host, name)
    assert loaded.source == f"rubrics/{name}.yaml"
    data = yaml.safe_load((ROOT / "rubrics" / f"{name}.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(json.dumps(data, default=str)), rubric_json_schema())


def test_schema_rejects_unknown_keys():
    data = yaml.safe_load(BASE)
    data["clusters"][0]["competencies"][0]["wieght"] = 1
    with pytest.raises(jsonschema.ValidationError, match="wieght"):
        jsonschema.validate(data, rubric_json_schema())


def test_asn_kompetensi_has_all_five_levels(host):
    rubric = load_checked_rubric(host, "asn-kompetensi").rubric
    competencies = rubric.layout.competencies
    assert len(competencies) == 9
    for competency in competencies:
        assert sorted(competency.levels) == [1, 2, 3, 4, 5], competency.id
        assert all(level.indicators for level in competency.levels.values()), competency.id


def test_include_clusters_and_positions_from_other_rubrics(tmp_path, host):
    path = tmp_path / "combined.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            id: combined
            name: Combined
            version: "1"
            clusters:
              - include: asn-perilaku
              - include: asn-kompetensi
                weight: 0
            positions:
              - include: asn-kompetensi
            """
        ),
        encoding="utf-8",
    )
    loaded = load_checked_rubric(host, path)
    rubric = loaded.rubric
    assert [c.id for c in rubric.clusters] == ["berakhlak", "manajerial", "sosial-kultural"]
    assert rubric.layout.cluster_weight.tolist()[1:] == [0, 0]
    assert len(rubric.layout.competency_ids) == 7 + 8 + 1
    assert [p.id for p in rubric.positions] == [p.id for p in load_rubric("asn-kompetensi").rubric.positions]
    assert [source for source, _ in loaded.includes] == ["rubrics/asn-perilaku.yaml", "rubrics/asn-kompetensi.yaml", "rubrics/asn-kompetensi.yaml"]


def test_include_problems_point_to_the_include_line(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(BASE.replace("id: t\n", "id: other\n"), encoding="utf-8")
    text = (
        'id: t\nname: T\nversion: "1"\nclusters:\n'
        "  - include: other.yaml\n"  # line 5: brings cluster k (competencies a, b)
        "    only: [k, zz]\n"  # line 6
        "    colour: red\n"  # line 7
        "  - id: k2\n    name: K2\n    competencies:\n      - {id: a, name: A again}\n"  # line 11: a is already used
        "  - include: nope\n"  # line 12
    )
    found = problems(tmp_path, text)
    assert "6: clusters.0.only: zz not in other.yaml; it has k" in found
    assert "7: clusters.0.colour: unknown key 'colour' (check the spelling); allowed: include, only, weight" in found
    assert "12: clusters.2.include: the included rubric 'nope' is not valid (see below)" in found
    # the included rubric's own problems name their own file
    assert any(p.startswith("nope: rubric 'nope' is neither a file nor a built-in rubric") for p in found)


def test_include_duplicate_competency_names_its_origin(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(BASE.replace("id: t\n", "id: other\n"), encoding="utf-8")
    text = 'id: t\nname: T\nversion: "1"\nclusters:\n  - include: other.yaml\n  - id: k2\n    name: K2\n    competencies:\n      - {id: a, name: A again}\n'
    assert problems(tmp_path, text) == [
        "9: clusters.1.competencies.0.id: competency id 'a' is already used in cluster 'k'"
    ]


def test_include_cycle_and_scale_mismatch(tmp_path):
    (tmp_path / "a.yaml").write_text(BASE.replace("  - id: k\n", "  - include: b.yaml\n  - id: k\n"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(BASE.replace("id: t\n", "id: b\n").replace("  - id: k\n", "  - include: a.yaml\n  - id: k\n"), encoding="utf-8")
    with pytest.raises(RubricError) as caught:
        load_rubric(tmp_path / "a.yaml")
    assert any("includes itself" in p.format("en") for p in caught.value.problems)
    (tmp_path / "c.yaml").write_text(BASE.replace("id: t\n", "id: c\nscale: {min: 0, max: 4}\n").replace("- id: k\n", "- id: kc\n").replace("id: a\n", "id: ac\n").replace("id: b\n", "id: bc\n"), encoding="utf-8")
    (tmp_path / "d.yaml").write_text(BASE.replace("  - id: k\n", "  - include: c.yaml\n  - id: k\n"), encoding="utf-8")
    with pytest.raises(RubricError) as caught:
        load_rubric(tmp_path / "d.yaml")
    assert [p.format("en").split(": ", 2)[-1] for p in caught.value.problems] == [
        f"the included rubric {tmp_path / 'c.yaml'} uses the scale 0–4, this one 1–5"
    ]


def test_clusters_with_weight_zero_are_reported_not_counted(tmp_path, host):
    from appraisal.testing import score_rows

    path = tmp_path / "r.yaml"
    path.write_text(BASE + "  - id: z\n    name: Z\n    weight: 0\n    competencies:\n      - {id: c, name: C}\n", encoding="utf-8")
    rows = [("E1", "S", "supervisor", "a", "", 4), ("E1", "S", "supervisor", "b", "", 2), ("E1", "S", "supervisor", "c", "", 1)]
    record = score_rows(host, path, rows, tmp_path).record(0)
    assert record["overall"] == 3.0  # a and b only
    assert record["clusters"] == [{"id": "k", "score": 3.0}, {"id": "z", "score": 1.0}]
    path.write_text(BASE.replace("    name: K\n", "    name: K\n    weight: 0\n"), encoding="utf-8")
    with pytest.raises(RubricError, match="every cluster has weight 0"):
        load_rubric(path)
