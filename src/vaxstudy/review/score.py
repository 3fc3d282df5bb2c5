"""`review score`: design-based precision and recall from reviewed items, with 95% intervals.

Every kind is a stratified simple random sample (frame.py, sample.py). In stratum h of size
N_h, m_h items were judged (same or different; unsure and unreturned items count as not
sampled) and x_h of them were ``same``. The point estimate of the stratum's number of true
matches is N_h · x_h / m_h (stratified Horvitz–Thompson: each judged item weighs N_h / m_h);
items decided in earlier rounds are certainty units (weight 1). Then

* link precision        = Σ_link strata matches / Σ_link N_h
* link recall           = link matches / (link matches + unlinked rows whose candidate is their
  person): a ratio of two estimated totals. A wrong link's true person is taken to be outside
  the register; where it is in fact a resident, recall is overstated by at most 1 − precision
* duplicate precisions  = Σ matches / Σ N_h over the pairs of that kind.

Interval (docs/review.md): each stratum's unknown count of matches among its N_h − m_h
unjudged items is drawn from its Jeffreys-prior posterior predictive (p ~ Beta(x + ½, m − x + ½),
count ~ Binomial(N_h − m_h, p): the finite-population Pólya posterior), the strata
independently; each estimate, ratios included, is computed on every draw and the 2.5% and
97.5% quantiles are the interval. For one stratum this is the Jeffreys interval with a
finite-population correction, which keeps close to 95% coverage down to small counts and, unlike a
normal approximation, keeps a non-zero width when a stratum shows no error.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

N_DRAWS = 4000
Z = 1.959963984540054


def _strata(design: dict, kind: str, valid: pd.DataFrame) -> pd.DataFrame:
    st = pd.DataFrame([s for s in design["strata"] if s["kind"] == kind],
                      columns=["kind", "stratum", "N", "n", "model_p_mean"])
    v = valid[(valid["kind"] == kind) & valid["decision"].isin(["same", "different"])]
    g = v.groupby("stratum")["decision"].agg(m="size", x=lambda d: int((d == "same").sum()))
    st = st.merge(g, left_on="stratum", right_index=True, how="left").fillna({"m": 0, "x": 0})
    return st.astype({"m": int, "x": int, "N": int})


def _certain(design: dict, kind: str) -> tuple[int, int]:
    c = [x for x in design.get("certain", []) if x["kind"] == kind]
    return sum(x["decision"] == "same" for x in c), len(c)


def _point(st: pd.DataFrame) -> float:
    """Σ N_h x_h / m_h; a stratum with nothing judged takes the kind's pooled share."""
    pooled = st["x"].sum() / st["m"].sum() if st["m"].sum() else 0.5
    share = np.where(st["m"] > 0, st["x"] / st["m"].clip(lower=1), pooled)
    return float((st["N"] * share).sum())


def _draws(st: pd.DataFrame, rng: np.random.Generator, n: int = N_DRAWS) -> np.ndarray:
    """Draws of Σ_h (matches in stratum h) from the strata's posterior predictives."""
    tot = np.zeros(n)
    for r in st.itertuples():
        rest = int(r.N) - int(r.m)
        p = rng.beta(r.x + 0.5, r.m - r.x + 0.5, size=n)
        tot += r.x + (rng.binomial(rest, p) if rest > 0 else 0)
    return tot


def _interval(point: float | None, draws: np.ndarray) -> list[float] | None:
    if point is None or not np.isfinite(draws).any():
        return None
    d = draws[np.isfinite(draws)]
    lo, hi = np.quantile(d, [0.025, 0.975])
    # outward rounding: the written interval holds the computed one
    return [math.floor(float(min(lo, point)) * 1e6) / 1e6, math.ceil(float(max(hi, point)) * 1e6) / 1e6]


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def wilson(x: int, n: int) -> list[float] | None:
    if n == 0:
        return None
    p = x / n
    c = Z * Z / n
    mid = (p + c / 2) / (1 + c)
    half = Z * math.sqrt(p * (1 - p) / n + c / (4 * n)) / (1 + c)
    return [round(max(0.0, mid - half), 6), round(min(1.0, mid + half), 6)]


