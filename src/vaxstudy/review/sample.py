"""`review sample`: a stratified sample of items with recorded inclusion probabilities.

Allocation (docs/review.md): the sample is split between the four kinds (link 35%, unlinked
35%, duplicate subjects 15%, duplicate doses 15%; a kind with fewer items is taken whole and
its share goes to the others). Within a kind, strata get Neyman-like shares
n_h ∝ N_h · max(√(q_h(1 − q_h)), 0.05), where q_h is the model's own mean error probability
in the stratum (1 − match probability for links, the best candidate's probability for unlinked
rows): more items where the model expects errors, and the floor keeps every stratum sampled.
Each stratum then gets at least min(N_h, 5) items. Inside a stratum the draw is simple random
sampling without replacement, so every item's inclusion probability is n_h / N_h.

An unlinked row is shown with up to three register candidates, one item each: its best
candidate from the link and the best of a loose search (same given name and birth year ±1, same
whole name, same ID number or phone, or same surname, given name and commune), ranked by name
similarity and agreement of birth date, commune, sex, ID number and phone. The row is a missed
link when one of its items is judged ``same``; the sampling unit stays the row (the unlinked
kind's share of items is divided by three to give the rows drawn).

Items already decided (``review_decisions``) are never drawn again: they are taken out of the
frame and recorded in the design as certainty units with their decision (an unlinked row with
any decided item is out of the frame, ``same`` if any of its decisions is, else ``other`` if
any is).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from vaxstudy.review.decisions import read_decisions
from vaxstudy.layout import locate_run
from vaxstudy.review.frame import KINDS, Scope, link_threshold, populations, review_dir, run_fingerprint

KIND_SHARES = {"link": 0.35, "unlinked": 0.35, "dup_subject": 0.15, "dup_dose": 0.15}
S_FLOOR = 0.05
MIN_PER_STRATUM = 5
CANDIDATES_PER_ROW = 3
DESIGN_FILE = "review_design.json"
DUP_KINDS = ("dup_subject", "dup_dose")


def allocate(N: np.ndarray, weight: np.ndarray, n: int, minimum: np.ndarray | None = None) -> np.ndarray:
    """Integers n_h ≤ N_h summing to min(n, ΣN): the minimum first, then the rest in proportion
    to ``weight`` (largest remainders), capped at N_h and redistributed until all is placed."""
    N = np.asarray(N, dtype=np.int64)
    w = np.asarray(weight, dtype=float)
    out = np.minimum(N, np.zeros_like(N) if minimum is None else np.asarray(minimum, dtype=np.int64))
    n = min(int(n), int(N.sum()))
    if out.sum() > n:  # minimums alone exceed n: proportional to them
        return allocate(N, out.astype(float), n)
    while out.sum() < n:
        left = n - int(out.sum())
        open_ = out < N
        ww = np.where(open_, w, 0.0)
        if ww.sum() <= 0:
            ww = open_.astype(float)
        share = ww / ww.sum() * left
        add = np.floor(share).astype(np.int64)
        rem = left - int(add.sum())
        if rem > 0:
            order = np.argsort(-(share - add) - open_ * 1e-9, kind="stable")
            add[order[:rem]] += 1
        out = np.minimum(N, out + add)
    return out


def _stratum_weight(kind: str, p: pd.Series) -> float:
    if kind in DUP_KINDS or p.isna().all():
        return 0.5
    q = float((1 - p).mean()) if kind == "link" else float(p.mean())
    return max(math.sqrt(max(q * (1 - q), 0.0)), S_FLOOR)


def _group(kind: pd.Series) -> pd.Series:
    """link and unlinked items are both record → register person pairs."""
    return kind.where(~kind.isin(["link", "unlinked"]), "person")


def split_decided(pop: pd.DataFrame, decided: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the frame without decided items, the decided items still in the population with their
    decision). A decided record → person pair matches a linked row by record and person; an
    unlinked row matches any decision on that record (same if one of them is)."""
    if decided.empty:
        return pop, pop.iloc[0:0].assign(decision=pd.Series(dtype=object))
    d = decided.assign(group=_group(decided["kind"]))[["group", "record_id", "candidate_id", "decision"]]
    p = pop.assign(group=_group(pop["kind"]), _i=np.arange(len(pop)))
    m = p[p["kind"] != "unlinked"].merge(d, on=["group", "record_id", "candidate_id"], how="inner")
    rank = {"same": 2, "other": 1, "different": 0}  # a row is a missed link if any item says so
    per_row = (d[d["group"] == "person"].assign(s=lambda x: x["decision"].map(rank).fillna(0))
               .groupby("record_id")["s"].max().map({2: "same", 1: "other", 0: "different"}).rename("decision"))
    un = p[p["kind"] == "unlinked"].merge(per_row, left_on="record_id", right_index=True)
    m = pd.concat([m, un], ignore_index=True).drop_duplicates("_i")
    frame = pop[~np.isin(np.arange(len(pop)), m["_i"].to_numpy())]
    return frame.reset_index(drop=True), m.drop(columns=["group", "_i"]).reset_index(drop=True)


