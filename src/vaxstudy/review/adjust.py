"""What a review summary changes in metrics.json: the ``review`` block and the adjusted unlinked rate.

The estimate stage calls :func:`add_review` once. When the run has a review_summary.json (the
run's restricted ``review/`` folder), ``metrics["review"]`` holds the audited figures (aggregates
only) and ``unlinked_record_rate_review_adjusted``: of the rows the link left linked, a share
P (audited precision) truly belongs to their person, and those are a share R (audited recall) of
all rows whose person is in the register, so

    rows truly in the register = linked rows · P / R,
    unlinked_record_rate_review_adjusted = 1 − (1 − unlinked_record_rate) · P / R.

Its interval takes the extremes of that expression over the three 95% intervals (U, P, R), a
conservative box. The contract's ``unlinked_record_rate`` itself is left as the link made it.
"""

from __future__ import annotations

import json
from pathlib import Path

from vaxstudy.layout import RunLayout

SUMMARY_FILE = "review_summary.json"
KEYS = ("link_precision_est", "link_recall_est", "dup_subject_precision_est", "dup_dose_precision_est")


def find_review_summary(db_path: str | Path, province: str, period_start: str,
                        period_end: str) -> Path | None:
    """The run's review_summary.json, if a review was scored: under the restricted folder of the
    output the working database belongs to (``<out>/restricted/work/`` or ``<out>/.work/``)."""
    db = Path(db_path).resolve()
    outs = [db.parent.parent.parent, db.parent.parent] if db.parent.name == "work" else [db.parent.parent]
    for out in outs:
        try:
            lay = RunLayout(out, str(province).zfill(2), str(period_start), str(period_end))
            f = lay.restricted / "review" / SUMMARY_FILE
        except ValueError:
            continue
        if f.exists():
            return f
    return None


def _box(u: list[float], p: list[float], r: list[float]) -> list[float]:
    lo = 1 - (1 - u[0]) * p[1] / r[0]
    hi = 1 - (1 - u[1]) * p[0] / r[1]
    return [round(min(max(lo, 0.0), 1.0), 6), round(min(max(hi, 0.0), 1.0), 6)]


def review_block(metrics: dict, summary: dict) -> dict:
    """The ``review`` block of metrics.json from a review summary."""
    out = {"n_reviewed": int(summary.get("n_reviewed", 0)), "n_unsure": int(summary.get("n_unsure", 0))}
    for k in KEYS:
        out[k] = summary.get(k)
        out[f"{k}_ci"] = summary.get(f"{k}_ci")
    u, ci = metrics.get("unlinked_record_rate"), metrics.get("unlinked_record_rate_ci")
    p, r = summary.get("link_precision_est"), summary.get("link_recall_est")
    pc, rc = summary.get("link_precision_est_ci"), summary.get("link_recall_est_ci")
    if None not in (u, p, r, pc, rc) and r > 0 and rc[0] > 0:
        out["unlinked_record_rate_review_adjusted"] = round(min(max(1 - (1 - u) * p / r, 0.0), 1.0), 6)
        out["unlinked_record_rate_review_adjusted_ci"] = _box(ci or [u, u], pc, rc)
    else:
        out["unlinked_record_rate_review_adjusted"] = None
        out["unlinked_record_rate_review_adjusted_ci"] = None
    out["adjustment"] = "1 - (1 - unlinked_record_rate) * link_precision_est / link_recall_est"
    return out


def add_review(metrics: dict, db_path: str | Path) -> dict:
    """``metrics`` with its ``review`` block when the run has a scored review; unchanged else."""
    f = find_review_summary(db_path, metrics["province_code"], metrics["period_start"], metrics["period_end"])
    if f is None:
        return metrics
    summary = json.loads(f.read_text(encoding="utf-8"))
    if not summary.get("n_reviewed"):
        return metrics
    return {**metrics, "review": review_block(metrics, summary)}
