"""DuckDB vs Spark (local mode) on the synthetic Nghệ An at two scales: standardise + link.

For each scale the province is generated and ingested once; then each backend runs, in a
fresh subprocess, standardise and link (trained here, diagnostics off) on its own copy of
the database. Printed per run: seconds per stage, peak memory (RSS of the Python driver
and, for Spark, of the JVM and Python workers: the process tree sampled every 0.2 s),
links and persons found, and whether both backends produced the same record_links. Also
printed: the comparisons each prediction blocking rule generates at each scale (the input
of the national arithmetic in docs/spark.md).

Usage: python benchmarks/bench_backends.py [--scales 0.01 0.05] [--master local[2]] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from machine import describe  # benchmarks/machine.py

CHILD = r"""
import json, os, sys, threading, time
import psutil

backend_name, db, out, master = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
me = psutil.Process()
peak = {"driver": 0, "tree": 0}
stop = threading.Event()

def sample():
    while not stop.is_set():
        try:
            procs = [me] + me.children(recursive=True)
            rss = 0
            for p in procs:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            peak["tree"] = max(peak["tree"], rss)
            peak["driver"] = max(peak["driver"], me.memory_info().rss)
        except psutil.Error:
            pass
        stop.wait(0.2)

th = threading.Thread(target=sample, daemon=True)
th.start()
t = {}
t0 = time.perf_counter()
from vaxstudy.engines import get_engine
from vaxstudy.link import link_db
from vaxstudy.options import LinkOptions

kw = {"spark_master": master, "shuffle_partitions": 4, "driver_memory": "2g"} if backend_name == "spark" else {}
be = get_engine(backend_name, **kw)
if backend_name == "spark":
    be.session
t["session"] = time.perf_counter() - t0
t1 = time.perf_counter()
be.standardize(db)
t["standardize"] = time.perf_counter() - t1
t1 = time.perf_counter()
res = link_db(db, out, LinkOptions(seed=1, diagnostics=False), backend=be)
t["link"] = time.perf_counter() - t1
be.close()
t["total"] = time.perf_counter() - t0
stop.set(); th.join()
print(json.dumps({"seconds": t, "link_timings": res.timings, "peak_driver_mib": peak["driver"] / 2**20,
                  "peak_tree_mib": peak["tree"] / 2**20, "n_records": res.n_records,
                  "n_register": res.n_register, "n_linked": res.n_linked_records,
                  "n_persons_est": res.n_persons_est, "n_duplicate_doses": res.n_duplicate_doses,
                  "threshold": res.threshold}))
"""


THROUGHPUT_CHILD = r"""
import json, sys, time
from vaxstudy.engines import get_engine
from vaxstudy.link.prepare import open_work_connection, prepare_inputs
from splink import Linker

