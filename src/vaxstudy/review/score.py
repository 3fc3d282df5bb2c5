"""`review score`: design-based precision and recall from reviewed items, with 95% intervals.

Every kind is a stratified simple random sample (frame.py, sample.py). In stratum h of size
N_h, m_h units were judged (same, different or other; unsure and unreturned units count as
not sampled) and x_h of them were ``same``. For unlinked rows the unit is the row: it is a
missed link when one of its candidate items is ``same`` or ``other`` (the person is someone
else in the register), judged when that or all its items are ``different``. The
point estimate of a stratum's true matches is N_h · x_h / m_h (stratified Horvitz–Thompson:
each judged unit weighs N_h / m_h); units decided in earlier rounds are certainty units. Then

* link precision        = Σ_link strata matches / Σ_link N_h
* link recall           = link matches / (link matches + missed links), a ratio of two
  estimated totals; the missed links are the unlinked rows whose person is in the register
  (one of their candidates, or ``other``: someone else in the register). A wrong link's true
  person is taken to be outside the register (``other`` on a link item counts as a wrong link
  only); where it is in fact a resident, recall is overstated by at most 1 − precision
* duplicate precisions  = Σ matches / Σ N_h over the pairs of that kind.

Intervals (docs/review.md): per stratum a Wilson 95% interval for the share, with the
finite-population correction (effective size m_h / (1 − m_h/N_h): a stratum reviewed whole has
no sampling error); strata are combined by MOVER (Zou & Donner 2008: the sum's limits are the
estimate ∓ the root of the summed squared distances to each stratum's limits), and the recall's
ratio by MOVER-R (Donner & Zou 2012). Wilson limits reach 0 and 1 exactly when no error or no
match is seen, so a stratum without errors widens the interval only on the side where errors
could be, and they keep close to 95% coverage at small counts where a normal interval collapses.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

Z = 1.959963984540054


def wilson(x: float, n: float) -> list[float] | None:
    """Wilson 95% interval for x successes in n (n may be an effective, non-integer size)."""
    if n <= 0:
        return None
    p = x / n
    c = Z * Z / n
    mid = (p + c / 2) / (1 + c)
    half = Z * math.sqrt(max(p * (1 - p), 0.0) / n + c / (4 * n)) / (1 + c)
    return [max(0.0, mid - half), min(1.0, mid + half)]


JUDGED = ("same", "different", "other")


def _units(valid: pd.DataFrame, kind: str) -> pd.DataFrame:
    """(stratum, same) per judged unit of ``kind``; unlinked rows grouped over their items,
    ``same`` meaning a missed link (an item ``same`` or ``other``)."""
    v = valid[valid["kind"] == kind]
    if kind != "unlinked":
        v = v[v["decision"].isin(JUDGED)]
        return pd.DataFrame({"stratum": v["stratum"], "same": v["decision"] == "same"})
    if v.empty:
        return pd.DataFrame({"stratum": pd.Series(dtype=object), "same": pd.Series(dtype=bool)})
    g = v.groupby(["stratum", "record_id"])["decision"].agg(
        same=lambda d: bool(d.isin(["same", "other"]).any()),
        judged=lambda d: bool(d.isin(["same", "other"]).any() or (d == "different").all())).reset_index()
    g = g[g["judged"]]
    return g[["stratum", "same"]]


def _strata(design: dict, kind: str, valid: pd.DataFrame) -> pd.DataFrame:
    st = pd.DataFrame([s for s in design["strata"] if s["kind"] == kind],
                      columns=["kind", "stratum", "N", "n", "model_p_mean"])
    u = _units(valid, kind)
    g = u.groupby("stratum")["same"].agg(m="size", x="sum")
    st = st.merge(g, left_on="stratum", right_index=True, how="left").fillna({"m": 0, "x": 0})
    return st.astype({"m": int, "x": int, "N": int})


def _certain(design: dict, kind: str, hits: tuple[str, ...] = ("same",)) -> tuple[int, int]:
    c = [x for x in design.get("certain", []) if x["kind"] == kind]
    return sum(x["decision"] in hits for x in c), len(c)



def _total(st: pd.DataFrame, certain_same: int) -> tuple[float, float, float]:
    """(estimate, low, high) of the number of matches: Σ_h N_h·share_h plus certainty units,
    limits by MOVER over the strata's Wilson intervals. A stratum with nothing judged takes the
    kind's pooled share for the estimate and [0, 1] for its limits."""
    pooled = st["x"].sum() / st["m"].sum() if st["m"].sum() else 0.5
    est, lo2, hi2 = float(certain_same), 0.0, 0.0
    for r in st.itertuples():
        if r.m == 0:
            p, lo, hi = pooled, 0.0, 1.0
        else:
            p = r.x / r.m
            rest = r.N - r.m
            n_eff = r.m * r.N / rest if rest > 0 else 0.0  # finite-population correction
            lo, hi = (p, p) if rest <= 0 else wilson(p * n_eff, n_eff)
        est += r.N * p
        lo2 += (r.N * (p - lo)) ** 2
        hi2 += (r.N * (hi - p)) ** 2
    return est, est - math.sqrt(lo2), est + math.sqrt(hi2)


