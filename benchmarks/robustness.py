"""Robustness of the linkage: each noise parameter doubled, one at a time.

    python benchmarks/robustness.py [--scale 0.03] [--seed 2] [--work DIR] [--only NAME ...]

For the baseline (default noise) and for each linkage-relevant noise parameter
of vaxstudy.synth.SynthParams doubled (capped at 1), plus two harsher
scenarios named in issue 4 (no diacritics at all; ID numbers empty in 60% of
rows), a synthetic province is generated, ingested, standardised and linked
(the model is trained afresh on each), then evaluated against its truth.
Prints a Markdown table (link precision / recall / F1, duplicate-dose F1,
persons error) and writes robustness.json into --work.

The seed defaults to 2, one of the seeds used while developing the method,
so these figures show sensitivity, not held-out accuracy.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LINKAGE_NOISE = (
    "name_no_diacritics", "name_nfd", "name_tone_style", "name_typo", "name_swap", "name_upper",
    "dob_year_only", "dob_day_month_swap", "dob_iso",
    "id_empty", "id_cmnd", "id_typo",
    "phone_empty", "phone_old11", "phone_plus84", "phone_typo",
    "commune_empty", "commune_wrong", "address_empty", "sex_empty",
    "new_subject_rate", "dup_dose_rate", "dup_dose_new_subject",
)


def scenarios() -> list[tuple[str, dict]]:
    from vaxstudy.synth.params import SynthParams

    base = SynthParams()
    out = [("baseline", {})]
    for name in LINKAGE_NOISE:
        v = getattr(base, name)
        out.append((f"{name} x2 ({v:g} -> {min(1.0, 2 * v):g})", {name: min(1.0, 2 * v)}))
    out.append(("outsider_share x2", {"__outsider_x2": True}))
    out.append(("no diacritics at all (name_no_diacritics = 1)", {"name_no_diacritics": 1.0}))
    out.append(("ID empty in 60% of rows (id_empty = 0.6)", {"id_empty": 0.6}))
    return out


def run_one(label: str, noise: dict, scale: float, seed: int, work: Path) -> dict:
    """In a child process: generate -> ingest -> standardize -> link -> evaluate."""
    code = f"""
import json, time, sys
from pathlib import Path
from vaxstudy.synth import generate
from vaxstudy.synth import CAMPAIGN_PARAMS
from vaxstudy.ingest import ingest
from vaxstudy.standardize import standardize_db
from vaxstudy.link import link_db
from vaxstudy.evaluate import evaluate
noise = json.loads({json.dumps(json.dumps(noise))})
kw = {{}}
if noise.pop("__outsider_x2", False):
    kw["outsider_share"] = 2 * CAMPAIGN_PARAMS["outsider_share"]
base = Path({str(work)!r})
base.mkdir(parents=True, exist_ok=True)
import shutil
shutil.rmtree(base / "data", ignore_errors=True)
(base / "db.duckdb").unlink(missing_ok=True)
generate(base / "data", province="40", scale={scale}, seed={seed}, **kw, **noise)
ingest(base / "data", base / "db.duckdb")
standardize_db(base / "db.duckdb")
t = time.perf_counter()
res = link_db(base / "db.duckdb", base / "out", seed={seed}, diagnostics=False)
ev = evaluate(base / "out", base / "data", db_path=base / "db.duckdb")
ev["link_seconds"] = time.perf_counter() - t
ev["threshold"] = res.threshold
print(json.dumps(ev))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        return {"error": p.stderr[-500:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "–"
    return f"{v:+.3%}" if pct else f"{v:.5f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.03)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--work", type=Path, default=ROOT / "data" / "processed" / "robustness")
    ap.add_argument("--only", nargs="*", help="run only scenarios whose label contains one of these")
    a = ap.parse_args()
    results = []
    header = ("| scenario | link precision | link recall | link F1 | dup-dose F1 | persons error |\n"
              "|---|---|---|---|---|---|")
    print(f"scale {a.scale:g}, seed {a.seed}\n\n{header}", flush=True)
    for label, noise in scenarios():
        if a.only and not any(o in label for o in a.only):
            continue
        t = time.perf_counter()
        ev = run_one(label, dict(noise), a.scale, a.seed, a.work / "run")
        ev["scenario"] = label
        ev["wall_seconds"] = time.perf_counter() - t
        results.append(ev)
        if "error" in ev:
            print(f"| {label} | error: {ev['error'][-120:]!r} |||||", flush=True)
            continue
        print(f"| {label} | {fmt(ev['link_precision'])} | {fmt(ev['link_recall'])} | "
              f"{fmt(ev['link_f1'])} | {fmt(ev['dup_f1'])} | {fmt(ev['n_persons_rel_error'], True)} |",
              flush=True)
    a.work.mkdir(parents=True, exist_ok=True)
    (a.work / "robustness.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