backend_name, db, model_path, master, rule = sys.argv[1:6]
kw = {"spark_master": master, "shuffle_partitions": 4, "driver_memory": "2g"} if backend_name == "spark" else {}
be = get_engine(backend_name, **kw)
con = open_work_connection(db, read_only=True)
prepare_inputs(con)
n_cmp = con.execute(f"SELECT count(*) FROM link_reg l JOIN link_vax r ON {rule}").fetchall()[0][0]
model = json.loads(open(model_path).read())
model["blocking_rules_to_generate_predictions"] = [rule]
model.pop("linker_uid", None)
api = be.splink_api(con, ("link_reg", "link_vax"))
reg = api.register("link_reg", dataset_display_name="register")
vax = api.register("link_vax", dataset_display_name="vaccinations")
linker = Linker([reg, vax], be.splink_settings(model), log_level=None)
t = time.perf_counter()
pred = linker.inference.predict(threshold_match_probability=0.5, warning_mode="never")
n_kept = be.tables.count_rows(con, pred)
dt = time.perf_counter() - t
be.close()
print(json.dumps({"comparisons": n_cmp, "seconds": dt, "kept": n_kept}))
"""
LOOSE_RULE = 'l."birth_year" = r."birth_year"'


def machine() -> str:
    return describe("duckdb", "splink", "pyspark", java=True)


def same_links(a: Path, b: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    q = "SELECT * FROM read_parquet('{}')"
    pa, pb = q.format(a.as_posix()), q.format(b.as_posix())
    n = con.execute(f"SELECT count(*) FROM ({pa})").fetchone()[0]
    same_person = con.execute(
        f"SELECT count(*) FROM ({pa}) x JOIN ({pb}) y USING (record_id) "
        "WHERE x.person_id IS NOT DISTINCT FROM y.person_id").fetchone()[0]
    same_flag = con.execute(
        f"SELECT count(*) FROM ({pa}) x JOIN ({pb}) y USING (record_id) "
        "WHERE x.is_duplicate_dose = y.is_duplicate_dose").fetchone()[0]
    dp = con.execute(
        f"SELECT max(abs(x.match_probability - y.match_probability)) FROM ({pa}) x JOIN ({pb}) y "
        "USING (record_id) WHERE x.person_id = y.person_id").fetchone()[0]
    return {"n": n, "same_person_id": same_person, "same_duplicate_flag": same_flag, "max_abs_dprob": dp}


def rule_scope(sql: str) -> str | None:
    """The geographic unit a blocking rule's key includes (comparisons happen only inside
    one), or None for a national key. Read from the rule itself, so it follows
    vaxstudy.link.settings as the rules are tuned."""
    if "commune_code" in sql:
        return "commune"
    if "district_code" in sql:
        return "district"
    return None


NATIONAL = {"residents": 100e6, "records": 200e6}


def national_arithmetic(results: list[dict], province: str = "40") -> list[dict]:
    """Comparisons per blocking rule at national scale, from the counts at two scales.

    Per rule, C = a * N_V + b * N_R * N_V (N_R register persons, N_V registry identities):
    ``a`` the pairs that grow with the records (the person's own register row, relatives
    sharing a phone), ``b`` the chance that two unrelated people share the key inside one
    geographic unit of the rule. Two scales of the same province give a and b. Nationally a
    rule keyed on a district (commune) compares people inside one of 705 districts (10,599
    communes) rather than one of the province's 21 (460): b shrinks by that ratio. National
    identities: N_V scaled from the province's records-per-identity ratio.
    """
    from vaxstudy import geo

    units = {"district": (len(geo.districts()), int((geo.districts()["province_code"] == province).sum())),
             "commune": (len(geo.communes()), int((geo.communes()["province_code"] == province).sum()))}
    (r1, r2) = sorted(results, key=lambda r: r["scale"])[:1] + sorted(results, key=lambda r: r["scale"])[-1:]
    out = []
    ident_per_record = r2["blocking"]["n_identities"] / max(r2["blocking"]["n_rows"], 1)
    nv_nat = NATIONAL["records"] * ident_per_record
    for row1, row2 in zip(r1["blocking"]["rules"], r2["blocking"]["rules"]):
        name = row1["rule"]
        nr1, nv1 = r1["blocking"]["n_register"], r1["blocking"]["n_identities"]
        nr2, nv2 = r2["blocking"]["n_register"], r2["blocking"]["n_identities"]
        c1, c2 = row1["comparisons"], row2["comparisons"]
        # solve c = a*nv + b*nr*nv at both scales
        det = nv1 * nr2 * nv2 - nv2 * nr1 * nv1
        b = (nv1 * c2 - nv2 * c1) / det if det else 0.0
        a = (c1 - b * nr1 * nv1) / nv1
        # The quadratic part is only trusted when the comparisons per identity grew between
        # the scales by more than twice their Poisson noise; otherwise the rule is linear
        # (a tiny drift would be multiplied by 10^8 residents).
        growth = (c2 / nv2) / (c1 / nv1) - 1 if c1 and nv1 and nv2 else 0.0
        noise = 2 * (c1 ** -0.5 + c2 ** -0.5) if c1 and c2 else float("inf")
        if b < 0 or growth <= noise:
            a, b = c2 / nv2, 0.0
        if a < 0:
            a, b = 0.0, c2 / (nr2 * nv2)
        scope = rule_scope(row2["sql"])
        shrink = 1.0 if scope is None else units[scope][1] / units[scope][0]
        c_nat = a * nv_nat + b * shrink * NATIONAL["residents"] * nv_nat
        out.append({"rule": name, "scope": scope or "national", "a_per_identity": a, "b_per_pair": b,
                    "per_identity_growth": growth, "noise": noise,
                    "comparisons_scale1": c1, "comparisons_scale2": c2, "national_comparisons": c_nat})
    return out


def throughput(args) -> None:
    """Comparisons scored per second by each backend (same model, one loose blocking rule)."""
    from vaxstudy.ingest import ingest
    from vaxstudy.link import link_db
    from vaxstudy.options import LinkOptions
    from vaxstudy.standardize import standardize_db
    from vaxstudy.synth import generate

    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_backends_tp_") as tmp:
        tmp = Path(tmp)
        db = tmp / "p.duckdb"
        ingest(generate(tmp / "data", province="40", scale=args.throughput, seed=1), db)
        standardize_db(db)
        res = link_db(db, tmp / "out", LinkOptions(seed=1, diagnostics=False))
        for be in args.backends:
            r = subprocess.run([sys.executable, "-c", THROUGHPUT_CHILD, be, str(db), str(res.model_path),
                                args.master, LOOSE_RULE], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"throughput {be}: FAILED\n{r.stderr[-3000:]}", flush=True)
                continue
            out = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"throughput scale {args.throughput:g} {be:6s}: {out['comparisons']:,} comparisons "
                  f"({LOOSE_RULE}) scored in {out['seconds']:.1f} s = {out['comparisons'] / out['seconds']:,.0f} "
                  f"comparisons/s on {os.cpu_count()} cores; {out['kept']:,} pairs with p >= 0.5", flush=True)


def print_national(results: list[dict]) -> None:
    rows = national_arithmetic(results)
    print(f"national arithmetic ({NATIONAL['residents']:.0e} residents, {NATIONAL['records']:.0e} records):")
    for r in rows:
        print(f"    {r['rule']:32s} {r['scope']:9s} {r['comparisons_scale1']:>9,} -> {r['comparisons_scale2']:>9,} "
              f"(per identity {r['per_identity_growth']:+.1%}, noise {r['noise']:.1%}) "
              f"a={r['a_per_identity']:.3g}/identity b={r['b_per_pair']:.3g}/pair "
              f"-> {r['national_comparisons']:.3g} comparisons")
    print(f"    {'sum over rules (upper bound of the union)':38s} {sum(r['national_comparisons'] for r in rows):.3g}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", type=float, nargs="+", default=[0.01, 0.05])
    ap.add_argument("--throughput", type=float, default=None, metavar="SCALE",
                    help="Only measure scoring speed: comparisons per second of each backend on "
                    "the province at SCALE, blocked on birth year alone (millions of pairs).")
    ap.add_argument("--from-json", type=Path, default=None,
                    help="Only print the national arithmetic from a saved --json run.")
    ap.add_argument("--backends", nargs="+", default=["duckdb", "spark"])
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if args.from_json:
        print_national(json.loads(args.from_json.read_text())["results"])
        return
    if args.throughput:
        return throughput(args)

    from vaxstudy.ingest import ingest
    from vaxstudy.link.blocking import blocking_report
    from vaxstudy.synth import generate

    print(f"machine: {machine()}", flush=True)
    results = []
    for scale in args.scales:
        with tempfile.TemporaryDirectory(prefix="bench_backends_") as tmp:
            tmp = Path(tmp)
            data = generate(tmp / "data", province="40", scale=scale, seed=1)
            raw = tmp / "raw.duckdb"
            ingest(data, raw)
            runs = {}
            for be in args.backends:
                db = tmp / f"{be}.duckdb"
                shutil.copy(raw, db)
                r = subprocess.run([sys.executable, "-c", CHILD, be, str(db), str(tmp / f"out_{be}"), args.master],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"scale {scale:g} {be}: FAILED\n{r.stderr[-3000:]}", flush=True)
                    continue
                res = json.loads(r.stdout.strip().splitlines()[-1])
                runs[be] = res
                s = res["seconds"]
                print(f"scale {scale:g} {be:6s}: {res['n_register']:,} residents, {res['n_records']:,} records | "
                      f"session {s['session']:.1f} s, standardise {s['standardize']:.1f} s, link {s['link']:.1f} s "
                      f"(u {res['link_timings'].get('u_random_sampling', 0):.1f}, "
                      f"predict {res['link_timings'].get('predict', 0):.1f}), total {s['total']:.1f} s | "
                      f"peak RSS driver {res['peak_driver_mib']:.0f} MiB, with JVM/workers {res['peak_tree_mib']:.0f} MiB | "
                      f"linked {res['n_linked']:,}, persons {res['n_persons_est']:,}, dup doses {res['n_duplicate_doses']:,}",
                      flush=True)
            agreement = None
            if len(runs) == 2:
                a, b = (tmp / f"out_{be}" / "record_links.parquet" for be in args.backends)
                agreement = same_links(a, b)
                print(f"scale {scale:g} agreement: {agreement}", flush=True)
            rules = blocking_report(tmp / f"{args.backends[0]}.duckdb")
            print(f"scale {scale:g} blocking: register {rules['n_register']:,}, identities {rules['n_identities']:,}, "
                  f"union {rules['union_comparisons']:,} comparisons", flush=True)
            for row in rules["rules"]:
                print(f"    {row['rule']:28s} {row['comparisons']:>14,}", flush=True)
            results.append({"scale": scale, "runs": runs, "agreement": agreement, "blocking": rules})
    if len(results) >= 2:
        print_national(results)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2, default=str))


if __name__ == "__main__":
    main()
