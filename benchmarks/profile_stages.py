"""Step-by-step wall times of the estimate and the render on an already linked database.

Wraps the estimate's steps (scope check, inputs, audit, report tables, truth check,
metrics and their parts) with wall-clock timers and each step's own thread CPU
(``time.thread_time``: readable on a loaded machine, where wall seconds are not), no
profiler overhead; then, on the run
folder the estimate wrote, times the render's parts without a kernel: each report section
(tables and figures), the privacy identifier set, the folder scan and nbconvert's HTML.
Add ``--cprofile N`` for cProfile's N most expensive functions of the estimate instead.

With ``--report``, DB is instead an output folder already linked by ``vaxstudy report`` (or
``Study.in_folder``): its report is run again, as ``vaxstudy report`` runs it, and the stages'
wall seconds are printed with the CPU seconds of the estimate stage's window — the whole
process and the notebook kernel's process (the work started beside the estimate) — and each
step's thread CPU, the identifier set and the kernel start included.

Usage: python benchmarks/profile_stages.py DB --province 40 --period 2021-03-08:2021-10-31
       [--out DIR] [--cprofile 40]
       python benchmarks/profile_stages.py OUT_FOLDER --report [--province 40 --period ...]
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
ENDS: dict[str, float] = {}  # when the step last ended (perf_counter): which thread waited for which


def _timed(owner, name: str, label: str) -> None:
    f = getattr(owner, name)

    @functools.wraps(f)
    def wrapper(*a, **k):
        t, c = time.perf_counter(), time.thread_time()
        try:
            return f(*a, **k)
        finally:
            ENDS[label] = time.perf_counter()
            TIMES[label] = TIMES.get(label, 0.0) + ENDS[label] - t
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
    for name in ("audit_counts", "audit_tables"):  # the audit in two parts (its queries start early)
        if hasattr(Q, name):
            _timed(Q, name, f"audit: {name}")
    _timed(T, "linkage_accuracy", "truthcheck")
    _timed(A, "compute", "report tables (thread)")
    _timed(M, "compute_metrics", "compute_metrics")
    E.compute_metrics = M.compute_metrics
    _timed(M, "subject_table", "  subject_table")
    _timed(M, "record_site_aggregates", "  record_site_aggregates")
    _timed(M, "coverage_parts", "  coverage_parts")
    _timed(M.fl, "link_flips", "  link_flips")
    _timed(M.nc, "lag_data", "  lag_data")
    for meth in ("__init__", "expected_point", "replicates", "recorded_spreads"):
        _timed(M.Estimator, meth, f"  Estimator.{meth}")
    _timed(E, "write_metrics", "write_metrics")
    _timed(Q, "summary", "quality.summary")  # the main thread's tail after the side threads' results
    _timed(Q, "write_tables", "quality.write_tables")
    _timed(A, "write", "report tables: write")


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


def report_window(folder: Path, province: str, start: str, end: str) -> dict:
    """``Study.report`` on a linked output folder, instrumented: stage walls; per stage, the
    process's and its children's (the kernel's) CPU seconds at its start and end; step CPU."""
    import contextlib

    import psutil

    from vaxstudy import study as S
    from vaxstudy.options import EstimateOptions
    from vaxstudy.report import privacy, render

    me, t0, events = psutil.Process(), time.perf_counter(), {}

    def cpu() -> tuple[float, float, float]:
        kids = 0.0
        for c in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                kids += sum(c.cpu_times()[:2])
        return round(time.perf_counter() - t0, 2), round(sum(me.cpu_times()[:2]), 2), round(kids, 2)

    instrument()
    _timed(privacy, "identifiers_from_db", "privacy identifier set (thread)")
    _timed(render, "start_kernel", "kernel start (thread)")
    _timed(privacy, "assert_folder_clean", "privacy folder scan")
    stage = S.Study._stage

    @contextlib.contextmanager
    def timed_stage(self, name):
        events[f"{name} start"] = cpu()
        with stage(self, name) as note:
            yield note
        events[f"{name} end"] = cpu()  # the kernel still runs at the estimate's end, not at the render's

    S.Study._stage = timed_stage
    with S.Study.in_folder(folder, province) as st:
        st.report(province, (start, end), estimate=EstimateOptions(seed=1))
        timings = dict(st.timings)
    a, b = events["estimate start"], events["estimate end"]
    return {"stages_wall_s": {k: round(v, 2) for k, v in timings.items()},
            "estimate_window_cpu_s": {"process": round(b[1] - a[1], 2), "kernel": round(b[2] - a[2], 2)},
            "render_process_cpu_s": round(events["render end"][1] - events["render start"][1], 2),
            "thread_cpu_s": {k: round(v, 2) for k, v in CPU.items()},
            "step_wall_s": {k: round(v, 2) for k, v in TIMES.items()},
            "step_end_s": {k: round(v - t0, 2) for k, v in ENDS.items()}, "events": events}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--province", default="40")
    ap.add_argument("--period", default="2021-03-08:2021-10-31")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--cprofile", type=int, default=0)
    ap.add_argument("--report", action="store_true", help="DB is a linked output folder: time its report")
    a = ap.parse_args()
    start, end = a.period.split(":")
    if a.report:
        print(f"machine: {describe('duckdb', 'pandas', 'matplotlib')}", flush=True)
        print(json.dumps(report_window(a.db, a.province, start, end), indent=1, ensure_ascii=False))
        return
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
