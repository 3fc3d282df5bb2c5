"""Incremental link benchmark: a week's new rows by `vaxstudy link --update` against a full re-link.

    python benchmarks/bench_update.py [--scales 0.1 1.0] [--seed 1] [--days 7] [--work DIR]

For each scale a synthetic Nghệ An is generated once (kept in ``--work``) and cut into two
exports (vaxstudy.synth.snapshots): the rows entered up to ``--days`` before the period's
end, and all of them (the same rows, the week's new ones appended). The earlier export is
ingested, standardised and linked in full (model trained; timed as *first link*); the later
export is then ingested and standardised into that database and three copies of it are
linked, one after the other in this process, so they share the machine's load:

* ``update``   — `link --update`: only the new rows and what they touch;
* ``frozen``   — every identity decided again with the same frozen parameters
  (``update_links(full=True)``), the result the update must equal;
* ``relink``   — the reference: a full ``vaxstudy link`` with the saved model (no training),
  what a user would run without ``--update``.

Printed per scale: rows, new rows, identities decided, identities re-clustered, seconds of
each, the speed-up over the re-link, the rows where update and frozen differ (must be 0) and
the agreement of the update with the re-link (its priors and term frequencies are
re-estimated, so a few borderline decisions may differ). Diagnostics are off everywhere.
Results also go to ``--work``/bench_update.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

from machine import describe  # benchmarks/machine.py

PERIOD = ("2021-03-08", "2021-10-31")


def _compare(db_a: Path, db_b: Path) -> tuple[int, float]:
    """(rows of record_links differing in any column, probabilities to 1e-9; share of rows
    with the same person_id)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{db_a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{db_b}' AS b (READ_ONLY)")
        prob = ("match_probability", "best_match_probability", "in_register_probability")
        same = " AND ".join(
            [f"coalesce(abs(x.{c} - y.{c}) < 1e-9, x.{c} IS NULL AND y.{c} IS NULL)" for c in prob]
            + [f"x.{c} IS NOT DISTINCT FROM y.{c}" for c in ("person_id", "person_key", "is_duplicate_dose",
                                                                "best_person_id")])
        n_diff, agree = con.execute(
            f"SELECT count(*) FILTER (WHERE NOT ({same})), avg(CAST(x.person_id IS NOT DISTINCT FROM y.person_id "
            "AS DOUBLE)) FROM a.record_links x FULL JOIN b.record_links y USING (record_id)").fetchall()[0]
        return int(n_diff), float(agree)
    finally:
        con.close()


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def run_scale(scale: float, seed: int, days: int, work: Path, given: Path | None = None) -> dict:
    from vaxstudy.options import LinkOptions
    from vaxstudy.study import Study
    from vaxstudy.synth import generate
    from vaxstudy.synth.snapshots import snapshots

    base = work / f"scale{scale:g}_seed{seed}"
    data = given or base / "data"
    if not (data / "truth_summary.json").exists():
        generate(data, province="40", scale=scale, seed=seed, period=PERIOD, fmt="csv")
    end = date.fromisoformat(PERIOD[1])
    cut = (end - timedelta(days=days)).isoformat()
    early, late = snapshots(data, base / "exports", [cut, end.isoformat()])
    runs = {k: base / k for k in ("update", "frozen", "relink")}
    for d in runs.values():
        shutil.rmtree(d, ignore_errors=True)
    w = runs["update"]
    w.mkdir(parents=True)
    opts = LinkOptions(seed=1, diagnostics=False)
    with Study(w / "p.duckdb", link_dir=w / "link") as st:
        st.ingest(early)
        st.standardize()
        first, t_first = _timed(lambda: st.link(opts))
        st.ingest(late, fresh=False)
        st.standardize()
    for k in ("frozen", "relink"):
        shutil.copytree(w, runs[k])
    out: dict = {"scale": scale, "seed": seed, "extract_dates": [cut, end.isoformat()],
                 "first_link_s": round(t_first, 1), "first_link_records": first.n_records,
                 # of which: keeping the prepared inputs for the update (link/prepared.py)
                 "first_link_keep_prepared_s": round(first.timings.get("keep_prepared", 0.0), 1)}
    with Study(w / "p.duckdb", link_dir=w / "link") as st:
        upd, out["update_s"] = _timed(st.update_link)
    with Study(runs["frozen"] / "p.duckdb", link_dir=runs["frozen"] / "link") as st:
        frz, out["frozen_s"] = _timed(lambda: st.update_link(full=True))
    model = runs["relink"] / "link" / "saved_model.json"
    shutil.copy2(runs["relink"] / "link" / "link_model.json", model)
    with Study(runs["relink"] / "p.duckdb", link_dir=runs["relink"] / "link") as st:
        rel, out["relink_s"] = _timed(lambda: st.link(LinkOptions(seed=1, diagnostics=False, model_path=model)))
    n_diff, _ = _compare(runs["update"] / "p.duckdb", runs["frozen"] / "p.duckdb")
    n_diff_relink, agree = _compare(runs["update"] / "p.duckdb", runs["relink"] / "p.duckdb")
    out.update(
        records=upd.n_records, new_records=upd.n_new_records, identities_decided=upd.n_identities_decided,
        identities_all=frz.n_identities_decided, reclustered=upd.n_dedupe_nodes, reclustered_all=frz.n_dedupe_nodes,
        update_steps=upd.timings, relink_steps={k: round(v, 1) for k, v in rel.timings.items()},
        speedup_vs_relink=round(out["relink_s"] / out["update_s"], 1), reused_prepared=upd.reused_prepared,
        rows_differing_from_frozen=n_diff, person_id_agreement_with_relink=agree,
        rows_differing_from_relink=n_diff_relink,
        linked_update=upd.n_linked_records, linked_relink=rel.n_linked_records,
        persons_update=upd.n_persons_est, persons_relink=rel.n_persons_est,
        peak_rss_gib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.1])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=7, help="the new rows: those entered in the export's last DAYS days")
    ap.add_argument("--work", type=Path, default=Path("/tmp/vaxstudy_bench_update"))
    ap.add_argument("--data", type=Path, default=None,
                    help="an already generated province (vaxstudy synth) of the one scale given, used as it is")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(describe("duckdb", "splink"))
    results = []
    for s in args.scales:
        r = run_scale(s, args.seed, args.days, args.work, args.data)
        results.append(r)
        print(f"scale {s:g}: {r['records']:,} rows, {r['new_records']:,} new ({args.days} days); "
              f"identities decided {r['identities_decided']:,} of {r['identities_all']:,}, "
              f"re-clustered {r['reclustered']:,} of {r['reclustered_all']:,}")
        print(f"  first link (trained) {r['first_link_s']:.1f} s (keeping its prepared inputs "
              f"{r['first_link_keep_prepared_s']:.1f} s) | update {r['update_s']:.1f} s | "
              f"frozen full {r['frozen_s']:.1f} s | re-link with the model {r['relink_s']:.1f} s "
              f"→ speed-up {r['speedup_vs_relink']:.1f}×")
        print(f"  update steps {r['update_steps']} (from the kept prepared inputs: {r['reused_prepared']})")
        print(f"  rows differing from the frozen full re-link: {r['rows_differing_from_frozen']}; "
              f"with the re-link: person_id agreement {r['person_id_agreement_with_relink']:.6f}, rows differing "
              f"in any column {r['rows_differing_from_relink']:,} (probabilities: its priors are re-estimated); "
              f"linked rows {r['linked_update']:,} vs {r['linked_relink']:,}; persons {r['persons_update']:,} "
              f"vs {r['persons_relink']:,}; peak RSS {r['peak_rss_gib']} GiB")
    (args.work / "bench_update.json").write_text(json.dumps({"machine": describe("duckdb", "splink"),
                                                            "results": results}, indent=2, default=str))


if __name__ == "__main__":
    main()
