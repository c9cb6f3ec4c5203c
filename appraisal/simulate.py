"""Synthetic but realistic appraisal data with a known truth.

An organisation of units (each with a head), employees with a true level per
competency, and raters with known leniency.  Each employee is rated by their
supervisor, a few peers, their subordinates (heads only; heads report to heads
in a tree) and themselves; every
rating is ``true level + rater leniency (+ self-inflation) + noise``, rounded
to the scale.  ``truth.csv`` keeps the true levels so calibration can be
checked against them.  Everything is vectorised; a million employees take
seconds.  ``appraisal init`` and the benchmarks use the same generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from pydantic import BaseModel, ConfigDict, Field

from .rubric import Rubric

HEADS_PER_HEAD = 20
"""Unit heads reporting to one head above them."""

FIRST_NAMES = (
    "Ahmad Budi Citra Dewi Eka Fajar Gita Hendra Indah Joko Kartika Lestari Muhammad Nurul Oktavia Putri "
    "Rahmat Sari Taufik Utami Vina Wahyu Yusuf Zainal Rina Andi Siti Rizky Fitri Agus Yuni Dedi Novi Hadi "
    "Ratna Bambang Wulan Irfan Maya Surya"
).split()
LAST_NAMES = (
    "Santoso Wijaya Saputra Lestari Hidayat Pratama Kurniawan Siregar Nasution Harahap Syahputra Putra "
    "Rahmawati Maharani Anggraini Firmansyah Gunawan Setiawan Hasibuan Tanjung Chaniago Koto Piliang "
    "Sikumbang Caniago Melayu Jambak Tanjuang Panai Sinaga"
).split()
UNIT_NAMES = (
    "Sekretariat Daerah",
    "Bagian Umum",
    "Bagian Keuangan",
    "Bagian Organisasi",
    "Dinas Pendidikan",
    "Dinas Kesehatan",
    "Dinas Pariwisata",
    "Dinas Kependudukan dan Pencatatan Sipil",
    "Badan Perencanaan Pembangunan Daerah",
    "Dinas Pekerjaan Umum",
    "Dinas Sosial",
    "Dinas Perhubungan",
    "Satuan Polisi Pamong Praja",
    "Kecamatan Barangin",
    "Kecamatan Lembah Segar",
    "Kecamatan Silungkang",
    "Kecamatan Talawi",
)
COMMENTS = (
    "Selalu siap membantu rekan.",
    "Perlu lebih teliti dalam laporan.",
    "Komunikasi dengan masyarakat sangat baik.",
    "Sering terlambat menyelesaikan tugas.",
    "Menjadi teladan dalam kejujuran.",
    "Perlu meningkatkan penguasaan aplikasi.",
)


MAX_AGENCIES = 111
"""NIP sequence numbers run 1-999: agency k draws from its own block of nine (k = 1..111)."""
SEQUENCES_PER_AGENCY = 9


class SimulationSettings(BaseModel):
    """Knobs of the generator; the defaults follow published 360 variance shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    employees: int = Field(60, ge=2)
    seed: int = 0
    unit_size_min: int = Field(5, ge=2)
    unit_size_max: int = Field(12, ge=2)
    peers: int = Field(4, ge=0, description="Peers rating each employee (fewer in small units)")
    true_sd: float = Field(0.45, ge=0, description="SD of employees' general level")
    unit_sd: float = Field(0.3, ge=0, description="SD of real differences between units")
    competency_sd: float = Field(0.35, ge=0, description="SD of an employee's competency profile")
    leniency_sd: float = Field(0.4, ge=0, description="SD of rater leniency")
    noise_sd: float = Field(0.5, ge=0, description="SD of rating noise")
    self_inflation: float = Field(0.35, description="How much higher people rate themselves")
    not_observed_rate: float = Field(0.03, ge=0, le=1)
    always_observed: tuple[str, ...] = Field((), description="Relationships that never answer 'not observed' (e.g. supervisor)")
    comment_rate: float = Field(0.02, ge=0, le=1)
    collusion_pairs: int = Field(0, ge=0, description="Planted pairs of peers who inflate each other's ratings")
    collusion_boost: float = Field(1.5, ge=0, description="How much colluding peers add to each other's ratings")
    straight_liners: int = Field(0, ge=0, description="Planted raters who give one score to everything")
    agency: int = Field(
        0, ge=0, le=MAX_AGENCIES,
        description="Agency number of a province simulated one agency at a time (0: one organisation); "
        "agencies with different numbers never share an employee id",
    )


