"""Linkage accuracy against the truth, defined once: what `vaxstudy evaluate` reports and
what the estimate's ``linkage`` block of metrics.json holds.

* link precision = correct non-null links / non-null links; link recall = correct non-null
  links / rows whose true person is in the register; link accuracy also counts a null link
  for a person truly outside the register as correct (CONTRACT section 3).
* duplicate-dose flags against the true flags: a row repeating a (true person, dose_number)
  of an earlier row in entry order. The true person is ``true_person_key`` when known, else
  ``true_person_id``; a row with neither is its own person.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: the columns :func:`linkage_accuracy` reads
COLUMNS = ("record_id", "person_id", "is_duplicate_dose", "true_person_id", "true_person_key", "dose_number", "row")


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None or p + r == 0:
        return None
    return 2 * p * r / (p + r)


def _in_entry_order(rows: pd.DataFrame) -> bool:
    """Whether ``rows`` come in entry order with no tie: ``row`` known and strictly increasing
    (then its order by ``row``, then record_id, is its own)."""
    row = pd.to_numeric(rows["row"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return len(row) > 1 and not np.isnan(row).any() and bool(np.all(row[1:] > row[:-1]))


def true_duplicates(rows: pd.DataFrame) -> np.ndarray:
    """Per row of ``rows`` (its order kept): whether it repeats the (true person, dose_number)
    of an earlier row in entry order (``row``, then record_id)."""
    key = rows["true_person_key"].where(rows["true_person_key"].notna(), rows["true_person_id"])
    key = key.where(key.notna(), "r:" + rows["record_id"].astype(str))
    if _in_entry_order(rows) and not rows["dose_number"].isna().any():
        # the rows in entry order already (the estimate's): the same flags by one stable sort of
        # integer codes instead of a sort of the rows and a group-by on text (~1 CPU-s of ~2 at
        # full scale)
        from vaxstudy.estimate.sorting import seen_before

        return seen_before(pd.factorize(key)[0], pd.factorize(rows["dose_number"])[0])
    order = rows.assign(_key=key, _dose=rows["dose_number"]).sort_values(["row", "record_id"], kind="stable")
    seen = order.groupby(["_key", "_dose"], dropna=True, sort=False).cumcount() > 0
    return seen.reindex(rows.index, fill_value=False).to_numpy(dtype=bool)


def linkage_accuracy(rows: pd.DataFrame, scope: np.ndarray | None = None) -> dict[str, Any]:
    """Precision, recall and F1 of the links and of the duplicate-dose flags (and the counts
    behind them) over the rows of ``rows`` in ``scope`` (default: all); the true duplicates
    are found among all of ``rows`` (an earlier dose outside the scope still counts).
    ``rows`` has the :data:`COLUMNS` (person ids as strings, None where absent)."""
    true_dup = true_duplicates(rows)
    keep = np.ones(len(rows), dtype=bool) if scope is None else np.asarray(scope, dtype=bool)
    sc = rows[keep]
    pl, tl = sc["person_id"], sc["true_person_id"]
    n_ok = int((pl.notna() & (pl == tl)).sum())
    n_pred, n_true = int(pl.notna().sum()), int(tl.notna().sum())
    n_acc = n_ok + int((pl.isna() & tl.isna()).sum())
    flagged = sc["is_duplicate_dose"].fillna(False).to_numpy(dtype=bool)
    td = true_dup[keep]
    d_ok, d_pred, d_true = int(np.sum(flagged & td)), int(flagged.sum()), int(td.sum())
    lp, lr = _ratio(n_ok, n_pred), _ratio(n_ok, n_true)
    dp, dr = _ratio(d_ok, d_pred), _ratio(d_ok, d_true)
    return {
        "n_records": int(len(sc)),
        "link_precision": lp,
        "link_recall": lr,
        "link_f1": _f1(lp, lr),
        "link_accuracy": _ratio(n_acc, len(sc)),
        "n_links_predicted": n_pred,
        "n_links_true": n_true,
        "dup_precision": dp,
        "dup_recall": dr,
        "dup_f1": _f1(dp, dr),
        "n_dup_predicted": d_pred,
        "n_dup_true": d_true,
    }


def incomplete_register_accuracy(rows: pd.DataFrame, incomplete_ids: set[str] | None) -> dict[str, Any]:
    """Accuracy of the links to register persons without a date of birth (record_links'
    ``incomplete_register_person_id``, docs/linkage.md), apart from the links above: precision
    = correct / rows given one; recall = correct / rows whose true person is such a register
    person (``incomplete_ids``; None: unknown, no recall); ``found_recall`` = rows whose true
    person is found in either column / rows with a true person (the register, complete or not).
    ``rows``: person_id, incomplete_register_person_id, true_person_id (strings or None)."""
    inc, tl, pl = rows["incomplete_register_person_id"], rows["true_person_id"], rows["person_id"]
    n_ok = int((inc.notna() & (inc == tl)).sum())
    n_pred = int(inc.notna().sum())
    n_true = None if incomplete_ids is None else int(tl.isin(incomplete_ids).sum())
    found = (pl.notna() & (pl == tl)) | (inc.notna() & (inc == tl))
    return {
        "incomplete_link_precision": _ratio(n_ok, n_pred),
        "incomplete_link_recall": None if n_true is None else _ratio(n_ok, n_true),
        "n_incomplete_links_predicted": n_pred,
        "n_incomplete_links_true": n_true,
        "n_incomplete_links_correct": n_ok,
        "found_recall": _ratio(int(found.sum()), int(tl.notna().sum())),
    }


#: lower edges of the match-probability bands of :func:`calibration_bands`
CALIBRATION_EDGES: tuple[float, ...] = (0.0, 0.9, 0.99, 0.999, 0.99999)


def calibration_bands(p: np.ndarray, wrong: np.ndarray,
                      edges: tuple[float, ...] = CALIBRATION_EDGES) -> list[dict[str, Any]]:
    """Calibration of the links' match probabilities against truth, by probability band:
    per band [lo, hi) the links, the wrong links observed and the wrong links the model
    expects (sum of 1 - p). Observed well above expected: the model is overconfident there."""
    p = np.asarray(p, dtype=float)
    wrong = np.asarray(wrong, dtype=bool)
    out = []
    for lo, hi in zip(edges, (*edges[1:], np.inf)):
        m = (p >= lo) & (p < hi) if np.isfinite(hi) else (p >= lo)
        exp = float((1.0 - p[m]).sum())
        obs = int(wrong[m].sum())
        out.append({"band": f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">={lo:g}", "n_links": int(m.sum()),
                    "wrong": obs, "expected_wrong": round(exp, 2),
                    "ratio": round(obs / exp, 3) if exp > 0 else None})
    return out
