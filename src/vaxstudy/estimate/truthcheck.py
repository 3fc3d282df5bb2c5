"""The ``linkage`` block of metrics.json, when a ``truth`` table is present.

Over the rows in scope:

* link precision = correct non-null links / non-null links; link recall =
  correct non-null links / rows whose true person is in the register. A null
  link for a person truly outside the register is correct (it is neither a
  false positive nor a missed link).
* duplicate-dose flags against the true flags: a row repeats a (true person,
  dose_number) recorded by an earlier row (entry order, any date up to
  period_end). The true person is ``true_person_key`` when the truth carries it,
  else ``true_person_id`` (a row with neither is its own person).
"""

from __future__ import annotations

import duckdb
import numpy as np

from vaxstudy.estimate.data import Inputs, columns_of, table_exists
from vaxstudy.estimate.metrics import rnd


def _prf(tp: float, n_pred: float, n_true: float) -> tuple[float | None, float | None, float | None]:
    p = tp / n_pred if n_pred else None
    r = tp / n_true if n_true else None
    f = 2 * p * r / (p + r) if p is not None and r is not None and (p + r) > 0 else None
    return rnd(p), rnd(r), rnd(f)


def linkage_accuracy(con: duckdb.DuckDBPyConnection, inp: Inputs) -> dict | None:
    if not table_exists(con, "truth"):
        return None
    cols = columns_of(con, "truth")
    key = "true_person_key" if "true_person_key" in cols else None
    t = con.execute(
        "SELECT CAST(record_id AS VARCHAR) record_id, CAST(true_person_id AS VARCHAR) tp"
        + (f", CAST({key} AS VARCHAR) tk" if key else ", NULL::VARCHAR tk")
        + " FROM truth"
    ).df()
    rows = inp.rows[["record_id", "person_id_str", "dose", "row", "is_dup", "in_scope"]].rename(
        columns={"person_id_str": "person_id"}).merge(
        t, on="record_id", how="left"
    )
    if rows["tp"].isna().all() and rows["tk"].isna().all():
        return None
    tkey = rows["tk"].where(rows["tk"].notna(), rows["tp"])
    tkey = tkey.where(tkey.notna(), "r:" + rows["record_id"])
    rows = rows.assign(tkey=tkey).sort_values("row", kind="stable")
    rows["true_dup"] = rows.groupby(["tkey", "dose"]).cumcount() > 0
    sc = rows[rows["in_scope"].to_numpy()]
    pl, tl = sc["person_id"], sc["tp"]
    tp = float(((pl.notna()) & (pl == tl)).sum())
    lp, lr, lf = _prf(tp, float(pl.notna().sum()), float(tl.notna().sum()))
    pd_, td = sc["is_dup"].to_numpy(), sc["true_dup"].to_numpy()
    dp, dr, df = _prf(float(np.sum(pd_ & td)), float(pd_.sum()), float(td.sum()))
    return {
        "link_precision": lp,
        "link_recall": lr,
        "link_f1": lf,
        "dup_precision": dp,
        "dup_recall": dr,
        "dup_f1": df,
    }