@dataclass(frozen=True)
class SimulatedData:
    roster: pa.Table
    ratings: pa.Table
    truth: pa.Table
    raters: pa.Table  # rater_id, leniency, straight_liner, colludes_with: what the detectors should find


def simulate(rubric: Rubric, settings: SimulationSettings) -> SimulatedData:
    """Generate roster, ratings and truth for ``rubric``."""
    rng = np.random.default_rng(settings.seed)
    n = settings.employees
    layout = rubric.layout
    scale = rubric.scale

    unit = _units(rng, n, settings.unit_size_min, settings.unit_size_max)
    n_units = int(unit.max()) + 1
    starts = np.r_[0, np.flatnonzero(np.diff(unit)) + 1]
    head_of_unit = starts
    is_head = np.zeros(n, dtype=bool)
    is_head[head_of_unit] = True
    # Unit heads form a tree: the head of unit u reports to the head of unit (u - 1) // HEADS_PER_HEAD,
    # so nobody supervises more than a handful of heads however large the organisation (one chief
    # over thousands of heads would be rated by all of them, which no real 360 does).
    supervisor = head_of_unit[unit]
    supervisor[head_of_unit[1:]] = head_of_unit[(np.arange(1, n_units) - 1) // HEADS_PER_HEAD]
    chief = int(head_of_unit[0])
    supervisor[chief] = -1

    edges = [(np.arange(n), np.arange(n), "self")]
    has_supervisor = supervisor >= 0
    edges.append((np.flatnonzero(has_supervisor), supervisor[has_supervisor], "supervisor"))
    members = np.flatnonzero(~is_head)
    edges.append((*_mutual_peers(rng, members, unit[members], settings.peers), "peer"))
    heads = head_of_unit[1:] if n_units > 1 else head_of_unit[:0]
    edges.append((*_mutual_peers(rng, heads, supervisor[heads], settings.peers), "peer"))  # heads under one head
    edges.append((supervisor[members], members, "subordinate"))
    edges.append((supervisor[heads], heads, "subordinate"))
    ratee = np.concatenate([e[0] for e in edges]).astype(np.int64)
    rater = np.concatenate([e[1] for e in edges]).astype(np.int64)
    relationship = np.concatenate([np.full(len(e[0]), e[2], dtype=object) for e in edges])
    relationship_names, relationship_code = np.unique(relationship, return_inverse=True)

    level = scale.min + 0.6 * (scale.max - scale.min)
    true = (
        level
        + rng.normal(0, settings.true_sd, n)[:, None]
        + rng.normal(0, settings.unit_sd, n_units)[unit][:, None]
        + rng.normal(0, settings.competency_sd, (n, len(layout.competency_ids)))
    )
    leniency = rng.normal(0, settings.leniency_sd, n)
    colludes_with = _collusion_pairs(rng, ratee, rater, relationship, settings.collusion_pairs, n)
    straight_liner = np.zeros(n, dtype=bool)
    if settings.straight_liners:
        raters_of_others = np.unique(rater[relationship != "self"])
        straight_liner[rng.choice(raters_of_others, min(settings.straight_liners, len(raters_of_others)), replace=False)] = True

    slots_competency = np.repeat(np.arange(len(layout.competency_ids)), np.maximum(layout.items_per_competency, 1))
    slot_item = np.full(len(slots_competency), "", dtype=object)
    item_codes = [(c, item) for c, item in layout.item_keys]
    slot_item[np.repeat(layout.items_per_competency > 0, np.maximum(layout.items_per_competency, 1))] = [
        item for _, item in item_codes
    ]
    item_effect = rng.normal(0, 0.15, len(slots_competency))
    n_slots = len(slots_competency)
    # Rating columns stay integer codes (int32) into small dictionaries until the CSV writer
    # spells them out: a million employees' ~80M ratings then fit in a few GB.
    edge = np.repeat(np.arange(len(ratee), dtype=np.int32), n_slots)
    slot = np.tile(np.arange(n_slots, dtype=np.int32), len(ratee))
    r_ratee, r_rater, competency = ratee[edge].astype(np.int32), rater[edge].astype(np.int32), slots_competency[slot]
    edge_relationship = relationship_code[edge]
    is_self = edge_relationship == int(np.flatnonzero(relationship_names == "self")[0])
    latent = true[r_ratee, competency]  # summed in place: one array of ratings at a time
    latent += item_effect[slot]
    latent += leniency[r_rater]
    latent[is_self] += settings.self_inflation
    latent[colludes_with[r_rater] == r_ratee] += settings.collusion_boost
    latent += rng.normal(0, settings.noise_sd, len(edge))
    score = np.clip(np.rint(latent), scale.min, scale.max).astype(np.int32)
    del latent
    flat = straight_liner[r_rater] & ~is_self
    score[flat] = min(scale.max, int(np.rint(level + 0.5)))
    # Score text as codes: the points of the scale, then blank, then the 'not observed' code.
    points = np.arange(int(scale.min), int(scale.max) + 1)
    na_code = scale.not_observed[0] if scale.not_observed else ""
    score_words = [str(p) for p in points] + ["", na_code]
    score_code = score - int(scale.min)
    not_observed = (rng.random(len(edge)) < settings.not_observed_rate) & ~flat
    always = np.flatnonzero(np.isin(relationship_names, list(settings.always_observed)))
    not_observed &= ~np.isin(edge_relationship, always)
    score_code[not_observed] = np.where(rng.random(int(not_observed.sum())) < 0.5, len(points), len(points) + 1)
    comment_code = np.zeros(len(edge), dtype=np.int32)
    commented = rng.random(len(edge)) < settings.comment_rate
    comment_code[commented] = 1 + rng.integers(0, len(COMMENTS), int(commented.sum()))

    ids = _employee_ids(rng, n, settings.agency)
    names = _names(rng, n)
    unit_names = np.asarray(
        [UNIT_NAMES[u] if u < len(UNIT_NAMES) else f"Unit Kerja {u + 1}" for u in range(n_units)], dtype=object
    )
    positions = _positions(rng, rubric, is_head, chief)
    employment = np.where(rng.random(n) < 0.2, "PPPK", "PNS").astype(object)
    employment[is_head] = "PNS"

    roster = pa.table(
        {
            "employee_id": ids,
            "name": names,
            "unit": unit_names[unit],
            "position": positions,
            "supervisor_id": np.where(supervisor >= 0, ids[np.maximum(supervisor, 0)], ""),
            "employment_type": employment,
        }
    )
    slot_item_names, slot_item_code = np.unique(slot_item.astype(str), return_inverse=True)
    ratings = pa.table(
        {
            "ratee_id": _coded(r_ratee, ids),
            "rater_id": _coded(r_rater, ids),
            "relationship": _coded(edge_relationship, relationship_names),
            "competency": _coded(competency, layout.competency_ids),
            "item": _coded(slot_item_code[slot], slot_item_names),
            "score": _coded(score_code, score_words),
            "comment": _coded(comment_code, ("", *COMMENTS)),
        }
    )
    competency_ids = np.asarray(layout.competency_ids, dtype=object)
    truth = pa.table(
        {
            "employee_id": np.repeat(ids, len(competency_ids)),
            "competency": np.tile(competency_ids, n),
            "true_score": np.round(true.reshape(-1), 4),
        }
    )
    raters = pa.table(
        {
            "rater_id": ids,
            "leniency": np.round(leniency, 4),
            "straight_liner": straight_liner,
            "colludes_with": np.where(colludes_with >= 0, ids[np.maximum(colludes_with, 0)], ""),
        }
    )
    return SimulatedData(roster=roster, ratings=ratings, truth=truth, raters=raters)


def _coded(codes: np.ndarray, words) -> pa.DictionaryArray:
    """A text column as int32 codes into ``words`` (written out as text by the CSV writer)."""
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32, copy=False)), pa.array(list(words), type=pa.string()))


