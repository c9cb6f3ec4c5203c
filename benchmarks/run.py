"""Scale benchmark: `appraisal run` against DuckDB and polars on the same files.

    python benchmarks/run.py                      # 10k, 100k and 1M employees, 3 runs each
    python benchmarks/run.py --sizes 10k,100k --repeats 3

For each size the script simulates a dataset once (``appraisal simulate``,
cached under ``--data``), writes a Parquet copy, then times, each in its own
process and measured with ``wait4`` (wall time, peak resident memory), the
engines and the base run round by round (DuckDB, polars, appraisal; again):

* ``duckdb`` and ``polars``: the base aggregation (benchmarks/engines.py);
* ``appraisal base``: ``appraisal run`` with benchmarks/rubric-base.yaml
  (weighting and aggregation only, CSV in → results.csv out);
* ``appraisal full``: ``appraisal run`` with benchmarks/rubric-full.yaml and the
  roster, from the CSV: crossed-re calibration, reliability, classification with
  leave-one-rater-out, development plans, every default flag rule (up to
  ``--full-max`` employees, ``--full-repeats`` runs);
* ``appraisal report``: individual HTML reports for every employee of the full run
  (up to ``--report-max`` employees, ``--full-repeats`` runs).

It checks that the three base aggregations agree (max |difference| ≤ 1e-6) and
prints a Markdown table with the median of the runs and the ratio to the faster
of DuckDB and polars on the same input.  Needs the ``bench`` extras:
``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE_RUBRIC = HERE / "rubric-base.yaml"
FULL_RUBRIC = HERE / "rubric-full.yaml"
TOLERANCE = 1e-6
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}


@dataclass
class Measurement:
    size: int
    ratings: int
    input: str
    task: str
    seconds: list[float]
    peak_mb: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.peak_mb)


def measured(command: list[str]) -> tuple[float, float]:
    """Run ``command``; return (wall seconds, peak resident MB of the process and its children)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    error = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{error}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports kB


def appraisal_command() -> list[str]:
    found = shutil.which("appraisal", path=str(Path(sys.executable).parent)) or shutil.which("appraisal")
    if found is None:
        raise SystemExit("the appraisal command is not installed in this environment")
    return [found]


