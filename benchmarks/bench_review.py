"""Review-loop benchmark: do the review's 95% intervals hold the true precision and recall?

    python benchmarks/bench_review.py [--scale 0.1] [--seed 5] [--n 400] [--draws 20]
                                      [--error-rate 0.05] [--work DIR] [--hard]

A synthetic Nghệ An at ``--scale`` is generated, ingested, standardised and linked once into
``--work`` (kept for reruns; not timed). Then, for each of ``--draws`` sampling seeds, a review
sample of ``--n`` items is drawn (``vaxstudy review sample``'s code: strata, allocation, loose
candidate search) and answered by an oracle reviewer (the synthetic truth), and again by a
reviewer who gives the wrong answer on ``--error-rate`` of the items, and by an oracle that never
answers ``other`` (someone else in the register: the first version's reviewer); each is scored
(``vaxstudy review score``'s estimator). Printed: the true figures, how many of the intervals
hold them, the median interval widths, and the seconds per draw. ``--hard`` generates the
province with raised error rates (household IDs and phones, permuted names, birth years off by
one, neighbouring communes, sex mistyped) so the link makes mistakes for the review to find.

No decision is written to the database (each draw is an independent review).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from machine import describe  # benchmarks/machine.py

HARD = {"id_household": 0.06, "phone_household": 0.06, "name_permute": 0.04, "dob_year_off1": 0.05,
        "commune_neighbour": 0.05, "sex_wrong": 0.02}
FIGURES = ("link_precision", "link_recall", "dup_subject_precision", "dup_dose_precision")


def REVIEWERS(error_rate: float):  # noqa: N802
    """(label, error rate, answers 'other'): the oracle, the oracle that never says 'someone else
    in the register' (the reviewer of the first version: only the candidates shown), and the
    reviewer who errs."""
    return (("oracle", 0.0, True), ("oracle_candidates_only", 0.0, False), ("erring", error_rate, True))
PERIOD = ("2021-03-08", "2021-10-31")  # the generator's default period: the duplicates reviewed are its


def scope():
    from vaxstudy.review.frame import Scope

    return Scope("40", *PERIOD)


def prepare(scale: float, seed: int, work: Path, hard: bool) -> Path:
    """The province's working database (built once)."""
    base = work / f"review_scale{scale:g}_seed{seed}{'_hard' if hard else ''}"
    db = base / ".work" / "40.duckdb"
    if db.exists():
        return db
    from vaxstudy.options import LinkOptions
    from vaxstudy.study import Study
    from vaxstudy.synth import generate

    t = time.perf_counter()
    data = generate(base / "data", province="40", scale=scale, seed=seed, fmt="parquet", period=PERIOD,
                    **(HARD if hard else {}))
    with Study(db) as study:
        study.prepare(data, LinkOptions(seed=seed))
    print(f"prepared {base} in {time.perf_counter() - t:.0f} s", flush=True)
    return db


def one_draw(db: Path, n: int, seed: int, error_rate: float, population=None) -> dict:
    import pandas as pd

    from vaxstudy.review.oracle import oracle_decisions
    from vaxstudy.review.sample import build_sample, design_dict
    from vaxstudy.review.score import estimate

    t = time.perf_counter()
    s = build_sample(db, n, seed, scope(), population)
    design = design_dict(s, fingerprint="bench", threshold=0.0, seed=seed, n=n, run_name="bench")
    items = s["items"]
    out = {"seconds": 0.0}
    for label, err, other in REVIEWERS(error_rate):
        dec = oracle_decisions(db, items, error_rate=err, seed=seed + 1000)
        if not other:  # a reviewer who only judges the candidates shown
            dec = dec.replace("other", "different")
        valid = pd.DataFrame({"review_id": items["review_id"], "kind": items["kind"],
                              "record_id": items["record_id"], "candidate_id": items["candidate_id"],
                              "stratum": items["stratum"], "decision": dec.to_numpy()})
        out[label] = estimate(design, valid)
    out["seconds"] = time.perf_counter() - t
    out["n_items"] = len(items)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=5, help="seed of the synthetic province")
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--draws", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1, help="sampling seeds first-seed .. first-seed + draws - 1")
    ap.add_argument("--error-rate", type=float, default=0.05)
    ap.add_argument("--hard", action="store_true")
    ap.add_argument("--work", type=Path, default=Path("data/synthetic/bench"))
    a = ap.parse_args()
    from vaxstudy.review.oracle import true_accuracy

    print(describe("duckdb", "numpy", "openpyxl"), f"| load {os.getloadavg()[0]:.1f}", flush=True)
    db = prepare(a.scale, a.seed, a.work, a.hard)
    truth = true_accuracy(db, scope())
    print("true:", {k: round(float(truth[k]), 6) for k in FIGURES}, flush=True)
    import duckdb

    from vaxstudy.review.frame import populations

    con = duckdb.connect(str(db), read_only=True)
    try:
        pop = populations(con, scope())  # the frame is the same for every draw (no decision is kept)
    finally:
        con.close()
    runs = [one_draw(db, a.n, s, a.error_rate, pop) for s in range(a.first_seed, a.first_seed + a.draws)]
    rows = {}
    for label, _, _ in REVIEWERS(a.error_rate):
        print(f"\n{label} reviewer" + (f" (wrong on {a.error_rate:.0%} of items)" if label == "erring" else ""))
        print(f"{'figure':24} {'true':>9} {'held':>6} {'median est':>11} {'median width':>13} {'worst miss':>11}")
        for k in FIGURES:
            est = np.array([r[label][f"{k}_est"] for r in runs], dtype=float)
            ci = np.array([r[label][f"{k}_est_ci"] for r in runs], dtype=float)
            tv = float(truth[k])
            held = int(((ci[:, 0] <= tv) & (tv <= ci[:, 1])).sum())
            miss = np.maximum(ci[:, 0] - tv, tv - ci[:, 1]).max()
            rows[f"{label}:{k}"] = {"true": tv, "held": held, "of": len(runs),
                                    "median_est": float(np.median(est)),
                                    "median_width": float(np.median(ci[:, 1] - ci[:, 0])),
                                    "worst_miss": float(max(miss, 0.0))}
            r = rows[f"{label}:{k}"]
            print(f"{k:24} {tv:9.6f} {held:3d}/{len(runs):<2d} {r['median_est']:11.6f} "
                  f"{r['median_width'] * 100:11.3f}pp {r['worst_miss'] * 100:9.3f}pp")
    secs = [r["seconds"] for r in runs]
    print(f"\nper draw (sample + 3 scorings): median {np.median(secs):.2f} s; items {runs[0]['n_items']}; "
          f"load now {os.getloadavg()[0]:.1f}")
    (a.work / f"bench_review_{a.scale:g}_{a.seed}{'_hard' if a.hard else ''}_s{a.first_seed}.json").write_text(
        json.dumps({"truth": {k: float(truth[k]) for k in FIGURES}, "rows": rows, "args": vars(a)},
                   indent=2, default=str))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