def draw(frame: pd.DataFrame, n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sampled items with inclusion_prob, one row per stratum: kind, stratum, N, n, weight)."""
    rng = np.random.default_rng(seed)
    st = (frame.groupby(["kind", "stratum"], sort=True)
          .agg(N=("record_id", "size"), model_p=("model_p", "mean")).reset_index())
    st["weight"] = [_stratum_weight(k, frame.loc[(frame["kind"] == k) & (frame["stratum"] == s), "model_p"])
                    for k, s in zip(st["kind"], st["stratum"])]
    kinds = [k for k in KINDS if k in set(st["kind"])]
    kN = np.array([st.loc[st["kind"] == k, "N"].sum() for k in kinds])
    kn = allocate(kN, np.array([KIND_SHARES[k] for k in kinds]), n)
    # an unlinked row becomes up to CANDIDATES_PER_ROW items
    kn = np.array([math.ceil(x / CANDIDATES_PER_ROW) if k == "unlinked" else x for k, x in zip(kinds, kn)])
    st["n"] = 0
    for k, nk in zip(kinds, kn):
        idx = st.index[st["kind"] == k]
        N = st.loc[idx, "N"].to_numpy()
        st.loc[idx, "n"] = allocate(N, N * st.loc[idx, "weight"].to_numpy(), int(nk),
                                    np.minimum(N, MIN_PER_STRATUM))
    parts = []
    for (k, s), g in frame.groupby(["kind", "stratum"], sort=True):
        nh = int(st.loc[(st["kind"] == k) & (st["stratum"] == s), "n"].iloc[0])
        if nh == 0:
            continue
        pick = g.iloc[np.sort(rng.choice(len(g), size=nh, replace=False))]
        parts.append(pick.assign(inclusion_prob=nh / len(g)))
    items = pd.concat(parts, ignore_index=True) if parts else frame.iloc[0:0].assign(inclusion_prob=0.0)
    # kinds together, in random order inside a kind (no ordering by model probability)
    items = items.assign(_k=items["kind"].map({k: i for i, k in enumerate(KINDS)}),
                         _r=rng.random(len(items))).sort_values(["_k", "_r"]).drop(columns=["_k", "_r"])
    return items.reset_index(drop=True), st


def loose_candidates(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame,
                     top: int = CANDIDATES_PER_ROW) -> pd.DataFrame:
    """Up to ``top`` register persons for each unlinked row (record_id, candidate_id = the link's
    best candidate or empty), ranked as the module says. Columns: record_id, person_id, rank."""
    if rows.empty:
        return pd.DataFrame({"record_id": [], "person_id": [], "rank": []})
    con.register("review_want", pd.DataFrame({"record_id": rows["record_id"].astype(str).to_numpy(),
                                              "best": rows["candidate_id"].replace("", None).to_numpy()}))
    agree = lambda a, w: f"{w} * coalesce(CAST({a} AS INTEGER), 0)"  # noqa: E731
    score = " + ".join([
        "jaro_winkler_similarity(coalesce(p.name_ascii, ''), coalesce(v.name_ascii, ''))",
        agree("p.dob = v.dob", 0.5), agree("p.birth_year = v.birth_year", 0.3),
        agree("month(p.dob) = month(v.dob) AND day(p.dob) = day(v.dob)", 0.3),
        agree("p.commune_code = v.commune_code", 0.3), agree("p.sex = v.sex", 0.1),
        agree("p.id_number = v.id_number", 0.6),
        agree("p.id_number <> v.id_number AND jaro_winkler_similarity(p.id_number, v.id_number) >= 0.9", 0.3),
        agree("p.phone = v.phone", 0.3)])
    return con.execute(f"""
        WITH v AS (SELECT CAST(s.unique_id AS VARCHAR) AS record_id, s.* EXCLUDE (unique_id)
                   FROM vaccinations_std s JOIN review_want w ON CAST(s.unique_id AS VARCHAR) = w.record_id),
        pairs AS (
          SELECT v.record_id, p.unique_id AS person_id FROM v JOIN population_std p
            ON p.given_name_ascii = v.given_name_ascii AND abs(p.birth_year - v.birth_year) <= 1
          UNION SELECT v.record_id, p.unique_id FROM v JOIN population_std p ON p.name_ascii = v.name_ascii
          UNION SELECT v.record_id, p.unique_id FROM v JOIN population_std p ON p.id_number = v.id_number
          UNION SELECT v.record_id, p.unique_id FROM v JOIN population_std p ON p.phone = v.phone
          UNION SELECT v.record_id, p.unique_id FROM v JOIN population_std p
            ON p.given_name_ascii = v.given_name_ascii AND p.surname_ascii = v.surname_ascii
           AND p.commune_code = v.commune_code
          UNION SELECT record_id, best FROM review_want WHERE best IS NOT NULL),
        c AS (SELECT v.record_id, CAST(p.unique_id AS VARCHAR) AS person_id, {score} AS score
              FROM pairs JOIN v USING (record_id)
              JOIN population_std p ON CAST(p.unique_id AS VARCHAR) = CAST(pairs.person_id AS VARCHAR))
        SELECT record_id, person_id, rank FROM (
          SELECT *, row_number() OVER (PARTITION BY record_id ORDER BY score DESC, person_id) AS rank
          FROM c) WHERE rank <= {int(top)} ORDER BY record_id, rank""").df()


def expand_unlinked(items: pd.DataFrame, cands: pd.DataFrame) -> pd.DataFrame:
    """One item per (unlinked row, candidate); a row without any candidate keeps one item with
    an empty candidate. The link's best candidate keeps its model probability, others get 0."""
    un = items[items["kind"] == "unlinked"]
    best_p = un.set_index("record_id")["model_p"]
    best_c = un.set_index("record_id")["candidate_id"]
    ex = un.drop(columns=["candidate_id", "model_p"]).merge(
        cands.rename(columns={"person_id": "candidate_id"}), on="record_id", how="left")
    ex["candidate_id"] = ex["candidate_id"].fillna("")
    ex["model_p"] = np.where(ex["candidate_id"] == ex["record_id"].map(best_c), ex["record_id"].map(best_p), 0.0)
    ex = ex.sort_values(["record_id", "rank"], na_position="first").drop(columns="rank")
    rest = items[items["kind"] != "unlinked"]
    order = {k: i for i, k in enumerate(KINDS)}
    first = {r: i for i, r in enumerate(items["record_id"])}  # keep the draw's random order
    out = pd.concat([rest, ex], ignore_index=True)
    out = out.assign(_k=out["kind"].map(order), _r=out["record_id"].map(first)).sort_values(
        ["_k", "_r"], kind="stable").drop(columns=["_k", "_r"]).reset_index(drop=True)
    out.insert(0, "review_id", [f"R{i + 1:04d}" for i in range(len(out))])
    return out


