"""Per-stage cost as a function of rows, and its extrapolation to the whole country.

    python benchmarks/bench_scaling.py run --scale 0.1 [--seed 1] [--work DIR]   # one scale, appended
    python benchmarks/bench_scaling.py table [--work DIR] [--plot docs/performance_scaling.png]

``run`` generates a synthetic Nghệ An at ``--scale`` as CSV (kept in ``--work``; generation is
not timed; ``--data`` takes an already generated one), then runs each stage of `vaxstudy report` in a child process of its own, one after
the other, so each stage's peak resident memory (ru_maxrss) is its own: ingest, standardise,
link (model trained, diagnostics off; its steps' seconds from link_summary.json), estimate
(one period, the whole campaign) and render (notebook + privacy scan; the report command's
second half). Each measurement is appended to ``--work``/scaling.json with the rows, the
machine and its load.

``table`` fits, per stage, seconds = a · rows^b (least squares on the logs) and peak memory =
baseline + bytes per row · rows (least squares) over the measured scales (rows = register + registry rows), prints the measured
table, the exponents and the extrapolation to the country (100 M residents + 200 M dose
rows = 300 M rows) and draws the log–log plot. The extrapolation is a power law fitted on
three points from 0.4 M to 5 M rows: it is an estimate, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from machine import describe  # benchmarks/machine.py

STAGES = ("ingest", "standardize", "link", "estimate", "render")
PERIOD = ("2021-03-08", "2021-10-31")
COUNTRY_ROWS = 300e6  # 100 M residents + 200 M dose rows


def _study(work: Path, scale: float, seed: int):
    from vaxstudy.study import Study

    return Study.in_folder(work / f"scale{scale:g}_seed{seed}" / "reports", "40", "duckdb")


def _data(work: Path, scale: float, seed: int) -> Path:
    """The province's data folder: generated here, or a link to one given with --data."""
    return work / f"scale{scale:g}_seed{seed}" / "data"


def child(stage: str, work: Path, scale: float, seed: int) -> dict:
    """Run one stage in this (child) process; its seconds, peak RSS and details."""
    from vaxstudy.options import EstimateOptions, LinkOptions

    st = _study(work, scale, seed)
    data = _data(work, scale, seed)
    st.data_dir = data
    out: dict = {}
    t = time.perf_counter()
    if stage == "ingest":
        st.ingest(data)
    elif stage == "standardize":
        st.standardize()
    elif stage == "link":
        res = st.link(LinkOptions(seed=seed, diagnostics=False))
        out["steps"] = {k: round(v, 2) for k, v in res.timings.items()}
        out["comparisons"] = res.comparisons
    elif stage == "estimate":
        st.estimate("40", PERIOD, EstimateOptions(seed=seed), out_dir=st.db.parent / "bench_estimate")
    elif stage == "render":
        from vaxstudy.report import privacy

        st.link_options = LinkOptions(seed=seed, diagnostics=False)
        # the privacy scan is timed on its own after the render: on main at the time of writing it
        # took digits of long decimals in the data-quality tables for identifiers at scale >= 0.1
        res = st.report("40", PERIOD, estimate=EstimateOptions(seed=seed), privacy_check=False)
        out["estimate_in_report_s"] = round(st.timings["estimate"], 2)
        out["render_without_privacy_s"] = round(st.timings["render"], 2)
        tp = time.perf_counter()
        findings = privacy.scan_folder(res.run_dir, privacy.identifiers_from_db(st.db))
        out["privacy_scan_s"] = round(time.perf_counter() - tp, 2)
        out["privacy_findings"] = len(findings)
    seconds = time.perf_counter() - t
    if stage == "render":  # the report command's second half: render + privacy scan, not its estimate
        seconds = out["render_without_privacy_s"] + out["privacy_scan_s"]
    st.close()
    # VmHWM: this process image's own peak (ru_maxrss would carry the parent's peak across the
    # fork and exec); the render's notebook kernel is a child, whose peak is recorded beside it
    out.update(stage=stage, seconds=round(seconds, 2), peak_rss_mib=round(_vm_hwm_kib() / 1024, 1),
               children_peak_rss_mib=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1))
    return out


def _vm_hwm_kib() -> int:
    with open("/proc/self/status") as f:
        return int(next(line.split()[1] for line in f if line.startswith("VmHWM:")))