def _share(total: tuple[float, float, float], n: int) -> tuple[float | None, list[float] | None]:
    if n <= 0:
        return None, None
    e, lo, hi = (x / n for x in total)
    return _r(e), _out([max(lo, 0.0), min(hi, 1.0)], e)


def _recall(tp: tuple[float, float, float], fn: tuple[float, float, float]):
    """TP / (TP + FN) = 1 / (1 + FN/TP), FN/TP by MOVER-R from the two totals' limits."""
    (t, tl, tu), (f, fl, fu) = tp, fn
    if t <= 0:
        return None, None
    tl, fl = max(tl, 1e-9 * t), max(fl, 0.0)
    a = f * t
    lo_r = ((a - math.sqrt(max(a * a - fl * tu * (2 * f - fl) * (2 * t - tu), 0.0))) / (tu * (2 * t - tu))
            if 2 * t - tu > 0 else 0.0)
    hi_r = (a + math.sqrt(max(a * a - fu * tl * (2 * f - fu) * (2 * t - tl), 0.0))) / (tl * (2 * t - tl))
    e = t / (t + f)
    return _r(e), _out([1 / (1 + max(hi_r, 0.0)), 1 / (1 + max(lo_r, 0.0))], e)


def _out(ci: list[float], point: float) -> list[float]:
    """Rounded outward to 6 decimals, holding the point estimate."""
    return [math.floor(min(ci[0], point) * 1e6 + 1e-9) / 1e6, math.ceil(max(ci[1], point) * 1e6 - 1e-9) / 1e6]


def estimate(design: dict, valid: pd.DataFrame) -> dict:
    """The figures of review_summary.json from the design and the valid decisions."""
    out: dict = {}
    parts = {}
    for kind in ("link", "unlinked", "dup_subject", "dup_dose"):
        st = _strata(design, kind, valid)
        cs, cn = _certain(design, kind, ("same", "other") if kind == "unlinked" else ("same",))
        parts[kind] = (st, _total(st, cs), int(st["N"].sum()) + cn)
    _, tp, n_link = parts["link"]
    _, fn, _ = parts["unlinked"]
    out["link_precision_est"], out["link_precision_est_ci"] = _share(tp, n_link)
    out["link_recall_est"], out["link_recall_est_ci"] = _recall(tp, fn) if n_link else (None, None)
    for kind, key in (("dup_subject", "dup_subject_precision_est"), ("dup_dose", "dup_dose_precision_est")):
        _, tot, n = parts[kind]
        out[key], out[f"{key}_ci"] = _share(tot, n)
    out["missed_links_est"] = _r(fn[0])
    out["missed_links_est_ci"] = [_r(max(fn[1], 0.0)), _r(fn[2])]
    out["populations"] = {k: {"N": int(p[2]), "strata": int(len(p[0])), "judged": int(p[0]["m"].sum()),
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
    v = valid[valid["decision"].isin(JUDGED)].drop(columns="model_p", errors="ignore").merge(
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
                     "observed_ci": [_r(c) for c in wilson(x, m)] if m else None})
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
    summary and where review_summary.json was written (beside the design). The summary is also
    recorded in the project database, where the estimate finds it."""
    import duckdb

    from vaxstudy.review.decisions import save_decisions
    from vaxstudy.layout import locate_run
    from vaxstudy.review.frame import link_threshold, review_dir, run_fingerprint
    from vaxstudy.review.returned import ReviewFileError, check_returned, read_returned
    from vaxstudy.review.sample import DESIGN_FILE
    from vaxstudy.review.summaries import save_summary

    files = locate_run(run_dir)
    labels = Path(labels)
    if design_path is None:
        near = labels.parent / DESIGN_FILE
        design_path = near if near.exists() else review_dir(files) / DESIGN_FILE
    design_path = Path(design_path)
    if not design_path.exists():
        raise ReviewFileError(f"no sample design {design_path}: score the file in the folder "
                              "`vaxstudy review sample` wrote it to, or pass --design")
    design = json.loads(design_path.read_text(encoding="utf-8"))
    returned = read_returned(labels)
    con = duckdb.connect(str(files.db), read_only=True)
    try:
        fp = run_fingerprint(con, link_threshold(files))
        given = sorted(set(returned.get("other_person_id", pd.Series(dtype=str))) - {""})
        known = {r[0] for r in con.execute(
            "SELECT CAST(unique_id AS VARCHAR) FROM population_std WHERE list_contains(?, CAST(unique_id AS VARCHAR))",
            [given]).fetchall()} if given else set()
    finally:
        con.close()
    if design["run_fingerprint"] != fp:
        raise ReviewFileError(
            f"{design_path} was drawn from other links (run fingerprint {design['run_fingerprint']}, "
            f"this run {fp}): the run was linked again since; draw a new sample")
    checked = check_returned(returned, design, source=labels.name, register_ids=known)
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
    save_summary(files.db, summary, files.layout.name, out)  # the estimate reads it from there
    return summary, out
