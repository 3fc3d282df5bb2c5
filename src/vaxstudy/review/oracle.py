"""Decisions from a synthetic province's truth: the reviewer of the tests and the benchmark.

``oracle_decisions`` answers every item the way a perfect reviewer would (the ``truth`` table:
true_person_id, true_person_key); ``error_rate`` flips that share of answers at random, a
reviewer who errs. Only for synthetic data: a real registry has no truth table.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd


def oracle_decisions(db, items: pd.DataFrame, *, error_rate: float = 0.0, seed: int = 0) -> pd.Series:
    """same/different/other for each item (indexed like ``items``): ``other`` on a record →
    register person item whose candidate is not the person but the person is in the register
    (the reviewer who looks them up). A flipped answer is ``same`` ↔ ``different``."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        t = con.execute("SELECT CAST(t.record_id AS VARCHAR) r, CAST(t.true_person_id AS VARCHAR) p, "
                        "CAST(coalesce(t.true_person_key, t.true_person_id, 'r:' || t.record_id) AS VARCHAR) k, "
                        "CAST(v.subject_id AS VARCHAR) s, v._row "
                        "FROM truth t JOIN vaccinations v ON CAST(v.record_id AS VARCHAR) = CAST(t.record_id AS VARCHAR)"
                        ).df()
    finally:
        con.close()
    person = t.set_index("r")["p"]
    key = t.set_index("r")["k"]
    first = t.sort_values("_row").drop_duplicates("s").set_index("s")["r"]
    rec, cand, kind = items["record_id"], items["candidate_id"].fillna(""), items["kind"]
    same = np.where(
        kind.isin(["link", "unlinked"]), (rec.map(person) == cand) & (cand != ""),
        np.where(kind == "dup_subject", rec.map(key) == cand.map(first).map(key),
                 rec.map(key) == cand.map(key)))
    same = same.astype(bool)
    in_register = kind.isin(["link", "unlinked"]).to_numpy() & rec.map(person).notna().to_numpy() \
        & (rec.map(person).fillna("") != "").to_numpy()
    flip = (np.random.default_rng(seed).random(len(same)) < error_rate) if error_rate > 0 \
        else np.zeros(len(same), dtype=bool)
    out = np.where(same, "same", np.where(in_register, "other", "different"))
    out = np.where(flip, np.where(same, "different", "same"), out)
    return pd.Series(out, index=items.index)


def true_accuracy(db, scope) -> dict:
    """The figures a review estimates, computed from the truth over every row and pair (the
    duplicates of ``scope``, a :class:`vaxstudy.review.frame.Scope`): the targets the
    benchmark's intervals should hold."""
    from vaxstudy.review.frame import populations

    con = duckdb.connect(str(db), read_only=True)
    try:
        pop = populations(con, scope)
        tp = con.execute("""
            SELECT count(*) FILTER (WHERE l.person_id IS NOT NULL AND l.person_id = CAST(t.true_person_id AS VARCHAR)),
                   count(*) FILTER (WHERE l.person_id IS NOT NULL),
                   count(*) FILTER (WHERE t.true_person_id IS NOT NULL AND CAST(t.true_person_id AS VARCHAR) <> '')
            FROM record_links l JOIN truth t ON CAST(t.record_id AS VARCHAR) = l.record_id""").fetchall()[0]
    finally:
        con.close()
    dup = pop[pop["kind"].isin(["dup_subject", "dup_dose", "unlinked"])].copy()
    dup["same"] = oracle_decisions(db, dup) == "same"
    share = dup.groupby("kind")["same"].mean()
    return {"link_precision": tp[0] / tp[1] if tp[1] else None,
            "link_recall": tp[0] / tp[2] if tp[2] else None,
            "link_recall_reviewable": tp[0] / (tp[0] + dup.loc[dup["kind"] == "unlinked", "same"].sum()),
            "dup_subject_precision": float(share.get("dup_subject", np.nan)),
            "dup_dose_precision": float(share.get("dup_dose", np.nan))}