def estimate(design: dict, valid: pd.DataFrame, seed: int = 0) -> dict:
    """The figures of review_summary.json from the design and the valid decisions."""
    rng = np.random.default_rng(seed)
    out: dict = {}
    parts = {}
    for kind in ("link", "unlinked", "dup_subject", "dup_dose"):
        st = _strata(design, kind, valid)
        cs, cn = _certain(design, kind)
        parts[kind] = (st, _point(st) + cs, _draws(st, rng) + cs, int(st["N"].sum()) + cn)
    st, tp, tp_d, n_link = parts["link"]
    _, fn, fn_d, _ = parts["unlinked"]
    out["link_precision_est"] = _r(_ratio(tp, n_link))
    out["link_precision_est_ci"] = _interval(out["link_precision_est"], tp_d / n_link) if n_link else None
    # missed residents are the unlinked rows whose candidate is their person (a wrong link's true
    # person is taken to be outside the register: docs/review.md bounds what this leaves out)
    out["link_recall_est"] = _r(_ratio(tp, tp + fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["link_recall_est_ci"] = _interval(out["link_recall_est"], tp_d / (tp_d + fn_d))
    for kind, key in (("dup_subject", "dup_subject_precision_est"), ("dup_dose", "dup_dose_precision_est")):
        _, pt, d, n = parts[kind]
        out[key] = _r(_ratio(pt, n))
        out[f"{key}_ci"] = _interval(out[key], d / n) if n else None
    out["missed_links_est"] = _r(fn)
    out["populations"] = {k: {"N": int(p[3]), "strata": int(len(p[0])),
                              "judged": int(p[0]["m"].sum()),
                              "strata_without_judgement": [s for s, m in zip(p[0]["stratum"], p[0]["m"])
                                                           if m == 0]}
                          for k, p in parts.items()}
    out["calibration"] = calibration(design, valid)
    return out


def calibration(design: dict, valid: pd.DataFrame) -> list[dict]:
    """Per link / unlinked stratum: the model's mean match probability over the judged items
    and the share judged ``same`` (Wilson 95% interval)."""
    items = pd.DataFrame(design["items"])
    if items.empty:
        return []
    v = valid[valid["decision"].isin(["same", "different"])].drop(columns="model_p", errors="ignore").merge(
        items[["review_id", "model_p"]], on="review_id", how="left")
    rows = []
    for s in design["strata"]:
        if s["kind"] not in ("link", "unlinked"):
            continue
        g = v[v["stratum"] == s["stratum"]]
        x, m = int((g["decision"] == "same").sum()), len(g)
        rows.append({"kind": s["kind"], "stratum": s["stratum"], "N": s["N"], "n_judged": m,
                     "predicted_match_share": _r(g["model_p"].astype(float).mean()) if m else None,
                     "observed_match_share": _r(x / m) if m else None,
                     "observed_ci": wilson(x, m)})
    return rows


def _r(x) -> float | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), 6)


def write_summary(summary: dict, path: Path) -> Path:
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                    encoding="utf-8")
    return path


SUMMARY_FILE = "review_summary.json"


def score_run(run_dir: str | Path, labels: str | Path, design_path: str | Path | None = None,
              *, keep_decisions: bool = True) -> tuple[dict, Path]:
    """Check a returned file against its sample, estimate, keep the decisions; returns the
    summary and where review_summary.json was written (beside the design)."""
    import duckdb

    from vaxstudy.review.decisions import save_decisions
    from vaxstudy.review.frame import link_threshold, locate_run, run_fingerprint
    from vaxstudy.review.returned import ReviewFileError, check_returned, read_returned
    from vaxstudy.review.sample import DESIGN_FILE

    files = locate_run(run_dir)
    labels = Path(labels)
    if design_path is None:
        near = labels.parent / DESIGN_FILE
        design_path = near if near.exists() else files.review_dir / DESIGN_FILE
    design_path = Path(design_path)
    if not design_path.exists():
        raise ReviewFileError(f"no sample design {design_path}: score the file in the folder "
                              "`vaxstudy review sample` wrote it to, or pass --design")
    design = json.loads(design_path.read_text(encoding="utf-8"))
    con = duckdb.connect(str(files.db), read_only=True)
    try:
        fp = run_fingerprint(con, link_threshold(files))
    finally:
        con.close()
    if design["run_fingerprint"] != fp:
        raise ReviewFileError(
            f"{design_path} was drawn from other links (run fingerprint {design['run_fingerprint']}, "
            f"this run {fp}): the run was linked again since; draw a new sample")
    checked = check_returned(read_returned(labels), design, source=labels.name)
    summary = {"run": design.get("run"), "run_fingerprint": fp, "labels_file": labels.name,
               **estimate(design, checked.valid)}
    dec = checked.valid["decision"]
    summary.update({
        "n_items": len(design["items"]),
        "n_reviewed": int(len(dec)),
        "n_unsure": int((dec == "unsure").sum()),
        "n_earlier_decisions": len(design.get("certain", [])),
        "n_skipped": len(checked.skipped),
        "skipped": checked.skipped,
        "not_returned": checked.deleted,
    })
    if keep_decisions and len(checked.valid):
        summary["n_decisions_kept"] = save_decisions(files.db, checked.valid, fp)
    out = write_summary(summary, design_path.parent / SUMMARY_FILE)
    return summary, out
