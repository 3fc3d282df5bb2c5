"""The ``linkage`` block of metrics.json, when a ``truth`` table is present: the accuracy
of :func:`vaxstudy.accuracy.linkage_accuracy` over the rows in scope, the true duplicate
doses found among all rows (any date up to period_end)."""

from __future__ import annotations

import duckdb

from vaxstudy.accuracy import linkage_accuracy as accuracy
from vaxstudy.estimate.data import Inputs, columns_of, fetch, table_exists
from vaxstudy.estimate.figures import rnd

FIGURES = ("link_precision", "link_recall", "link_f1", "dup_precision", "dup_recall", "dup_f1")


def linkage_accuracy(con: duckdb.DuckDBPyConnection, inp: Inputs) -> dict | None:
    if not table_exists(con, "truth"):
        return None
    cols = columns_of(con, "truth")
    key = "true_person_key" if "true_person_key" in cols else None
    # through Arrow (fetch), as the estimate's queries: the same frame as DuckDB's .df(), ~4x less CPU
    t = fetch(
        con,
        "SELECT CAST(record_id AS VARCHAR) record_id, CAST(true_person_id AS VARCHAR) true_person_id"
        + (f", CAST({key} AS VARCHAR) true_person_key" if key else ", NULL::VARCHAR true_person_key")
        + " FROM truth",
    )
    rows = inp.rows[["record_id", "person_id_str", "dose", "row", "is_dup", "in_scope"]].rename(
        columns={"person_id_str": "person_id", "dose": "dose_number", "is_dup": "is_duplicate_dose"}).merge(
        t, on="record_id", how="left"
    )
    if rows["true_person_id"].isna().all() and rows["true_person_key"].isna().all():
        return None
    acc = accuracy(rows, scope=rows["in_scope"].to_numpy())
    return {k: rnd(acc[k]) for k in FIGURES}
