"""What a review draws from: a run's files, its fingerprint, and the four populations of items.

A *run* is named by either of its folders (``--run``); its files are found by
:func:`vaxstudy.layout.locate_run`, the one locator, and its review files go to
:func:`review_dir` (restricted).

The populations (CONTRACT §2, *Review files*), one row per item, with a stratum and the model's
probability that the two sides are the same person (``model_p``):

* ``link``      linked rows → their person, by match-probability band;
* ``unlinked``  unlinked rows → their best register candidate, by that candidate's probability
  (rows with no candidate form their own stratum; their candidate is found at sampling time);
* ``dup_subject`` (later profile, first profile) of one estimated person;
* ``dup_dose``  (flagged row, the row it repeats).

The two duplicate kinds are the estimate's own (:mod:`vaxstudy.worklists.duplicates` over the
estimate's rows of the run's province and period), so their precision is that of the
numerators of ``duplicate_subject_rate`` and ``duplicate_dose_rate`` in metrics.json. Links
and unlinked rows are the whole export's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from vaxstudy.layout import RunFiles

KINDS = ("link", "unlinked", "dup_subject", "dup_dose")
#: lower edges of the linked bands (the last band starts at the run's threshold)
LINK_BANDS = (("link_9999", 0.9999), ("link_999", 0.999), ("link_99", 0.99))
#: lower edges of the unlinked bands by best-candidate probability
UNLINKED_BANDS = (("unl_50", 0.5), ("unl_10", 0.1), ("unl_01", 0.01), ("unl_low", 0.0))
REVIEW_FOLDER = "review"


@dataclass(frozen=True)
class Scope:
    """The province and period whose duplicates are reviewed (the estimate's scope)."""

    province: str
    period_start: str
    period_end: str
    extract_date: str | None = None

    @classmethod
    def of_run(cls, files: RunFiles) -> "Scope":
        lay = files.layout
        extract = None
        if files.metrics is not None:
            extract = json.loads(files.metrics.read_text(encoding="utf-8")).get("extract_date")
        return cls(lay.province, lay.period_start, lay.period_end, extract)


def review_dir(files: RunFiles) -> Path:
    """Where a run's review files go by default: its restricted folder's ``review/``."""
    return files.layout.restricted / REVIEW_FOLDER


def link_threshold(files: RunFiles) -> float:
    """The run's link decision threshold (:func:`vaxstudy.link.run.run_threshold`)."""
    from vaxstudy.link.run import run_threshold

    con = duckdb.connect(str(files.db), read_only=True)
    try:
        t = run_threshold(con, files.link_summary)
    finally:
        con.close()
    if t is None:
        raise FileNotFoundError(f"no link_run table and no link_summary.json for run {files.layout.name}: "
                                "run the link stage")
    return t


def run_fingerprint(con: duckdb.DuckDBPyConnection, threshold: float, links: str = "record_links") -> str:
    """A short hash of record_links and the threshold: a review file drawn from other links is
    refused."""
    h = con.execute(
        f"""SELECT md5(string_agg(concat_ws('|', record_id, coalesce(person_id, ''),
                   coalesce(CAST(round(match_probability, 6) AS VARCHAR), ''), person_key,
                   CAST(is_duplicate_dose AS VARCHAR)), chr(10) ORDER BY record_id))
            FROM {links}"""
    ).fetchall()[0][0]
    return hashlib.sha256(f"{h}|{threshold:.10g}".encode()).hexdigest()[:16]


def _band(p: np.ndarray, bands, last: str | None = None) -> np.ndarray:
    out = np.full(len(p), last or "", dtype=object)
    done = np.zeros(len(p), dtype=bool)
    for name, lo in bands:
        hit = ~done & (p >= lo)
        out[hit] = name
        done |= hit
    return out


def populations(con: duckdb.DuckDBPyConnection, scope: Scope, links: str = "record_links") -> pd.DataFrame:
    """Every reviewable item: kind, record_id, candidate_id, stratum, model_p."""
    rl = con.execute(
        f"SELECT CAST(record_id AS VARCHAR) record_id, CAST(person_id AS VARCHAR) person_id, "
        f"match_probability, CAST(best_person_id AS VARCHAR) best_person_id, best_match_probability "
        f"FROM {links}").df()
    linked = rl[rl["person_id"].notna()]
    lp = linked["match_probability"].astype(float).fillna(1.0).to_numpy()
    link = pd.DataFrame({"kind": "link", "record_id": linked["record_id"].to_numpy(),
                         "candidate_id": linked["person_id"].to_numpy(),
                         "stratum": _band(lp, LINK_BANDS, "link_thr"), "model_p": lp})
    un = rl[rl["person_id"].isna()]
    has = un["best_person_id"].notna().to_numpy()
    bp = un["best_match_probability"].astype(float).fillna(0.0).to_numpy()
    unl = pd.DataFrame({"kind": "unlinked", "record_id": un["record_id"].to_numpy(),
                        "candidate_id": un["best_person_id"].fillna("").to_numpy(),
                        "stratum": np.where(has, _band(bp, UNLINKED_BANDS), "unl_none"),
                        "model_p": np.where(has, bp, 0.0)})
    dsub, ddose = duplicate_items(con, scope)
    return pd.concat([link, unl, dsub, ddose], ignore_index=True)



def duplicate_items(con: duckdb.DuckDBPyConnection, scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dup_subject and dup_dose items of ``scope``: the estimate's duplicate profiles (each
    later profile's first row in scope → the person's first profile) and duplicate doses (the
    flagged row → the row it repeats), by :mod:`vaxstudy.worklists.duplicates`."""
    from vaxstudy.estimate.data import load_inputs
    from vaxstudy.worklists.duplicates import duplicate_dose_pairs, duplicate_subject_groups

    inp = load_inputs(con, scope.province, scope.period_start, scope.period_end,
                      extract_date=scope.extract_date)
    sc = inp.scope_rows()
    g = duplicate_subject_groups(sc)
    first_rec = sc.sort_values("row").drop_duplicates("subject_id").set_index("subject_id")["record_id"]
    g["record_id"] = first_rec.reindex(g["subject_id"].to_numpy()).to_numpy()
    con.register("_review_first_rows", pd.DataFrame({"record_id": g["record_id"].astype(str).to_numpy()}))
    try:
        sid = dict(con.execute("SELECT CAST(v.record_id AS VARCHAR), CAST(v.subject_id AS VARCHAR) FROM vaccinations v "
                               "SEMI JOIN _review_first_rows f ON f.record_id = CAST(v.record_id AS VARCHAR)"
                               ).fetchall())
    finally:
        con.unregister("_review_first_rows")
    g["subject"] = g["record_id"].astype(str).map(sid)
    head = g[g["person_rank"] == 1].set_index("person_key")["subject"]
    later = g[g["is_dup_subject"]]
    dsub = pd.DataFrame({"kind": "dup_subject", "record_id": later["record_id"].astype(str).to_numpy(),
                         "candidate_id": head.reindex(later["person_key"].to_numpy()).astype(str).to_numpy(),
                         "stratum": np.where(later["q"].notna(), "dsub_linked", "dsub_cluster"),
                         "model_p": np.nan})
    dd = duplicate_dose_pairs(sc)
    ddose = pd.DataFrame({"kind": "dup_dose", "record_id": dd["record_id"].astype(str).to_numpy(),
                          "candidate_id": dd["original_record_id"].astype(str).to_numpy(),
                          "stratum": np.where(dd["same_subject"].astype(bool), "ddose_same_subject",
                                              "ddose_cross_subject"),
                          "model_p": np.nan})
    return dsub, ddose