def _rows(db: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return {"register": con.execute("SELECT count(*) FROM population_std").fetchall()[0][0],
                "registry": con.execute("SELECT count(*) FROM vaccinations_std").fetchall()[0][0]}
    finally:
        con.close()


def run(scale: float, seed: int, work: Path, given: Path | None = None) -> None:
    from vaxstudy.synth import generate

    data = _data(work, scale, seed)
    if given is not None:  # an already generated province (vaxstudy synth) of this scale and seed
        data.parent.mkdir(parents=True, exist_ok=True)
        if data.is_symlink() or data.exists():
            data.unlink()
        data.symlink_to(given.resolve(), target_is_directory=True)
    if not (data / "truth_summary.json").exists():
        generate(data, province="40", scale=scale, seed=seed, period=PERIOD, fmt="csv")
    rec: dict = {"scale": scale, "seed": seed, "machine": describe("duckdb", "splink"), "stages": {}}
    for stage in STAGES:
        p = subprocess.run([sys.executable, __file__, "_stage", stage, "--scale", str(scale), "--seed", str(seed),
                            "--work", str(work)], capture_output=True, text=True)
        if p.returncode != 0:  # recorded, and the other stages still measured
            print(f"scale {scale:g} {stage} failed:\n{p.stderr[-1500:]}", flush=True)
            rec["stages"][stage] = {"stage": stage, "failed": p.stderr[-300:]}
            continue
        r = json.loads(p.stdout.strip().splitlines()[-1])
        r["load_after"] = round(os.getloadavg()[0], 1)
        rec["stages"][stage] = r
        print(f"scale {scale:g} {stage}: {r['seconds']:.1f} s, peak {r['peak_rss_mib']:.0f} MiB"
              + (f" {r.get('steps')}" if stage == "link" else ""), flush=True)
    rec["rows"] = _rows(_study(work, scale, seed).db)
    path = work / "scaling.json"
    allrec = json.loads(path.read_text()) if path.exists() else []
    allrec = [r for r in allrec if not (r["scale"] == scale and r["seed"] == seed)] + [rec]
    path.write_text(json.dumps(sorted(allrec, key=lambda r: r["scale"]), indent=2))


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """(a, b) of y = a · x^b, least squares on the logs."""
    lx, ly = [math.log(x) for x in xs], [math.log(max(y, 1e-3)) for y in ys]
    n = len(lx)
    mx, my = sum(lx) / n, sum(ly) / n
    sxx = sum((x - mx) ** 2 for x in lx)
    b = sum((x - mx) * (y - my) for x, y in zip(lx, ly)) / sxx if sxx else 1.0
    return math.exp(my - b * mx), b


def _linear(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """(m0, k) of y = m0 + k · x, least squares (memory: the interpreter's baseline + per row)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    k = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return my - k * mx, k


def table(work: Path, plot: Path | None) -> None:
    recs = json.loads((work / "scaling.json").read_text())
    rows = [r["rows"]["register"] + r["rows"]["registry"] for r in recs]
    print("| scale | register | registry rows | " + " | ".join(f"{s} s (MiB)" for s in STAGES) + " | total s |")
    print("|---" * (len(STAGES) + 4) + "|")
    def cell(r: dict, s: str) -> str:
        x = r["stages"].get(s, {})
        return f"{x['seconds']:.1f} ({x['peak_rss_mib']:,.0f})" if "seconds" in x else "failed"

    for r, n in zip(recs, rows):
        cells = [cell(r, s) for s in STAGES]
        tot = sum(r["stages"][s].get("seconds", 0) for s in STAGES if s in r["stages"])
        print(f"| {r['scale']:g} | {r['rows']['register']:,} | {r['rows']['registry']:,} | " + " | ".join(cells)
              + f" | {tot:.1f} |")
    print()
    print("| stage | time exponent b (log–log slope) | 300 M rows by the power law (h) | µs per row (linear fit) | "
          "300 M rows by the linear fit (h) | memory: baseline MiB + bytes per row | peak at 300 M rows if "
          "nothing spilled (GiB) |")
    print("|---|---|---|---|---|---|---|")
    fits = {}
    for s in STAGES:
        ok = [(n, r["stages"][s]) for n, r in zip(rows, recs) if "seconds" in r["stages"].get(s, {})]
        if len(ok) < 2:
            continue
        a, b = _fit([n for n, _ in ok], [x["seconds"] for _, x in ok])
        m0, k = _linear([n for n, _ in ok], [x["peak_rss_mib"] for _, x in ok])
        fits[s] = (a, b, m0, k)
        t0, us = _linear([n for n, _ in ok], [x["seconds"] for _, x in ok])
        print(f"| {s} | {b:.2f} | {a * COUNTRY_ROWS ** b / 3600:,.1f} | {us * 1e6:.1f} | "
              f"{(t0 + us * COUNTRY_ROWS) / 3600:,.1f} | {m0:,.0f} + {k * 2**20:,.0f} B | "
              f"{(m0 + k * COUNTRY_ROWS) / 1024:,.0f} |")
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
        grid = [min(rows) * 0.8, COUNTRY_ROWS]
        for s in fits:
            a, b, m0, k = fits[s]
            pts = [(n, r["stages"][s]) for n, r in zip(rows, recs) if "seconds" in r["stages"].get(s, {})]
            line, = ax[0].plot([n for n, _ in pts], [x["seconds"] for _, x in pts], "o", label=f"{s} (b = {b:.2f})")
            ax[0].plot(grid, [a * x ** b for x in grid], "--", color=line.get_color(), lw=1)
            ax[1].plot([n for n, _ in pts], [x["peak_rss_mib"] / 1024 for _, x in pts], "o", color=line.get_color(),
                       label=f"{s} ({k * 2**20:,.0f} B/row)")
            ax[1].plot(grid, [(m0 + k * x) / 1024 for x in grid], "--", color=line.get_color(), lw=1)
        for k, (axis, title) in enumerate(zip(ax, ("seconds (2-core VM)", "peak RSS (GiB)"))):
            axis.set_xscale("log")
            axis.set_yscale("log")
            axis.axvline(COUNTRY_ROWS, color="grey", lw=0.8)
            axis.set_xlabel("rows (register + registry)")
            axis.set_title(title + ": points measured, dashed = fit", fontsize=9)
            axis.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(plot, dpi=110)
        print(f"plot → {plot}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["run", "table", "_stage"])
    ap.add_argument("stage", nargs="?")
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/vaxstudy_bench_scaling"))
    ap.add_argument("--plot", type=Path, default=None)
    ap.add_argument("--data", type=Path, default=None,
                    help="run: an already generated province of this scale and seed (vaxstudy synth), used as it is")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.what == "_stage":
        import logging
        import warnings

        logging.disable(logging.WARNING)
        warnings.simplefilter("ignore")
        print(json.dumps(child(args.stage, args.work, args.scale, args.seed)))
    elif args.what == "run":
        print(describe("duckdb", "splink"))
        run(args.scale, args.seed, args.work, args.data)
    else:
        table(args.work, args.plot)


if __name__ == "__main__":
    main()
