"""What a review draws from: a run's files, its fingerprint, and the four populations of items.

A *run* is named by either of its folders (``--run``). :func:`locate_run` finds its working
database, the link stage's summary and the default review folder; it is the one place that
knows where those live (the restricted layout of :mod:`vaxstudy.layout`, else the older
``<out>/.work`` layout of the demo).

The populations (CONTRACT §2, *Review files*), one row per item, with a stratum and the model's
probability that the two sides are the same person (``model_p``):

* ``link``      linked rows → their person, by match-probability band;
* ``unlinked``  unlinked rows → their best register candidate, by that candidate's probability
  (rows with no candidate form their own stratum; their candidate is found at sampling time);
* ``dup_subject`` (later profile, first profile) of one estimated person;
* ``dup_dose``  (flagged row, the row it repeats).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from vaxstudy.layout import RunLayout
from vaxstudy.review.duplicates import duplicate_dose_pairs_sql, duplicate_subject_pairs_sql

KINDS = ("link", "unlinked", "dup_subject", "dup_dose")
#: lower edges of the linked bands (the last band starts at the run's threshold)
LINK_BANDS = (("link_9999", 0.9999), ("link_999", 0.999), ("link_99", 0.99))
#: lower edges of the unlinked bands by best-candidate probability
UNLINKED_BANDS = (("unl_50", 0.5), ("unl_10", 0.1), ("unl_01", 0.01), ("unl_low", 0.0))
REVIEW_FOLDER = "review"


@dataclass(frozen=True)
class RunFiles:
    """Where a run's review inputs are."""

    layout: RunLayout
    db: Path
    link_summary: Path | None
    review_dir: Path


def locate_run(run_dir: str | Path) -> RunFiles:
    """The database, link summary and default review folder of the run named by ``run_dir``.

    Restricted layout first (``<out>/restricted/work/<province>.duckdb``), then the demo's
    older one (``<out>/.work/<province>.duckdb``, link files in the run folder)."""
    lay = RunLayout.from_run_dir(run_dir)
    dbs = [lay.db, Path(lay.out) / ".work" / f"{lay.province}.duckdb"]
    db = next((p for p in dbs if p.exists()), None)
    if db is None:
        raise FileNotFoundError(f"no working database for run {lay.name}: looked for "
                                + ", ".join(str(p) for p in dbs))
    sums = [lay.link_dir / "link_summary.json", lay.restricted / "link_summary.json",
            lay.shared / "link_summary.json", db.parent / f"{lay.province}_link" / "link_summary.json"]
    summary = next((p for p in sums if p.exists()), None)
    return RunFiles(layout=lay, db=db, link_summary=summary, review_dir=lay.restricted / REVIEW_FOLDER)


def link_threshold(files: RunFiles) -> float:
    """The link stage's decision threshold: its ``link_run`` record in the database, else (a
    database linked before that record existed) link_summary.json's ``decision.threshold``."""
    from vaxstudy.link.run import read_link_run

    con = duckdb.connect(str(files.db), read_only=True)
    try:
        run = read_link_run(con)
    finally:
        con.close()
    if run is not None:
        return float(run.threshold)
    if files.link_summary is None:
        raise FileNotFoundError(f"no link_run table and no link_summary.json for run {files.layout.name}: "
                                "run the link stage")
    d = json.loads(files.link_summary.read_text(encoding="utf-8"))
    return float(d["decision"]["threshold"])


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


def populations(con: duckdb.DuckDBPyConnection, links: str = "record_links",
                vax: str = "vaccinations") -> pd.DataFrame:
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
    ds = con.execute(duplicate_subject_pairs_sql(links, vax)).df()
    dsub = pd.DataFrame({"kind": "dup_subject", "record_id": ds["record_id"].astype(str).to_numpy(),
                         "candidate_id": ds["first_subject_id"].astype(str).to_numpy(),
                         "stratum": np.where(ds["linked"].astype(bool), "dsub_linked", "dsub_cluster"),
                         "model_p": np.nan})
    dd = con.execute(duplicate_dose_pairs_sql(links, vax)).df()
    ddose = pd.DataFrame({"kind": "dup_dose", "record_id": dd["record_id"].astype(str).to_numpy(),
                          "candidate_id": dd["first_record_id"].astype(str).to_numpy(),
                          "stratum": np.where(dd["same_subject"].astype(bool), "ddose_same_subject",
                                              "ddose_cross_subject"),
                          "model_p": np.nan})
    return pd.concat([link, unl, dsub, ddose], ignore_index=True)

