"""Several periods of one province: the first period's cost and each further period's.

    python benchmarks/bench_periods.py [--scale 0.1] [--seed 1] [--work DIR]
                                       [--periods 2021-08-01:2021-08-31 2021-09-01:2021-09-30 ...]

What `vaxstudy report-all` does for one province (vaxstudy.report.batch.run_batch): one
:class:`vaxstudy.Study` is ingested, standardised and linked once, then each period is
estimated and rendered from the same tables. A synthetic Nghệ An is generated once into
``--work`` (not timed). Printed: the shared stages' seconds, each period's estimate, render
and total seconds, the first period's time (shared stages + its own report) and each later
period's time as a share of it — the issue's target is ≤ 25 %. Results also go to
``--work``/bench_periods.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path

from machine import describe  # benchmarks/machine.py

DEFAULT_PERIODS = ["2021-08-01:2021-08-31", "2021-09-01:2021-09-30", "2021-10-01:2021-10-31"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--periods", nargs="+", default=DEFAULT_PERIODS)
    ap.add_argument("--work", type=Path, default=Path("/tmp/vaxstudy_bench_periods"))
    ap.add_argument("--no-privacy", action="store_true",
                    help="render without the privacy check, then time the scan on its own (its findings counted)")
    ap.add_argument("--data", type=Path, default=None,
                    help="an already generated province of this scale and seed (vaxstudy synth), used as it is")
    args = ap.parse_args()

    from vaxstudy.options import EstimateOptions, LinkOptions
    from vaxstudy.progress import Progress
    from vaxstudy.study import Study
    from vaxstudy.synth import generate

    print(describe("duckdb", "splink"))
    data = args.data or args.work / f"scale{args.scale:g}_seed{args.seed}" / "data"
    if not (data / "truth_summary.json").exists():
        generate(data, province="40", scale=args.scale, seed=args.seed, period=("2021-03-08", "2021-10-31"),
                 fmt="csv")
    out = args.work / f"scale{args.scale:g}_seed{args.seed}" / "reports"
    shutil.rmtree(out, ignore_errors=True)
    with Progress(False, "bench") as pr:
        study = Study.in_folder(out, "40", "duckdb", progress=pr)
        t = time.perf_counter()
        study.prepare(data, LinkOptions(seed=args.seed, diagnostics=False))
        shared = {k: round(v, 1) for k, v in study.timings.items()}
        t_shared = time.perf_counter() - t
        periods = []
        for p in args.periods:
            start, end = p.split(":")
            t = time.perf_counter()
            res = study.report("40", (start, end), out, estimate=EstimateOptions(seed=args.seed),
                               privacy_check=not args.no_privacy)
            q = {"period": p, "estimate_s": round(study.timings["estimate"], 1),
                 "render_s": round(study.timings["render"], 1)}
            if args.no_privacy:  # the scan timed on its own, its findings counted
                from vaxstudy.report import privacy

                tp = time.perf_counter()
                q["privacy_findings"] = len(privacy.scan_folder(res.run_dir, privacy.identifiers_from_db(study.db)))
                q["privacy_scan_s"] = round(time.perf_counter() - tp, 1)
            q["total_s"] = round(time.perf_counter() - t, 1)
            periods.append(q)
        study.close()
    first = t_shared + periods[0]["total_s"]
    for q in periods[1:]:
        q["share_of_first"] = round(q["total_s"] / first, 3)
    res = {"machine": describe("duckdb", "splink"), "scale": args.scale, "seed": args.seed,
           "shared_stages_s": shared, "shared_total_s": round(t_shared, 1), "periods": periods,
           "first_period_s": round(first, 1),
           "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}
    print(f"scale {args.scale:g}: ingest + standardise + link once: {t_shared:.1f} s {shared}")
    for q in periods:
        extra = f" = {100 * q['share_of_first']:.0f} % of the first period" if "share_of_first" in q else ""
        print(f"  {q['period']}: {q['total_s']:.1f} s (estimate {q['estimate_s']:.1f}, render {q['render_s']:.1f}){extra}")
    print(f"  first period in all: {first:.1f} s; peak RSS {res['peak_rss_gib']} GiB")
    (args.work / "bench_periods.json").write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
