"""Late-entry nowcast and interval calibration in every breakdown, against the synthetic truth.

For each seed, one synthetic province (scale 0.05 by default, default entry
process) is generated with its export taken 14 days after the period's end,
then ingested, standardised and linked once; the estimate runs for October
(the report month) with the extract date 0, 3, 7 and 14 days after the period
end (rows entered later left out, as `--extract-date` does), and each run is
compared with ``truth_summary(..., extract_date=...)`` of the same folder.
The linkage saw the rows entered up to day 14; the estimate of an earlier
extract drops the later rows (their links to the other rows stay as linked
on day 14: a small advantage to the earlier extracts' record rates, none to
the nowcast, which reads dates only).

Reports: ``late_entry_rate`` and ``never_entered_rate`` within 0.5 point of the
truth and inside their 95% interval, by extract day; the estimated and true
late-entry rate as the extract moves later; for the province and every
breakdown cell (district, sex, age group) the share of cells whose truth is
inside the 95% interval, per figure and by class (cell_class: cells whose
point is the truth to the count; coverage, whose upper end is a bound and
whose lower end is read apart; the calibrated rest); the z-score rms; and how
often a point estimate is an end of its interval (with the interval degenerate
or not).

    .venv/bin/python benchmarks/bench_nowcast.py --first-seed 12000 --n 20      # held out
    .venv/bin/python benchmarks/bench_nowcast.py --first-seed 1104 --n 1 --n-boot 200   # smoke

Each seed's result is cached as JSON in --work, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from machine import describe  # benchmarks/machine.py

GEN_PERIOD = ("2021-03-08", "2021-10-31")
REPORT_PERIOD = ("2021-10-01", "2021-10-31")
EXTRACT_DAYS = (0, 3, 7, 14)
NOWCAST = ("late_entry_rate", "never_entered_rate")
BOUNDS = ("coverage_dose1_recorded", "coverage_dose2_recorded")
# corrected coverage's upper end is raised by the same count of residents the linkage may have missed
UPPER_BOUNDS = ("coverage_dose1", "coverage_dose2")


def prepare(base: Path, scale: float, seed: int) -> dict[str, float]:
    """Generate, ingest, standardise and link one seed into ``base`` (skipped when a
    previous run left it complete: the marker file ``prepared.json`` holds its timings)."""
    from vaxstudy.ingest import ingest
    from vaxstudy.link import link_db
    from vaxstudy.options import LinkOptions
    from vaxstudy.standardize import standardize_db

    marker = base / "prepared.json"
    if marker.exists():
        return json.loads(marker.read_text())
    t = dict(generate_only(base, scale, seed))
    db = base / "work.duckdb"
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    ingest(base / "data", db)
    standardize_db(db)
    link_db(db, base / "link", LinkOptions(seed=1, diagnostics=False))
    t["ingest_link"] = time.perf_counter() - t0
    marker.write_text(json.dumps(t))
    return t


def generate_only(base: Path, scale: float, seed: int) -> dict[str, float]:
    """Generate one seed's synthetic province into ``base``/data (skipped when a previous run
    left it complete: the marker file ``generated.json``), so that the data can be made while the
    code that links them is still being written."""
    from vaxstudy.synth import generate

    marker = base / "generated.json"
    if marker.exists():
        return json.loads(marker.read_text())
    shutil.rmtree(base, ignore_errors=True)
    end = date.fromisoformat(GEN_PERIOD[1])
    t0 = time.perf_counter()
    generate(base / "data", scale=scale, seed=seed, period=GEN_PERIOD, fmt="parquet",
             extract_date=(end + timedelta(days=max(EXTRACT_DAYS))).isoformat())
    t = {"synth": time.perf_counter() - t0}
    marker.write_text(json.dumps(t))
    return t


def run_seed(work: Path, scale: float, seed: int, n_boot: int, keep: bool, fresh: bool = False) -> dict:
    from vaxstudy.estimate import estimate_db
    from vaxstudy.synth import truth_summary

    tag = f"s{scale}_seed{seed}"
    cache = work / f"{tag}.json"
    if cache.exists() and not fresh:
        return json.loads(cache.read_text())
    base = work / tag
    data, db = base / "data", base / "work.duckdb"
    end = date.fromisoformat(GEN_PERIOD[1])
    t = dict(prepare(base, scale, seed))
    runs = []
    for k in EXTRACT_DAYS:
        x = (end + timedelta(days=k)).isoformat()
        out = base / f"out_{k}"
        out.mkdir(parents=True, exist_ok=True)
        if (base / "link" / "link_summary.json").exists():
            shutil.copy2(base / "link" / "link_summary.json", out / "link_summary.json")
        t0 = time.perf_counter()
        m = estimate_db(db, "40", *REPORT_PERIOD, out, seed=seed, n_boot=n_boot, audit=False, extract_date=x)
        t[f"estimate_{k}"] = time.perf_counter() - t0
        truth = truth_summary(data, "40", *REPORT_PERIOD, extract_date=x)
        runs.append({"extract_days": k, "extract_date": x, "metrics": _strip(m), "truth": truth})
    res = {"seed": seed, "scale": scale, "n_boot": n_boot, "timings_s": t, "runs": runs}
    cache.write_text(json.dumps(res))
    if not keep:
        shutil.rmtree(base, ignore_errors=True)
    return res


def _strip(m: dict) -> dict:
    keep = {k: v for k, v in m.items() if not isinstance(v, dict) or k in ("by_district", "by_sex", "by_age_group")}
    keep["nowcast"] = m["method"].get("nowcast")
    return keep


def written(truth: float) -> float:
    """The truth at metrics.json's precision (6 decimals): a degenerate interval is written as
    its point, rounded, and the exact truth of that cell differs from it by under 5e-7."""
    return round(float(truth), 6)


def cells(run: dict):
    """(family, group, figure, estimate, [lo, hi], truth) for every figure in both."""
    m, tr = run["metrics"], run["truth"]
    fams = [("province", {"40": m}, {"40": tr})]
    fams += [(f, m.get(f, {}), tr.get(f, {})) for f in ("by_district", "by_sex", "by_age_group")]
    for fam, est, tru in fams:
        for g, blk in est.items():
            tg = tru.get(g)
            if not tg:
                continue
            for r, v in blk.items():
                if r.endswith("_ci") or f"{r}_ci" not in blk or r not in tg:
                    continue
                ci, tv = blk[f"{r}_ci"], tg[r]
                if v is None or ci is None or tv is None:
                    continue
                yield fam, g, r, v, ci, written(tv)


def nowcast_table(results: list[dict]) -> str:
    lines = ["| extract | figure | runs | within 0.5 pp | truth in 95% CI | mean est pp | mean true pp | "
             "mean \\|err\\| pp | max \\|err\\| pp | mean CI width pp |", "|---|---|---|---|---|---|---|---|---|---|"]
    for k in EXTRACT_DAYS:
        for r in NOWCAST:
            rows = [(run["metrics"][r], run["metrics"][f"{r}_ci"], written(run["truth"][r]))
                    for res in results for run in res["runs"] if run["extract_days"] == k]
            if not rows:
                continue
            n = len(rows)
            err = [abs(e - t) for e, _, t in rows]
            inside = sum(lo <= t <= hi for _, (lo, hi), t in rows)
            lines.append(
                f"| +{k} d | {r} | {n} | {sum(e <= 0.005 for e in err) / n:.2f} | {inside / n:.2f} | "
                f"{100 * sum(e for e, _, _ in rows) / n:.2f} | {100 * sum(t for _, _, t in rows) / n:.2f} | "
                f"{100 * sum(err) / n:.3f} | {100 * max(err):.3f} | "
                f"{100 * sum(hi - lo for _, (lo, hi), _ in rows) / n:.3f} |")
    return "\n".join(lines)


# each count rate's denominator as metrics.json names it in a block (rates.RATE_DENOMINATOR's totals)
BLOCK_TOTAL = {"subj": "n_subjects", "rec": "n_records", "tally": "n_tally_doses"}


def count_total(run: dict, fam: str, group: str, r: str) -> float | None:
    """The total a count rate of this cell is taken over (None where the block does not give it:
    the districts' tallied doses, and the coverages)."""
    from vaxstudy.estimate.rates import RATE_DENOMINATOR

    blk = run["metrics"] if fam == "province" else run["metrics"].get(fam, {}).get(group, {})
    n = blk.get(BLOCK_TOTAL.get(RATE_DENOMINATOR.get(r, ""), ""))
    return float(n) if n else None


def cell_class(run: dict, fam: str, group: str, r: str, v: float, tv: float) -> str:
    """``bound`` (recorded coverage) and ``upper bound`` (corrected coverage): their upper end is
    raised to an identification bound, the residents the linkage may have missed (docs/contract.md,
    Readings), so only their lower end is a 95% interval's (missed in about 2.5% of cells);
    ``exact`` (a count rate whose point is its truth to within half a count: an interval that
    holds its point holds the truth, whatever its width) or ``calibrated`` (the record rates and
    late entries otherwise: where the share inside says whether the interval is as wide as it
    should be)."""
    if r in BOUNDS:
        return "bound"
    if r in UPPER_BOUNDS:
        return "upper bound"
    n = count_total(run, fam, group, r)
    # v and tv as written (6 decimals): over a province's ~1 M rows at full scale that is itself up
    # to half a row, so a province cell there can be called exact or not by rounding alone
    return "exact" if n is not None and abs(v - tv) * n < 0.5 else "calibrated"


# (label, classes, what is counted: the share inside, or the share below the lower end)
CLASS_TOTALS = (("all figures", ("bound", "upper bound", "exact", "calibrated"), "inside"),
                ("all but recorded coverage (a bound)", ("upper bound", "exact", "calibrated"), "inside"),
                ("record rates and late entries, point not the truth (calibrated)", ("calibrated",), "inside"),
                ("corrected coverage (its upper end a bound)", ("upper bound",), "inside"),
                ("corrected coverage, truth below the lower end (a 97.5% end)", ("upper bound",), "below"),
                ("recorded coverage, truth below the lower end (a 97.5% end)", ("bound",), "below"))


def cell_table(results: list[dict]) -> str:
    """Per breakdown and figure: the share of cells whose truth is inside the 95% interval; the cells
    whose truth is below its lower end and above its upper end (a bound's upper end is not a 95%
    end: its lower end is, missed in about 2.5% of cells); the cells whose point is the truth to the
    count (``exact``) and the share inside among the others; the z-score rms (error over the
    interval's width / 3.92; about 1 when the width matches the error, under 1 where it is wider:
    approximate for an asymmetric interval); the points at an end. Then per breakdown the shares
    inside over all figures, over all but recorded coverage, over the calibrated cells alone and
    over corrected coverage, and the coverages' shares below their lower end: an exact cell holds
    whatever the interval's width, and a bound holds on its upper side by design, so the calibrated
    cells' share inside and the bounds' share below say whether a 95% interval is as wide as it
    should be (cell_class)."""
    import math
    from collections import defaultdict

    # n, inside, point at an end (non-degenerate), degenerate, exact, inside and not exact, z^2 sum,
    # cells with a width, truth below the lower end, above the upper end
    agg: dict = defaultdict(lambda: [0, 0, 0, 0, 0, 0, 0.0, 0, 0, 0])
    tot: dict = defaultdict(lambda: [0, 0, 0, 0])  # (fam, class) -> n, inside, point at an end, below
    for res in results:
        for run in res["runs"]:
            for fam, g, r, v, (lo, hi), tv in cells(run):
                a = agg[(fam, r)]
                inside, end = lo <= tv <= hi, (v in (lo, hi)) and hi > lo
                cls = cell_class(run, fam, g, r, v, tv)
                a[0] += 1
                a[1] += inside
                a[2] += end
                a[3] += hi == lo
                a[4] += cls == "exact"
                a[5] += inside and cls != "exact"
                if hi > lo:
                    a[6] += ((v - tv) / ((hi - lo) / 3.92)) ** 2
                    a[7] += 1
                a[8] += tv < lo
                a[9] += tv > hi
                t = tot[(fam, cls)]
                t[0] += 1
                t[1] += inside
                t[2] += end
                t[3] += tv < lo
    lines = ["| breakdown | figure | cells | truth in 95% CI | below / above it | point = truth (to the count) "
             "| truth in CI, the others | z-score rms | point = an end (width > 0) | width 0 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (fam, r), (n, i, e, d, x, ix, z2, nz, below, above) in sorted(agg.items()):
        others = f"{ix / (n - x):.3f}" if n > x else ""
        z = f"{math.sqrt(z2 / nz):.2f}" if nz else ""
        lines.append(f"| {fam} | {r} | {n} | {i / n:.3f} | {below} / {above} | {x} | {others} | {z} | {e} | {d} |")
    for fam in sorted({f for f, _ in tot}):
        for label, classes, what in CLASS_TOTALS:
            n, i, e, b = (sum(tot[(fam, c)][k] for c in classes) for k in range(4))
            if n:
                share = i / n if what == "inside" else b / n
                lines.append(f"| **{fam}, {label}** | | {n} | {share:.3f} | | | | | {e} | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--first-seed", type=int, default=12000)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--n-boot", type=int, default=500)
    ap.add_argument("--work", type=Path, default=Path("/tmp/vaxstudy_bench_nowcast"))
    ap.add_argument("--keep", action="store_true", help="keep each seed's data and database")
    ap.add_argument("--prepare-only", action="store_true",
                    help="only generate, ingest and link the seeds (kept), no estimate")
    ap.add_argument("--generate-only", action="store_true",
                    help="only generate the seeds' synthetic data (kept; --prepare-only links them later)")
    ap.add_argument("--fresh", action="store_true",
                    help="estimate again even where a seed's result is cached (reuses its kept database)")
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    print(describe("duckdb", "numpy", "splink"), flush=True)
    results = []
    for seed in range(a.first_seed, a.first_seed + a.n):
        t0 = time.perf_counter()
        if a.generate_only:
            t = generate_only(a.work / f"s{a.scale}_seed{seed}", a.scale, seed)
            print(f"seed {seed} generated ({time.perf_counter() - t0:.0f} s; {t})", flush=True)
            continue
        if a.prepare_only:
            t = prepare(a.work / f"s{a.scale}_seed{seed}", a.scale, seed)
            print(f"seed {seed} prepared ({time.perf_counter() - t0:.0f} s; {t})", flush=True)
            continue
        res = run_seed(a.work, a.scale, seed, a.n_boot, a.keep, a.fresh)
        results.append(res)
        late = [f"+{r['extract_days']}: {100 * r['metrics']['late_entry_rate']:.2f}/{100 * r['truth']['late_entry_rate']:.2f}"
                for r in res["runs"]]
        print(f"seed {seed} ({time.perf_counter() - t0:.0f} s) late est/true pp " + ", ".join(late), flush=True)
    if a.prepare_only or a.generate_only:
        return 0
    print(f"\n{len(results)} seeds ({a.first_seed}..{a.first_seed + len(results) - 1}), scale {a.scale}, "
          f"report period {REPORT_PERIOD[0]}..{REPORT_PERIOD[1]}, n_boot {a.n_boot}\n")
    print(nowcast_table(results))
    print()
    print(cell_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