def _units(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    sizes = rng.integers(low, max(high, low) + 1, size=n // max(low, 1) + 1)
    bounds = np.cumsum(sizes)
    count = int(np.searchsorted(bounds, n)) + 1
    sizes = sizes[:count]
    sizes[-1] -= bounds[count - 1] - n
    return np.repeat(np.arange(count), sizes)


def _mutual_peers(rng: np.random.Generator, people: np.ndarray, group: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ratee, rater)`` pairs: each person rates and is rated by about ``k`` others of the same group.

    People are shuffled within their group and placed on a ring; neighbours
    up to ``k // 2`` steps away rate each other, both ways (an odd ``k`` adds
    the next one forward).  Pairs are distinct and nobody rates themselves
    (small groups give fewer peers).
    """
    if len(people) == 0 or k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((rng.random(len(people)), group))
    people, group = people[order], group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    sizes = np.diff(np.r_[starts, len(people)])
    size = np.repeat(sizes, sizes)
    start = np.repeat(starts, sizes)
    position = np.arange(len(people)) - start
    ratees, raters = [], []
    moves = [(step, direction) for step in range(1, k // 2 + 1) for direction in (1, -1)]
    if k % 2:
        moves.append((k // 2 + 1, 1))  # an odd k adds one more rater forward, not mutual
    for step, direction in moves:
        ok = size > step
        ratees.append(people[ok])
        raters.append(people[(start + (position + direction * step) % size)[ok]])
    pairs = np.unique(np.stack([np.concatenate(ratees), np.concatenate(raters)]), axis=1)
    pairs = pairs[:, pairs[0] != pairs[1]]
    return pairs[0], pairs[1]


def _collusion_pairs(
    rng: np.random.Generator, ratee: np.ndarray, rater: np.ndarray, relationship: np.ndarray, pairs: int, n: int
) -> np.ndarray:
    """Pick peers who rate each other and make them partners: partner[a] = b and partner[b] = a (-1 = none)."""
    partner = np.full(n, -1, dtype=np.int64)
    if pairs == 0:
        return partner
    peer = relationship == "peer"
    directed = set(zip(ratee[peer].tolist(), rater[peer].tolist()))
    mutual = sorted({(min(a, b), max(a, b)) for a, b in directed if (b, a) in directed})
    for index in rng.permutation(len(mutual)):
        a, b = mutual[index]
        if partner[a] < 0 and partner[b] < 0:
            partner[a], partner[b] = b, a
            pairs -= 1
            if pairs == 0:
                break
    return partner


def _employee_ids(rng: np.random.Generator, n: int, agency: int = 0) -> np.ndarray:
    """Unique NIP-like 18-digit ids: birth date, appointment month, sex, sequence (from the agency's block, if any)."""
    values = np.empty(n, dtype=object)
    todo = np.arange(n)
    while len(todo):
        k = len(todo)
        birth = rng.integers(1965, 2000, k) * 10000 + rng.integers(1, 13, k) * 100 + rng.integers(1, 29, k)
        appointed = rng.integers(1990, 2024, k) * 100 + rng.integers(1, 13, k)
        if agency:
            sequence = (agency - 1) * SEQUENCES_PER_AGENCY + rng.integers(1, SEQUENCES_PER_AGENCY + 1, k)
        else:
            sequence = rng.integers(1, 1000, k)
        tail = rng.integers(1, 3, k) * 1000 + sequence
        values[todo] = np.char.add(np.char.add(birth.astype(str), appointed.astype(str)), tail.astype(str)).astype(object)
        _, first = np.unique(values, return_index=True)
        repeated = np.ones(n, dtype=bool)
        repeated[first] = False
        todo = np.flatnonzero(repeated)
    return values


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    first = np.asarray(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), n)]
    last = np.asarray(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
    return first + " " + last


def _positions(rng: np.random.Generator, rubric: Rubric, is_head: np.ndarray, chief: int) -> np.ndarray:
    """Position titles from the rubric's profiles: staff, unit heads, and the chief from the highest."""
    n = len(is_head)
    if not rubric.positions:
        titles = np.where(is_head, "Kepala Unit", "Staf")
        titles[chief] = "Pimpinan"
        return titles.astype(object)
    ranked = sorted(rubric.positions, key=lambda p: sum(p.required.values()) / max(len(p.required), 1))
    staff_titles = np.asarray(ranked[0].positions or [ranked[0].id], dtype=object)
    head_profile = ranked[len(ranked) // 2] if len(ranked) > 1 else ranked[0]
    head_titles = np.asarray(head_profile.positions or [head_profile.id], dtype=object)
    top = ranked[-1]
    titles = np.where(
        is_head,
        head_titles[rng.integers(0, len(head_titles), n)],
        staff_titles[rng.integers(0, len(staff_titles), n)],
    ).astype(object)
    titles[chief] = (top.positions or [top.id])[0]
    return titles


def write_csv(table: pa.Table, path: Path) -> None:
    """Write a table as UTF-8 CSV (multi-threaded, quoted only where needed)."""
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="needed"))


def write_simulation(data: SimulatedData, out_dir: Path) -> list[Path]:
    """roster.csv, ratings.csv, truth.csv (true competency levels) and truth_raters.csv (planted rater effects)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "roster.csv", out_dir / "ratings.csv", out_dir / "truth.csv", out_dir / "truth_raters.csv"]
    for table, path in zip((data.roster, data.ratings, data.truth, data.raters), paths):
        write_csv(table, path)
    return paths