def build_sample(db: Path, n: int, seed: int, scope: Scope, population: pd.DataFrame | None = None) -> dict:
    """The sample of a run's database (duplicates of ``scope``): {items, strata, certain,
    population}. ``population``: :func:`populations` already read (repeated draws)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        pop = populations(con, scope) if population is None else population
        decided = read_decisions(con, db)
        frame, certain = split_decided(pop, decided)
        items, strata = draw(frame, n, seed)
        cands = loose_candidates(con, items[items["kind"] == "unlinked"])
    finally:
        con.close()
    items = expand_unlinked(items, cands)
    # the row's other candidates, each judged in its own item
    un = items["kind"] == "unlinked"
    per_row = items[un].groupby("record_id")["candidate_id"].agg(list)
    items["other_candidates"] = [
        " ".join(c for c in per_row[r] if c and c != cid) if u else ""
        for r, cid, u in zip(items["record_id"], items["candidate_id"], un)]
    return {"items": items, "strata": strata, "certain": certain, "population": pop}


def design_dict(sample: dict, *, fingerprint: str, threshold: float, seed: int, n: int,
                run_name: str) -> dict:
    """What `review score` needs besides the labels: strata sizes, items, certainty units."""
    st = sample["strata"]
    return {
        "run": run_name,
        "run_fingerprint": fingerprint,
        "link_threshold": threshold,
        "seed": int(seed),
        "n_requested": int(n),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "strata": [{"kind": r.kind, "stratum": r.stratum, "N": int(r.N), "n": int(r.n),
                    "allocation_weight": round(float(r.weight), 6),
                    "model_p_mean": None if pd.isna(r.model_p) else round(float(r.model_p), 8)}
                   for r in st.itertuples()],
        "items": [{"review_id": r.review_id, "kind": r.kind, "record_id": r.record_id,
                   "candidate_id": r.candidate_id, "stratum": r.stratum,
                   "inclusion_prob": float(r.inclusion_prob),
                   "model_p": None if pd.isna(r.model_p) else float(r.model_p)}
                  for r in sample["items"].itertuples()],
        "certain": [{"kind": r.kind, "record_id": r.record_id, "candidate_id": r.candidate_id,
                     "stratum": r.stratum, "decision": r.decision,
                     "model_p": None if pd.isna(r.model_p) else float(r.model_p)}
                    for r in sample["certain"].itertuples()],
    }


def sample_run(run_dir: str | Path, n: int = 400, seed: int = 1, out: str | Path | None = None,
               language: str = "vi") -> dict[str, Path]:
    """Draw the sample of a run and write review.xlsx, review.csv, README.md and the design."""
    from vaxstudy.review.workbook import write_review_files

    files = locate_run(run_dir)
    target = Path(out) if out is not None else review_dir(files)
    refuse_shareable(target, files)
    thr = link_threshold(files)
    con = duckdb.connect(str(files.db), read_only=True)
    try:
        fp = run_fingerprint(con, thr)
    finally:
        con.close()
    sample = build_sample(files.db, n, seed, Scope.of_run(files))
    design = design_dict(sample, fingerprint=fp, threshold=thr, seed=seed, n=n, run_name=files.layout.name)
    target.mkdir(parents=True, exist_ok=True)
    (target / DESIGN_FILE).write_text(json.dumps(design, indent=1, ensure_ascii=False), encoding="utf-8")
    paths = write_review_files(files.db, sample["items"], target, fingerprint=fp, language=language,
                               design=design)
    return {**paths, "design": target / DESIGN_FILE}


def refuse_shareable(target: Path, files) -> None:
    """Review files hold names and ID numbers: never inside the shareable report folder."""
    shared = files.layout.shared.resolve()
    t = Path(target).resolve()
    if t == shared or shared in t.parents:
        raise ValueError(f"{target} is inside the shareable report folder {files.layout.shared}: review "
                         f"files hold personal data; write them under {files.layout.restricted}")
