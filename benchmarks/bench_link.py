"""Linkage benchmark: time, comparisons, peak memory and accuracy by scale.

    python benchmarks/bench_link.py [--scales 0.01 0.1 0.3 1.0] [--seed 1]
                                    [--work DIR] [--blocking] [--reuse-model]
                                    [--error KIND=RATE ...] [--reference SRC] [--estimate]

For each scale a synthetic Nghệ An (province 40) is generated, ingested and
standardised once into ``--work`` (kept for reruns; not timed). The linkage
then runs in a fresh child process, so its peak resident memory (ru_maxrss) is
its own. Printed per scale: register persons, registry rows, distinct
identities, comparisons scored (register link and unlinked dedupe), seconds
for each step and for link + dedupe, peak memory, and the accuracy against the
synthetic truth. ``--blocking`` adds the per-rule blocking table (share of true
pairs, cumulative reach, comparisons). ``--reuse-model`` also times a second
run with the saved model (no training). ``--error KIND=RATE`` (repeatable) generates
the province with that error rate (``vaxstudy synth --error``). ``--reference SRC`` also
links the same province with the code under ``SRC`` (a source tree, e.g. an older commit
from ``git archive``) in the same way, so the two timings share the machine's load.
``--estimate`` runs the estimate stage after each link and prints unlinked_record_rate
and duplicate_subject_rate against the truth and their intervals. The calibration of the
links' match probabilities (wrong links observed against expected, by band) is always printed. The accuracy and blocking reach are always evaluated
by the current code (vaxstudy.evaluate, in this process).

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


def prepare_data(scale: float, seed: int, work: Path, errors: dict | None = None) -> Path:
    tag = "".join(f"_{k}{v:g}" for k, v in sorted((errors or {}).items()))
    base = work / f"scale{scale:g}_seed{seed}{tag}"
    db = base / "db.duckdb"
    if db.exists():
        return base
    from vaxstudy.ingest import ingest
    from vaxstudy.standardize import standardize_db
    from vaxstudy.synth import generate

    base.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    generate(base / "data", province="40", scale=scale, seed=seed, fmt="parquet", **(errors or {}))
    ingest(base / "data", db)
    standardize_db(db)
    print(f"  [data scale {scale:g} seed {seed} prepared in {time.perf_counter() - t:.0f} s]",
          flush=True)
    return base


def child(base: Path, out: Path, model: str | None, seed: int) -> None:
    import resource

    from vaxstudy.link import link_db
    from vaxstudy.options import LinkOptions

    t = time.perf_counter()
    res = link_db(base / "db.duckdb", out, LinkOptions(model_path=model, seed=seed, diagnostics=True))
    wall = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB on Linux
    print(json.dumps({"res": res.as_dict(), "wall": wall, "peak_mb": rss}))


def run_child(base: Path, out: Path, model: str | None, seed: int, src: Path | None = None,
              estimate: bool = False) -> dict:
    import os

    env = dict(os.environ)
    if src is not None:  # the reference code, ahead of the installed package
        env["PYTHONPATH"] = str(Path(src).resolve() / "src")
    cmd = [sys.executable, __file__, "--child", str(base), "--child-out", str(out), "--seed", str(seed)]
    if model:
        cmd += ["--child-model", model]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-3000:])
    r = json.loads(p.stdout.strip().splitlines()[-1])
    from vaxstudy.evaluate import evaluate

    # the reach is of the current code's rules, so it is not computed for a reference tree
    r["eval"] = evaluate(out, base / "data", db_path=base / "db.duckdb", reach=src is None)
    if estimate:
        from vaxstudy.estimate import estimate_db

        truth = json.loads((base / "data" / "truth_summary.json").read_text())
        m = estimate_db(base / "db.duckdb", "40", truth["period_start"], truth["period_end"], out,
                        seed=1, n_boot=200, audit=False)
        r["estimate"] = {k: {"estimate": m[k], "ci": m[f"{k}_ci"], "truth": truth[k]}
                         for k in ("unlinked_record_rate", "duplicate_subject_rate")}
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.01, 0.1, 0.3, 1.0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=ROOT / "data" / "processed" / "bench_link")
    ap.add_argument("--blocking", action="store_true")
    ap.add_argument("--reuse-model", action="store_true")
    ap.add_argument("--error", action="append", default=[], metavar="KIND=RATE")
    ap.add_argument("--reference", type=Path, help="source tree of the code to compare with")
    ap.add_argument("--estimate", action="store_true")
    ap.add_argument("--child", type=Path)
    ap.add_argument("--child-out", type=Path)
    ap.add_argument("--child-model")
    a = ap.parse_args()
    if a.child:
        child(a.child, a.child_out, a.child_model, a.seed)
        return

    import os

    if a.reference and not (a.reference / "src" / "vaxstudy" / "__init__.py").is_file():
        # pointed at the src folder itself, the child would silently import the installed code
        ap.error(f"--reference {a.reference}: expected a source tree holding src/vaxstudy "
                 "(e.g. git archive OLD src | tar -x -C DIR, then --reference DIR)")
    print("machine:", machine(), "| load average at start:", os.getloadavg())
    errors = {k: float(v) for k, _, v in (e.partition("=") for e in a.error)}
    rows = []
    for scale in a.scales:
        base = prepare_data(scale, a.seed, a.work, errors)
        if a.reference:
            r0 = run_child(base, base / "out_reference", None, a.seed, a.reference, a.estimate)
            rows.append((scale, "reference", r0))
        r = run_child(base, base / "out", None, a.seed, estimate=a.estimate)
        rows.append((scale, "trained", r))
        if a.reuse_model:
            r2 = run_child(base, base / "out_reuse", r["res"]["model_path"], a.seed)
            rows.append((scale, "--model", r2))
        if a.blocking:
            from vaxstudy.link.blocking import blocking_report

            b = blocking_report(base / "db.duckdb", base / "data")
            print(f"\nblocking, scale {scale:g}: {b['n_true_pairs']:,} true (identity, person) pairs; "
                  f"union of rules scores {b['union_comparisons']:,} pairs, reach {b['union_reach']:.5%}")
            print(f"| rule | comparisons | marginal | largest block | true share | cumulative | only |\n"
                  "|---|---:|---:|---:|---:|---:|---:|")
            for x in b["rules"]:
                print(f"| {x['rule']} | {x['comparisons']:,} | {x['marginal']:,} | {x['largest_block']:,} | "
                      f"{x['true_pairs_share']:.4f} | {x['cumulative_reach']:.5f} | "
                      f"{x['true_pairs_only_this_rule']:.5f} |")
            print(f"both passes reach {b['reach']['reached']:.5f}; wide rules:")
            for x in b["reach"]["rules"]:
                if x["pass"] == "wide":
                    print(f"  {x['rule']:34s} share {x['share']:.4f} only {x['only_this_rule']:.5f}")

    print("\nscale  model    register    rows  identities  compared  dedupe_cmp  prepare  train  "
          "predict  dedupe  link+dedupe_s  peak_MB  precision  recall  dup_F1  persons_err  reach")
    for scale, kind, r in rows:
        res, ev, tm = r["res"], r["eval"], r["res"]["timings"]
        c = res["comparisons"]
        print(f"{scale:<6g} {kind:8s} {res['n_register']:>9,} {res['n_records']:>8,} "
              f"{res['n_identities']:>10,} {c['register_link_scored']:>9,} {c['dedupe_scored']:>10,} "
              f"{tm.get('prepare', 0):>7.1f} {tm.get('train', 0):>6.1f} {tm.get('predict', 0):>8.1f} "
              f"{tm.get('dedupe', 0):>7.1f} {tm['total_link_dedupe']:>13.1f} {r['peak_mb']:>8.0f} "
              f"{ev['link_precision']:>10.5f} {ev['link_recall']:>7.5f} {ev['dup_f1']:>7.5f} "
              f"{ev['n_persons_rel_error']:>+12.5%} {(ev.get('blocking_reach') or {}).get('reached', 0):>7.5f}")
    print("load average at end:", os.getloadavg())
    for scale, kind, r in rows:
        br = r["eval"].get("blocking_reach") or {}
        wide = json.loads(Path(r["res"]["summary_path"]).read_text()).get("wide_pass", {})
        print(f"\nscale {scale:g} {kind}: reach first pass {br.get('reached_first_pass')}, both {br.get('reached')}"
              f" ({br.get('n_unreached')} of {br.get('n_true_pairs')} true pairs unreached); wide pass "
              f"scored {wide.get('n_pairs_blocked')} pairs for {wide.get('n_identities')} identities")
        for k, e in r.get("estimate", {}).items():
            print(f"  {k} {e['estimate']:.6f} (CI {e['ci'][0]:.6f}-{e['ci'][1]:.6f}) vs true "
                  f"{e['truth']:.6f}: {e['estimate'] / e['truth'] - 1:+.2%} relative, "
                  f"{'inside' if e['ci'][0] <= e['truth'] <= e['ci'][1] else 'OUTSIDE'} the interval")
        print("  calibration of the links (band: links, wrong observed / expected sum 1-p):",
              "; ".join(f"{c['band']}: {c['n_links']:,}, {c['wrong']} / {c['expected_wrong']:.1f}"
                        for c in r["eval"].get("calibration", [])))
        cc = r["eval"].get("candidate_calibration")
        if cc:  # the estimate redraws these rows with their best candidate's probability
            print(f"  unlinked rows with a best candidate: {cc['n_rows']:,}, the true person for "
                  f"{cc['n_best_is_true']:,} where their probabilities sum to {cc['expected_best_is_true']:.1f}")
        for p in br.get("unreached_patterns", [])[:8]:
            print("   ", p["n"], " ".join(f"{k}:{v}" for k, v in p["fields"].items() if v != "same"))


if __name__ == "__main__":
    main()
