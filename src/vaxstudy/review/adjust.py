"""What a review summary changes in metrics.json: the ``review`` block and the adjusted unlinked rate.

The estimate stage reads the summary once, before its bootstrap: its ``missed_links_est_ci`` caps
the residents the linkage missed (:func:`vaxstudy.estimate.missed.review_cap`), and then calls
:func:`add_review`. When a review of the run was scored (recorded
in the project database by ``review score``, :mod:`vaxstudy.review.summaries`), ``metrics["review"]`` holds the audited figures (aggregates
only) and ``unlinked_record_rate_review_adjusted``: of the rows the link left linked, a share
P (audited precision) truly belongs to their person, and those are a share R (audited recall) of
all rows whose person is in the register, so

    rows truly in the register = linked rows · P / R,
    unlinked_record_rate_review_adjusted = 1 − (1 − unlinked_record_rate) · P / R.

Its interval takes the extremes of that expression over the three 95% intervals (U, P, R), a
conservative box. The contract's ``unlinked_record_rate`` itself is left as the link made it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from vaxstudy.layout import run_name

log = logging.getLogger(__name__)
KEYS = ("link_precision_est", "link_recall_est", "dup_subject_precision_est", "dup_dose_precision_est")


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


def add_review(metrics: dict, db_path: str | Path | None = None, found: tuple | None = None) -> dict:
    """``metrics`` with its ``review`` block when a review of this run (province and period) was
    scored on this export (:func:`vaxstudy.review.summaries.summary_for_run`, wherever the
    summary file was written, or ``found``, what it returned); unchanged else, with a note in
    ``notes`` when a recorded review is not used (another run's, or scored on another export)."""
    from vaxstudy.review.summaries import summary_for_run

    run = run_name(metrics["province_code"], metrics["period_start"], metrics["period_end"])
    summary, note = found if found is not None else summary_for_run(db_path, run)
    if note is not None:
        log.warning(note)
        return {**metrics, "notes": [*metrics.get("notes", []), note]}
    if summary is None or not summary.get("n_reviewed"):
        return metrics
    return {**metrics, "review": review_block(metrics, summary)}
