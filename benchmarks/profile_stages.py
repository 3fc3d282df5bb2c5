"""Step-by-step wall times of the estimate and the render on an already linked database.

Wraps the estimate's steps (scope check, inputs, audit, report tables, truth check,
metrics and their parts) with wall-clock timers and each step's own thread CPU
(``time.thread_time``: readable on a loaded machine, where wall seconds are not), no
profiler overhead; then, on the run
folder the estimate wrote, times the render's parts without a kernel: each report section
(tables and figures), the privacy identifier set, the folder scan and nbconvert's HTML.
Add ``--cprofile N`` for cProfile's N most expensive functions of the estimate instead.

Usage: python benchmarks/profile_stages.py DB --province 40 --period 2021-03-08:2021-10-31
       [--out DIR] [--cprofile 40]
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import time
from pathlib import Path

from machine import describe  # benchmarks/machine.py

TIMES: dict[str, float] = {}
CPU: dict[str, float] = {}  # the step's own thread's CPU seconds


def _timed(owner, name: str, label: str) -> None:
    f = getattr(owner, name)

    @functools.wraps(f)
    def wrapper(*a, **k):
        t, c = time.perf_counter(), time.thread_time()
        try:
            return f(*a, **k)
        finally:
            TIMES[label] = TIMES.get(label, 0.0) + time.perf_counter() - t
            CPU[label] = CPU.get(label, 0.0) + time.thread_time() - c

    setattr(owner, name, wrapper)


def instrument() -> None:
    import vaxstudy.estimate as E
    import vaxstudy.estimate.data as D
    import vaxstudy.estimate.metrics as M
    import vaxstudy.estimate.quality as Q
    import vaxstudy.estimate.truthcheck as T
    import vaxstudy.report.aggregates as A
    import vaxstudy.validate as V

    _timed(V, "check_scope", "check_scope")
    _timed(D, "load_inputs", "load_inputs")
    E.load_inputs = D.load_inputs
    _timed(Q, "audit", "audit")
    _timed(T, "linkage_accuracy", "truthcheck")
    _timed(A, "compute", "report tables (thread)")
    _timed(M, "compute_metrics", "compute_metrics")
    E.compute_metrics = M.compute_metrics
    _timed(M, "subject_table", "  subject_table")
    _timed(M, "record_site_aggregates", "  record_site_aggregates")
    _timed(M, "coverage_parts", "  coverage_parts")
    _timed(M.iv, "link_flips", "  link_flips")
    _timed(M.nc, "lag_data", "  lag_data")
    for meth in ("__init__", "expected_point", "replicates", "recorded_spreads"):
        _timed(M.Estimator, meth, f"  Estimator.{meth}")
    _timed(E, "write_metrics", "write_metrics")


def render_parts(run: Path, db: Path, province: str, start: str, end: str) -> dict[str, float]:
    """Seconds of each section, the identifier set, the scan and the HTML conversion."""
    out: dict[str, float] = {}
    t = time.perf_counter()
    from vaxstudy.report import privacy
    from vaxstudy.report.sections import SECTIONS, Report

    out["imports"] = time.perf_counter() - t
    rep = Report(run_dir=run, province=province, period_start=start, period_end=end)
    for name in ("title",) + SECTIONS:
        t = time.perf_counter()
        rep.section(name)
        out[f"section {name}"] = time.perf_counter() - t
    t = time.perf_counter()
    ids = privacy.identifiers_from_db(db)
    out["privacy identifier set"] = time.perf_counter() - t
    t = time.perf_counter()
    privacy.scan_folder(run, ids)
    out["privacy folder scan"] = time.perf_counter() - t
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--province", default="40")
    ap.add_argument("--period", default="2021-03-08:2021-10-31")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--cprofile", type=int, default=0)
    a = ap.parse_args()
    start, end = a.period.split(":")
    out = a.out or Path(tempfile.mkdtemp(prefix="profile-"))
    print(f"machine: {describe('duckdb', 'pandas', 'matplotlib')}", flush=True)
    from vaxstudy.estimate import estimate_db

    if a.cprofile:
        import cProfile
        import pstats

        pr = cProfile.Profile()
        pr.runcall(estimate_db, a.db, a.province, start, end, out, seed=1)
        pstats.Stats(pr).sort_stats("cumulative").print_stats(a.cprofile)
        return
    instrument()
    t, c = time.perf_counter(), time.process_time()
    estimate_db(a.db, a.province, start, end, out, seed=1)
    TIMES["estimate total"] = time.perf_counter() - t
    CPU["estimate total"] = time.process_time() - c  # the whole process's CPU
    cpu = {k: round(CPU[k], 2) for k in TIMES}
    TIMES.update(render_parts(out, a.db, a.province, start, end))
    print(json.dumps({"wall_s": {k: round(v, 2) for k, v in TIMES.items()}, "cpu_s": cpu}, indent=1,
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
