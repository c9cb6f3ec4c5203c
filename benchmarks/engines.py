"""The base aggregation in DuckDB and in polars, for comparison with `appraisal run`.

Run as ``python benchmarks/engines.py duckdb|polars RATINGS OUT.csv``: reads the
ratings file (CSV or Parquet), computes per employee

1. the mean score per employee × competency × rater group, over observed
   scores ("not observed" codes and blanks excluded), self excluded;
2. groups with fewer raters than their anonymity minimum dropped;
3. the competency score: rater-group weights renormalised over the groups present;
4. the overall score: the mean over competencies;

and writes ``employee_id,overall`` sorted by id.  The weights and minimums are
those of ``benchmarks/rubric-base.yaml``.  Each engine uses all cores.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

GROUPS = {"supervisor": (0.4, 1), "peer": (0.3, 3), "subordinate": (0.2, 3), "other": (0.1, 3)}
NOT_OBSERVED = ("NA",)


def duckdb_overall(ratings: Path, out: Path) -> None:
    import duckdb

    weights = ", ".join(f"('{g}', {w}, {m})" for g, (w, m) in GROUPS.items())
    source = (
        f"read_parquet('{ratings}')"
        if ratings.suffix == ".parquet"
        else f"read_csv('{ratings}', all_varchar = true, header = true)"
    )
    codes = ", ".join(f"'{c}'" for c in NOT_OBSERVED)
    query = f"""
        WITH w(g, weight, min_raters) AS (VALUES {weights}),
        r AS (
            SELECT ratee_id, relationship AS g, competency,
                   TRY_CAST(replace(CAST(score AS VARCHAR), ',', '.') AS DOUBLE) AS s
            FROM {source}
            WHERE CAST(score AS VARCHAR) NOT IN ({codes})
        ),
        cell AS (SELECT ratee_id, competency, g, avg(s) AS m, count(s) AS n FROM r WHERE s IS NOT NULL GROUP BY ALL),
        shown AS (SELECT cell.*, w.weight FROM cell JOIN w USING (g) WHERE n >= w.min_raters),
        competency AS (SELECT ratee_id, competency, sum(weight * m) / sum(weight) AS score FROM shown GROUP BY ALL)
        SELECT ratee_id AS employee_id, avg(score) AS overall FROM competency GROUP BY ratee_id ORDER BY ratee_id
    """
    duckdb.sql(f"COPY ({query}) TO '{out}' (HEADER, DELIMITER ',')")


def polars_overall(ratings: Path, out: Path) -> None:
    import polars as pl

    frame = (
        pl.scan_parquet(ratings)
        if ratings.suffix == ".parquet"
        else pl.scan_csv(ratings, infer_schema=False)  # every column as text, as HR files arrive
    )
    weights = pl.LazyFrame(
        {"g": list(GROUPS), "weight": [w for w, _ in GROUPS.values()], "min_raters": [m for _, m in GROUPS.values()]}
    )
    score = pl.col("score").cast(pl.String).str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    (
        frame.select(
            pl.col("ratee_id").cast(pl.String),  # Parquet's dictionary columns arrive as categoricals
            pl.col("relationship").cast(pl.String).alias("g"),
            pl.col("competency").cast(pl.String),
            score.alias("s"),
        )
        .drop_nulls("s")
        .group_by("ratee_id", "competency", "g")
        .agg(pl.col("s").mean().alias("m"), pl.len().alias("n"))
        .join(weights, on="g")
        .filter(pl.col("n") >= pl.col("min_raters"))
        .group_by("ratee_id", "competency")
        .agg(((pl.col("weight") * pl.col("m")).sum() / pl.col("weight").sum()).alias("score"))
        .group_by("ratee_id")
        .agg(pl.col("score").mean().alias("overall"))
        .sort("ratee_id")
        .rename({"ratee_id": "employee_id"})
        .sink_csv(out)
    )


ENGINES = {"duckdb": duckdb_overall, "polars": polars_overall}

if __name__ == "__main__":
    engine, ratings, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    started = time.perf_counter()
    ENGINES[engine](ratings, out)
    print(f"{engine}: {time.perf_counter() - started:.3f} s", file=sys.stderr)