def dataset(data: Path, employees: int) -> tuple[Path, Path, Path, int]:
    """Simulated ratings.csv, ratings.parquet and roster.csv for ``employees`` (made once, then reused)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder = data / f"{employees}"
    csv_path, parquet_path, roster = folder / "ratings.csv", folder / "ratings.parquet", folder / "roster.csv"
    if not csv_path.exists():
        print(f"simulating {employees:,} employees ...", file=sys.stderr)
        subprocess.run(
            [*appraisal_command(), "simulate", "--rubric", str(BASE_RUBRIC), "--employees", str(employees), "--seed", "1", "--out", str(folder)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    if not parquet_path.exists():
        # Read as dictionary-encoded text, as survey exports hold ids and codes as text.
        reader = pacsv.open_csv(
            csv_path, convert_options=pacsv.ConvertOptions(column_types=_text_types(csv_path), strings_can_be_null=False)
        )
        with pq.ParquetWriter(parquet_path, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
    rows = pq.ParquetFile(parquet_path).metadata.num_rows
    return csv_path, parquet_path, roster, rows


def _text_types(path: Path) -> dict:
    import pyarrow as pa

    with path.open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    return {name: pa.dictionary(pa.int32(), pa.string()) for name in header}


def overall_column(path: Path, column: str) -> dict[str, float]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["employee_id"]: float(row[column]) for row in csv.DictReader(handle) if row[column] != ""}


def check_agreement(ours: Path, others: dict[str, Path]) -> float:
    """Largest |difference| of the overall score between appraisal and each engine; raises above TOLERANCE."""
    mine = overall_column(ours, "overall_raw")
    worst = 0.0
    for name, path in others.items():
        theirs = overall_column(path, "overall")
        if set(theirs) != set(mine):
            raise SystemExit(f"{name} scored {len(theirs):,} employees, appraisal {len(mine):,}")
        gap = max((abs(mine[k] - theirs[k]) for k in mine), default=0.0)
        if gap > TOLERANCE:
            raise SystemExit(f"{name} disagrees with appraisal by {gap:g} (tolerance {TOLERANCE:g})")
        worst = max(worst, gap)
    return worst


def bench_size(employees: int, data: Path, repeats: int, options: argparse.Namespace) -> tuple[list[Measurement], float]:
    csv_path, parquet_path, roster, ratings = dataset(data, employees)
    results: list[Measurement] = []
    work = data / f"{employees}" / "out"
    work.mkdir(parents=True, exist_ok=True)
    agreement = 0.0

    def record(input_name: str, tasks: dict[str, list[str]], runs: int = repeats) -> None:
        """Time each of ``tasks`` ``runs`` times, round by round (one run of each task per round), so
        that the machine's drift, which reaches half its speed here within an hour, falls on every
        task alike and the ratios between them hold."""
        times: dict[str, list[float]] = {task: [] for task in tasks}
        peaks: dict[str, list[float]] = {task: [] for task in tasks}
        for _ in range(runs):
            for task, command in tasks.items():
                seconds, peak = measured(command)
                times[task].append(seconds)
                peaks[task].append(peak)
        for task in tasks:
            results.append(Measurement(employees, ratings, input_name, task, times[task], peaks[task]))
            print(
                f"  {employees:>9,} {input_name:8} {task:16} {statistics.median(times[task]):8.2f} s {max(peaks[task]):8.0f} MB",
                file=sys.stderr,
            )

    for input_name, path in (("csv", csv_path), ("parquet", parquet_path)):
        outputs = {engine: work / f"{engine}-{input_name}.csv" for engine in ("duckdb", "polars")}
        base_out = work / f"base-{input_name}"
        tasks = {engine: [sys.executable, str(HERE / "engines.py"), engine, str(path), str(output)] for engine, output in outputs.items()}
        tasks["appraisal base"] = [
            *appraisal_command(), "run", "--rubric", str(BASE_RUBRIC), "--ratings", str(path), "--format", "csv", "--out", str(base_out), "-q",
        ]
        record(input_name, tasks)
        agreement = max(agreement, check_agreement(base_out / "results.csv", outputs))
    if employees <= options.full_max:
        # The full pipeline differs from the base one after reading, so it is timed on the CSV only.
        record(
            "csv",
            {
                "appraisal full": [
                    *appraisal_command(), "run", "--rubric", str(FULL_RUBRIC), "--ratings", str(csv_path), "--roster", str(roster),
                    "--format", "csv,json", "--out", str(work / "full-csv"), "-q",
                ]
            },
            options.full_repeats or repeats,
        )
    if employees <= min(options.report_max, options.full_max):
        reports = work / "reports"
        record(
            "json",
            {"appraisal report": [*appraisal_command(), "report", "--run", str(work / "full-csv"), "--format", "html", "--out", str(reports), "-q"]},
            options.full_repeats or repeats,
        )
    return results, agreement


@dataclass
class National:
    """A national run as agency runs: each agency simulated on its own (raters never cross agencies), run, then rolled up."""

    agencies: int
    employees: int
    ratings: int
    seconds: list[float]  # one per agency run
    peak_mb: list[float]
    rollup_seconds: float
    rollup_peak_mb: float

    @property
    def total(self) -> float:
        return sum(self.seconds) + self.rollup_seconds


def bench_national(agencies: int, size: int, data: Path) -> National:
    """``agencies`` agencies of ``size`` employees, each with its own seed, through the base pipeline, then ``appraisal rollup``."""
    root = data / f"national-{agencies}x{size}"
    runs, seconds, peaks, ratings = [], [], [], 0
    for agency in range(1, agencies + 1):
        folder = root / f"input-{agency}"
        if not (folder / "ratings.csv").exists():
            print(f"simulating agency {agency} of {agencies} ({size:,} employees) ...", file=sys.stderr)
            subprocess.run(
                [*appraisal_command(), "simulate", "--rubric", str(BASE_RUBRIC), "--employees", str(size), "--seed", str(agency), "--agency", str(agency), "--out", str(folder)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        out = root / f"instansi-{agency:02d}"
        took, peak = measured(
            [*appraisal_command(), "run", "--rubric", str(BASE_RUBRIC), "--ratings", str(folder / "ratings.csv"), "--roster", str(folder / "roster.csv"),
             "--format", "csv", "--out", str(out), "-q"]
        )
        ratings += json.loads((out / "manifest.json").read_text(encoding="utf-8"))["rows"]["ratings"]["read"]
        runs.append(str(out))
        seconds.append(took)
        peaks.append(peak)
        print(f"  agency {agency:>3}: {took:8.2f} s {peak:8.0f} MB", file=sys.stderr)
    rollup_seconds, rollup_peak = measured([*appraisal_command(), "rollup", *runs, "--out", str(root / "nasional"), "-q"])
    return National(agencies, agencies * size, ratings, seconds, peaks, rollup_seconds, rollup_peak)


def national_table(national: National, results: list[Measurement]) -> str:
    lines = [
        "| agencies × employees | employees | ratings | wall s, all agencies + rollup | per agency (median) | rollup s | peak MB (largest process) | s per million ratings |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| {national.agencies} × {national.employees // national.agencies:,} | {national.employees:,} | {national.ratings:,} | {national.total:.1f} "
        f"| {statistics.median(national.seconds):.2f} | {national.rollup_seconds:.2f} | {max(national.peak_mb + [national.rollup_peak_mb]):,.0f} "
        f"| {national.total / national.ratings * 1e6:.2f} |",
    ]
    base = sorted((m for m in results if m.input == "csv" and m.task == "appraisal base"), key=lambda m: m.ratings)
    if base:
        import math

        first = base[0]
        slope = math.log(national.total / first.median) / math.log(national.ratings / first.ratings)
        lines.append(f"\nLog-log slope of time against ratings, {first.size:,} employees (one run) → {national.employees:,} (by agency): {slope:.2f}")
    return "\n".join(lines)


def machine() -> dict[str, str]:
    import numpy
    import pyarrow

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "0")
    versions = {"python": platform.python_version(), "numpy": numpy.__version__, "pyarrow": pyarrow.__version__}
    for name in ("duckdb", "polars"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = "missing"
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory_gb": f"{int(memory) / 1024 / 1024:.1f}", "os": platform.platform(), **versions}


def table(results: list[Measurement]) -> str:
    """Markdown: one row per size, input and task, with the ratio to the faster engine on the same input."""
    lines = [
        "| employees | ratings | input | task | wall s (median) | runs | peak MB | ratio to faster of DuckDB/polars |",
        "|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for m in results:
        engines = [r.median for r in results if r.size == m.size and r.input == m.input and r.task in ("duckdb", "polars")]
        if not engines and m.task == "appraisal report":
            engines = [r.median for r in results if r.size == m.size and r.input == "csv" and r.task in ("duckdb", "polars")]
        ratio = f"{m.median / min(engines):.2f}" if engines else ""
        if m.task == "appraisal report":
            ratio = f"{m.size / m.median:,.0f} reports/s"
        runs = " / ".join(f"{s:.2f}" for s in m.seconds)
        lines.append(f"| {m.size:,} | {m.ratings:,} | {m.input} | {m.task} | {m.median:.2f} | {runs} | {m.peak:,.0f} | {ratio} |")
    return "\n".join(lines)


def slopes(results: list[Measurement]) -> str:
    """Seconds per million ratings at each size: flat means time grows linearly with ratings."""
    import math

    lines = ["| input | task | " + " | ".join(f"{s:,}" for s in sorted({m.size for m in results})) + " | log-log slope |", ""]
    sizes = sorted({m.size for m in results})
    lines[1] = "|---|---|" + "---:|" * len(sizes) + "---:|"
    for input_name, task in sorted({(m.input, m.task) for m in results}):
        points = {m.size: m for m in results if m.input == input_name and m.task == task}
        cells = [f"{points[s].median / points[s].ratings * 1e6:.2f}" if s in points else "" for s in sizes]
        known = sorted(points)
        slope = ""
        if len(known) >= 2:
            first, last = points[known[0]], points[known[-1]]
            slope = f"{math.log(last.median / first.median) / math.log(last.ratings / first.ratings):.2f}"
        lines.append(f"| {input_name} | {task} | " + " | ".join(cells) + f" | {slope} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k,1m", help="comma-separated: 1k, 10k, 100k, 1m or numbers")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=HERE / "data", help="where datasets and outputs go (cached)")
    parser.add_argument("--full-max", type=int, default=100_000, help="largest size to time the full pipeline for")
    parser.add_argument("--full-repeats", type=int, default=0, help="runs of the full pipeline (default: --repeats)")
    parser.add_argument("--report-max", type=int, default=100_000, help="largest size to time HTML reports for")
    parser.add_argument(
        "--national", default="", metavar="AGENCIESxSIZE",
        help="also time a national run as agency runs plus `appraisal rollup`, e.g. 10x100k (base pipeline, one run each)",
    )
    args = parser.parse_args()
    sizes = [SIZES.get(s.strip().lower()) or int(s) for s in args.sizes.split(",")]
    results: list[Measurement] = []
    agreement = 0.0
    for size in sizes:
        measured_size, gap = bench_size(size, args.data, args.repeats, args)
        results += measured_size
        agreement = max(agreement, gap)
    national = None
    if args.national:
        count, _, size_name = args.national.lower().partition("x")
        national = bench_national(int(count), SIZES.get(size_name) or int(size_name), args.data)
    info = machine()
    print(f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB; {info['os']}")
    print("Versions: " + ", ".join(f"{k} {info[k]}" for k in ("python", "numpy", "pyarrow", "duckdb", "polars")))
    print(f"Agreement: appraisal, DuckDB and polars overall scores differ by at most {agreement:.1e}\n")
    print(table(results))
    print("\nSeconds per million ratings (median):\n")
    print(slopes(results))
    if national is not None:
        print("\nNational run, partitioned by agency:\n")
        print(national_table(national, results))
    (args.data / "results.json").write_text(
        json.dumps(
            {"machine": info, "agreement": agreement, "results": [asdict(m) for m in results], "national": asdict(national) if national else None},
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
