"""Register entries without a date of birth: the link's step that finds them, measured.

    python benchmarks/incomplete_register.py [--scale 0.1] [--seed 31] [--rate 0.002] [--work DIR]
                                             [--estimate]

Generates the default province with ``register_dob_missing`` at ``--rate`` (the share of
register entries without a date of birth; the truth still names those persons), ingests,
standardises, links (model trained afresh) and evaluates: the links of ``person_id``
(unchanged meaning: a person of the denominator), the links to the entries without a date
of birth (``incomplete_register_person_id``) as their own precision and recall, the rows
found in the register either way, and the new step's seconds beside the link's other steps
(same run). With ``--estimate``, also metrics.json's ``unlinked_records`` split against the
truth. Accuracy, not a timing to quote under load: the seconds are the step's share.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--rate", type=float, default=0.002)
    ap.add_argument("--work", type=Path, default=Path("data/processed/incomplete_register"))
    ap.add_argument("--estimate", action="store_true")
    a = ap.parse_args()

    from vaxstudy.evaluate import evaluate
    from vaxstudy.ingest import ingest
    from vaxstudy.link import link_db
    from vaxstudy.options import LinkOptions
    from vaxstudy.standardize import standardize_db
    from vaxstudy.synth import generate

    shutil.rmtree(a.work, ignore_errors=True)
    print(f"scale {a.scale:g}, seed {a.seed}, register_dob_missing {a.rate:g}; load {os.getloadavg()}", flush=True)
    data = generate(a.work / "data", province="40", scale=a.scale, seed=a.seed, fmt="parquet",
                    register_dob_missing=a.rate)
    db = a.work / "db.duckdb"
    ing = ingest(data, db)
    standardize_db(db)
    t = time.perf_counter()
    res = link_db(db, a.work / "out", LinkOptions(seed=1, diagnostics=False))
    link_s = time.perf_counter() - t
    summary = json.loads(res.summary_path.read_text(encoding="utf-8"))
    ev = evaluate(a.work / "out", data, db_path=db, write=False, reach=False)
    out = {
        "register_rows": ing["population"].rows_read, "register_quarantined": ing["population"].rows_quarantined,
        "link_precision": ev["link_precision"], "link_recall": ev["link_recall"],
        "n_links_true": ev["n_links_true"], "incomplete_register": ev["incomplete_register"],
        "step": {k: v for k, v in summary["incomplete_register"].items() if k != "rules"},
        "link_seconds": round(link_s, 1), "timings_s": summary["timings_s"],
        "load_after": os.getloadavg(),
    }
    if a.estimate:
        from vaxstudy.estimate import estimate_db

        estimate_db(db, "40", "2021-03-08", "2021-10-31", a.work / "out")
        m = json.loads((a.work / "out" / "metrics.json").read_text(encoding="utf-8"))
        s = json.loads((data / "truth_summary.json").read_text(encoding="utf-8"))
        out["metrics_unlinked_records"] = m.get("unlinked_records")
        out["unlinked_record_rate"] = {"estimate": m["unlinked_record_rate"], "ci": m["unlinked_record_rate_ci"],
                                       "truth": s["unlinked_record_rate"]}
    print(json.dumps(out, indent=2), flush=True)


if __name__ == "__main__":
    main()
