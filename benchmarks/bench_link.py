"""Linkage benchmark: time, comparisons, peak memory and accuracy by scale.

    python benchmarks/bench_link.py [--scales 0.01 0.1 0.3 1.0] [--seed 1]
                                    [--work DIR] [--blocking] [--reuse-model]

For each scale a synthetic Nghệ An (province 40) is generated, ingested and
standardised once into ``--work`` (kept for reruns; not timed). The linkage
then runs in a fresh child process, so its peak resident memory (ru_maxrss) is
its own. Printed per scale: register persons, registry rows, distinct
identities, comparisons scored (register link and unlinked dedupe), seconds
for each step and for link + dedupe, peak memory, and the accuracy against the
synthetic truth. ``--blocking`` adds the per-rule blocking table (share of true
pairs, cumulative reach, comparisons). ``--reuse-model`` also times a second
run with the saved model (no training).

Accuracy figures from seeds used to tune the method (1-3) are not validation;
docs/linkage.md reports a held-out seed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from machine import describe  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    return describe("duckdb", "splink")


def prepare_data(scale: float, seed: int, work: Path) -> Path:
    base = work / f"scale{scale:g}_seed{seed}"
    db = base / "db.duckdb"
    if db.exists():
        return base
    from vaxstudy.ingest import ingest
    from vaxstudy.standardize import standardize_db
    from vaxstudy.synth import generate

    base.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    generate(base / "data", province="40", scale=scale, seed=seed)
    ingest(base / "data", db)
    standardize_db(db)
    print(f"  [data scale {scale:g} seed {seed} prepared in {time.perf_counter() - t:.0f} s]",
          flush=True)
    return base


def child(base: Path, out: Path, model: str | None, seed: int) -> None:
    import resource

    from vaxstudy.evaluate import evaluate
    from vaxstudy.link import link_db

    t = time.perf_counter()
    res = link_db(base / "db.duckdb", out, model_path=model, seed=seed, diagnostics=True)
    wall = time.perf_counter() - t
    ev = evaluate(out, base / "data", db_path=base / "db.duckdb")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB on Linux
    print(json.dumps({"res": res.as_dict(), "wall": wall, "peak_mb": rss, "eval": ev}))


def run_child(base: Path, out: Path, model: str | None, seed: int) -> dict:
    cmd = [sys.executable, __file__, "--child", str(base), "--child-out", str(out), "--seed", str(seed)]
    if model:
        cmd += ["--child-model", model]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.01, 0.1, 0.3, 1.0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=ROOT / "data" / "processed" / "bench_link")
    ap.add_argument("--blocking", action="store_true")
    ap.add_argument("--reuse-model", action="store_true")
    ap.add_argument("--child", type=Path)
    ap.add_argument("--child-out", type=Path)
    ap.add_argument("--child-model")
    a = ap.parse_args()
    if a.child:
        child(a.child, a.child_out, a.child_model, a.seed)
        return

    print("machine:", machine())
    rows = []
    for scale in a.scales:
        base = prepare_data(scale, a.seed, a.work)
        r = run_child(base, base / "out", None, a.seed)
        rows.append((scale, "trained", r))
        if a.reuse_model:
            r2 = run_child(base, base / "out_reuse", r["res"]["model_path"], a.seed)
            rows.append((scale, "--model", r2))
        if a.blocking:
            from vaxstudy.link.blocking import blocking_report

            b = blocking_report(base / "db.duckdb", base / "data")
            print(f"\nblocking, scale {scale:g}: {b['n_true_pairs']:,} true (identity, person) pairs; "
                  f"union of rules scores {b['union_comparisons']:,} pairs, reach {b['union_reach']:.5%}")
            print(f"  {'rule':28s} {'comparisons':>12s} {'true share':>10s} {'cumul.':>9s} {'only':>8s}")
            for x in b["rules"]:
                print(f"  {x['rule']:28s} {x['comparisons']:>12,} {x['true_pairs_share']:>10.4f} "
                      f"{x['cumulative_reach']:>9.5f} {x['true_pairs_only_this_rule']:>8.5f}")

    print("\nscale  model    register    rows  identities  compared  dedupe_cmp  prepare  train  "
          "predict  dedupe  link+dedupe_s  peak_MB  precision  recall  dup_F1  persons_err")
    for scale, kind, r in rows:
        res, ev, tm = r["res"], r["eval"], r["res"]["timings"]
        c = res["comparisons"]
        print(f"{scale:<6g} {kind:8s} {res['n_register']:>9,} {res['n_records']:>8,} "
              f"{res['n_identities']:>10,} {c['register_link_scored']:>9,} {c['dedupe_scored']:>10,} "
              f"{tm.get('prepare', 0):>7.1f} {tm.get('train', 0):>6.1f} {tm.get('predict', 0):>8.1f} "
              f"{tm.get('dedupe', 0):>7.1f} {tm['total_link_dedupe']:>13.1f} {r['peak_mb']:>8.0f} "
              f"{ev['link_precision']:>10.5f} {ev['link_recall']:>7.5f} {ev['dup_f1']:>7.5f} "
              f"{ev['n_persons_rel_error']:>+12.5%}")


if __name__ == "__main__":
    main()
