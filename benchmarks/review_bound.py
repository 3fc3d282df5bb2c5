"""Recorded coverage's missed-resident bound, without and with a clerical review, against the truth.

    python benchmarks/review_bound.py [--first-seed 32000] [--n 3] [--scale 0.05] [--local 0 0.5]
                                      [--items 400] [--n-boot 300] [--work DIR]

For each seed and each ``--local`` share (people registered in another province who type the
address where they live here: ``outsider_local_address``), a synthetic province is generated,
ingested, standardised and linked once, then estimated for October 2021 twice: as it stands
(the upper end of recorded coverage counts every unlinked local person as a possible missed
resident), and after a clerical review of ``--items`` items drawn by ``vaxstudy review
sample``'s code and answered by an oracle reviewer (the synthetic truth), scored and recorded
for the run as ``review score`` does; its missed-link estimate caps that count
(estimate/missed.py). Printed per breakdown (province, district, sex, age group) and local
share, for recorded and corrected coverage: cells, truth inside the 95% interval, mean width
and the mean distance from the truth to the upper end, without and with the review.

The default generator (local share 0) makes no row that looks like a missed resident but is
not: there the bound is close to the truth. With a local share the bound counts outsiders too,
the case a real province has and only a review can narrow.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench_nowcast import _strip, cells  # benchmarks/bench_nowcast.py
from machine import describe  # benchmarks/machine.py

GEN_PERIOD = ("2021-03-08", "2021-10-31")
PERIOD = ("2021-10-01", "2021-10-31")
FIGURES = ("coverage_dose1_recorded", "coverage_dose2_recorded", "coverage_dose1", "coverage_dose2")


def prepare(base: Path, scale: float, seed: int, local: float) -> tuple[Path, Path]:
    """(data folder, working database), built once."""
    data, db = base / "data", base / "work.duckdb"
    if (base / "prepared").exists():
        return data, db
    from vaxstudy.options import LinkOptions
    from vaxstudy.study import Study
    from vaxstudy.synth import generate

    t = time.perf_counter()
    generate(data, province="40", scale=scale, seed=seed, fmt="parquet", period=GEN_PERIOD,
             outsider_local_address=local)
    db.unlink(missing_ok=True)
    with Study(db) as study:
        study.prepare(data, LinkOptions(seed=seed))
    (base / "prepared").write_text("")
    print(f"prepared {base.name} in {time.perf_counter() - t:.0f} s", flush=True)
    return data, db


def review(db: Path, items: int, seed: int) -> dict:
    """An oracle review of the run, scored and recorded for it as ``review score`` does."""
    import pandas as pd

    from vaxstudy.layout import run_name
    from vaxstudy.review.frame import Scope
    from vaxstudy.review.oracle import oracle_decisions
    from vaxstudy.review.sample import build_sample, design_dict
    from vaxstudy.review.score import estimate
    from vaxstudy.review.summaries import save_summary

    s = build_sample(db, items, seed, Scope("40", *PERIOD))
    design = design_dict(s, fingerprint="bench", threshold=0.0, seed=seed, n=items, run_name="bench")
    it = s["items"]
    valid = pd.DataFrame({"review_id": it["review_id"], "kind": it["kind"], "record_id": it["record_id"],
                          "candidate_id": it["candidate_id"], "stratum": it["stratum"],
                          "decision": oracle_decisions(db, it).to_numpy()})
    summary = {**estimate(design, valid), "n_reviewed": len(valid), "n_unsure": 0}
    save_summary(db, summary, run_name("40", *PERIOD), db.parent / "review_summary.json")
    return summary


def run_seed(work: Path, scale: float, seed: int, local: float, items: int, n_boot: int) -> dict:
    from vaxstudy.estimate import estimate_db
    from vaxstudy.synth import truth_summary

    cache = work / f"s{scale}_seed{seed}_local{local:g}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    base = work / cache.stem
    data, db = prepare(base, scale, seed, local)
    truth = truth_summary(data, "40", *PERIOD)
    res = {"seed": seed, "local": local}
    m0 = estimate_db(db, "40", *PERIOD, base / "out_plain", seed=seed, n_boot=n_boot, audit=False)
    summary = review(db, items, seed)
    m1 = estimate_db(db, "40", *PERIOD, base / "out_review", seed=seed, n_boot=n_boot, audit=False)
    res["missed_links"] = {"possible_persons_dose1": m0["method"]["missed_links"]["possible_persons_dose1"],
                           "review_cap": m1["method"]["missed_links"]["review_cap"],
                           "review_est": summary.get("missed_links_est")}
    res["runs"] = {"plain": {"metrics": _strip(m0), "truth": truth}, "review": {"metrics": _strip(m1), "truth": truth}}
    cache.write_text(json.dumps(res))
    return res


def table(results: list[dict]) -> str:
    agg: dict = defaultdict(lambda: [0, 0, 0.0, 0.0])  # cells, inside, width, upper end − truth
    for res in results:
        for kind, run in res["runs"].items():
            for fam, _, r, _, (lo, hi), tv in cells(run):
                if r not in FIGURES:
                    continue
                a = agg[(res["local"], fam, r, kind)]
                a[0] += 1
                a[1] += lo <= tv <= hi
                a[2] += hi - lo
                a[3] += hi - tv
    lines = ["| local share | breakdown | figure | cells | holds: no review / review | mean width pp | "
             "upper end − truth pp |", "|---|---|---|---:|---|---|---|"]
    for (local, fam, r) in sorted({k[:3] for k in agg}):
        p, q = agg[(local, fam, r, "plain")], agg[(local, fam, r, "review")]
        lines.append(f"| {local:g} | {fam} | {r} | {p[0]} | {p[1] / p[0]:.3f} / {q[1] / q[0]:.3f} | "
                     f"{100 * p[2] / p[0]:.2f} / {100 * q[2] / q[0]:.2f} | {100 * p[3] / p[0]:.2f} / {100 * q[3] / q[0]:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--first-seed", type=int, default=32000)
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--local", type=float, nargs="+", default=[0.0, 0.5])
    ap.add_argument("--items", type=int, default=400)
    ap.add_argument("--n-boot", type=int, default=300)
    ap.add_argument("--work", type=Path, default=Path("/tmp/vaxstudy_review_bound"))
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    print(describe("duckdb", "numpy", "splink"), flush=True)
    results = []
    for local in a.local:
        for seed in range(a.first_seed, a.first_seed + a.n):
            t0 = time.perf_counter()
            res = run_seed(a.work, a.scale, seed, local, a.items, a.n_boot)
            results.append(res)
            print(f"seed {seed} local {local:g} ({time.perf_counter() - t0:.0f} s): {res['missed_links']}", flush=True)
    print(f"\n{len(results)} provinces, scale {a.scale}, October 2021, review of {a.items} items (oracle), "
          f"n_boot {a.n_boot}\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
