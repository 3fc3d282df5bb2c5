"""The items of the five worklists, found from the run's own rows.

The rows, their scope, links and duplicate flags are the estimate's (`load_inputs`), so
the counts here are those behind metrics.json (see :func:`reconcile`). This module adds
what a person acting on a line needs: the row as typed, the register person's values, the
site's name and commune. Every line carries a ``district_code`` (of the site, as the
estimate's by-district record rates), a ``probability`` and an ``impact`` (sort key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from vaxstudy.estimate.data import Inputs, fetch, load_inputs
from vaxstudy.estimate.rates import tally_ok
from vaxstudy.worklists.duplicates import duplicate_dose_pairs, duplicate_subject_groups, pair_probability

#: Identity fields compared with the register (CONTRACT §1 vaccinations columns).
FIELDS = ("id_number", "date_of_birth", "sex", "full_name")

_DETAILS_SQL = """
SELECT k.record_id, CAST(v.subject_id AS VARCHAR) subject_id, CAST(v.full_name AS VARCHAR) full_name,
       CAST(v.date_of_birth AS VARCHAR) date_of_birth, CAST(v.sex AS VARCHAR) sex,
       CAST(v.id_number AS VARCHAR) id_number, CAST(v.phone AS VARCHAR) phone,
       CAST(v.province_code AS VARCHAR) province_code, CAST(v.district_code AS VARCHAR) res_district,
       CAST(v.commune_code AS VARCHAR) commune_code, CAST(v.vaccine AS VARCHAR) vaccine_raw,
       s.name_norm, CAST(s.dob AS DATE) dob_std, s.dob_precision, s.sex sex_std, s.id_number id_std, s.id_type,
       s.province_code province_std,
       CAST(l.person_id AS VARCHAR) person_id, CAST(l.best_person_id AS VARCHAR) best_person_id,
       CAST(l.best_match_probability AS DOUBLE) best_q, CAST(l.in_register_probability AS DOUBLE) in_reg_q,
       CAST(p.full_name AS VARCHAR) reg_name, CAST(p.date_of_birth AS DATE) reg_dob, ps.sex reg_sex,
       ps.name_norm reg_name_norm, CAST(p.commune_code AS VARCHAR) reg_commune,
       CAST(c.full_name AS VARCHAR) cand_name, CAST(c.date_of_birth AS DATE) cand_dob,
       CAST(c.commune_code AS VARCHAR) cand_commune{incomplete}
FROM _scope k
JOIN vaccinations v ON CAST(v.record_id AS VARCHAR) = k.record_id
LEFT JOIN vaccinations_std s ON CAST(s.record_id AS VARCHAR) = k.record_id
LEFT JOIN record_links l ON CAST(l.record_id AS VARCHAR) = k.record_id
LEFT JOIN population p ON CAST(p.person_id AS VARCHAR) = CAST(l.person_id AS VARCHAR)
LEFT JOIN population_std ps ON CAST(ps.unique_id AS VARCHAR) = CAST(l.person_id AS VARCHAR)
LEFT JOIN population c ON CAST(c.person_id AS VARCHAR) = CAST(l.best_person_id AS VARCHAR)
"""

_SITES_SQL = """SELECT CAST(site_id AS VARCHAR) site_id, any_value(CAST(site_name AS VARCHAR)) site_name,
                       any_value(CAST(commune_code AS VARCHAR)) site_commune FROM sites GROUP BY 1"""


@dataclass
class Items:
    """The five lists of one province and period (all districts), and what they came from."""

    province: str
    period_start: date
    period_end: date
    subjects: pd.DataFrame  # one row per profile of a duplicated person (role keep / merge)
    doses: pd.DataFrame  # one row per duplicate dose
    identity: pd.DataFrame  # one row per (linked row, field) differing from the register or empty
    unlinked: pd.DataFrame  # one row per row with no register person
    tally: pd.DataFrame  # one row per site-day-dose whose tally exceeds distinct doses entered
    counts: dict = field(default_factory=dict)  # the numerators behind metrics.json
    notes: list[str] = field(default_factory=list)

    def districts(self) -> list[str]:
        frames = (self.subjects, self.doses, self.identity, self.unlinked, self.tally)
        return sorted(set().union(*(set(f["district_code"].astype(str)) for f in frames if len(f))))


def _details(con: duckdb.DuckDBPyConnection, inp: Inputs) -> pd.DataFrame:
    sc = inp.scope_rows()
    # the register person without a date of birth the link found (vaxstudy.link.incomplete)
    has_inc = "incomplete_register_person_id" in {r[0] for r in con.execute("DESCRIBE record_links").fetchall()}
    inc = (", CAST(l.incomplete_register_person_id AS VARCHAR) incomplete_person_id, "
           "CAST(l.incomplete_register_match_probability AS DOUBLE) incomplete_q" if has_inc
           else ", NULL::VARCHAR incomplete_person_id, NULL::DOUBLE incomplete_q")
    det = fetch(con, _DETAILS_SQL.format(incomplete=inc), frames={"_scope": sc[["record_id"]].astype(str).reset_index(drop=True)})
    det = det.drop_duplicates("record_id").set_index("record_id").reindex(sc["record_id"].to_numpy())
    det.index.name = "record_id"
    det = det.reset_index()
    for c in ("site_id", "vdate", "dose", "q", "person_key", "site", "row", "entered_date"):
        det[c] = sc[c].to_numpy()
    det["_subject_id"] = sc["subject_id"].to_numpy()  # the estimate's integer code
    det["district_code"] = inp.sites["district_code"].to_numpy()[sc["site"].to_numpy()].astype(str)
    return det


def _sites(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    from vaxstudy.estimate.data import table_exists

    if not table_exists(con, "sites"):
        return pd.DataFrame(columns=["site_id", "site_name", "site_commune"])
    return fetch(con, _SITES_SQL)


def _completeness(det: pd.DataFrame) -> np.ndarray:
    cols = ("name_norm", "dob_std", "sex_std", "id_std", "phone", "commune_code")
    return sum(det[c].notna().to_numpy().astype(int) for c in cols)


def _agreement(det: pd.DataFrame) -> np.ndarray:
    """How many identity fields agree with the linked register person (0 when unlinked)."""
    a = (det["id_std"] == det["person_id"]).fillna(False).to_numpy().astype(int)
    a += (pd.to_datetime(det["dob_std"]) == pd.to_datetime(det["reg_dob"])).fillna(False).to_numpy().astype(int)
    a += (det["sex_std"] == det["reg_sex"]).fillna(False).to_numpy().astype(int)
    a += (det["name_norm"] == det["reg_name_norm"]).fillna(False).to_numpy().astype(int)
    return a


def subject_lines(inp: Inputs, det: pd.DataFrame) -> pd.DataFrame:
    """Profiles of each duplicated person: the one to keep (best agreement with the register,
    then most complete, then first entered) and the ones to merge into it."""
    groups = duplicate_subject_groups(inp.scope_rows())
    if groups.empty:
        return pd.DataFrame(columns=["group", "role", "subject_id", "target_subject_id", "probability",
                                     "impact", "district_code", "differs"])
    d = det.assign(_agree=_agreement(det), _complete=_completeness(det))
    first = d.sort_values("row").drop_duplicates("_subject_id").set_index("_subject_id")
    g = groups.join(first, on="subject_id", rsuffix="_row")
    g["subject_text"] = g["subject_id_row"] if "subject_id_row" in g else g["subject_id"]
    g = g.sort_values(["person_key", "_agree", "_complete", "first_row"], ascending=[True, False, False, True])
    g["is_keep"] = g.groupby("person_key").cumcount() == 0
    keep = g[g["is_keep"]].set_index("person_key")
    k = keep.reindex(g["person_key"].to_numpy())
    g["target_subject_id"] = np.where(g["is_keep"], None, k["subject_text"].to_numpy())
    g["probability"] = np.where(
        g["is_keep"], g["q"].to_numpy(dtype=float),
        pair_probability(np.zeros(len(g), bool), g["q"].to_numpy(dtype=float), k["q"].to_numpy(dtype=float)))
    diffs = []
    for col, label in (("name_norm", "full_name"), ("dob_std", "date_of_birth"), ("sex_std", "sex"),
                       ("id_std", "id_number"), ("phone", "phone"), ("commune_code", "commune_code")):
        a, b = g[col].astype(object).to_numpy(), k[col].astype(object).to_numpy()
        diffs.append(np.where(pd.isna(a) & pd.isna(b), "", np.where(a == b, "", label)))
    g["differs"] = [", ".join(x for x in t if x) for t in zip(*diffs)] if len(g) else []
    g.loc[g["is_keep"], "differs"] = ""
    g["role"] = np.where(g["is_keep"], "keep", "merge")
    # a group is shown in the district of each profile to merge; its keep line goes with it
    merge = g[~g["is_keep"]]
    size = merge.groupby("person_key").size()
    pmin = merge.groupby("person_key")["probability"].min()
    g["impact"] = (size.reindex(g["person_key"]).to_numpy() * pmin.reindex(g["person_key"]).fillna(0).to_numpy())
    g["group"] = g.groupby("person_key", sort=False).ngroup() + 1
    g = g.sort_values(["impact", "person_key", "is_keep"], ascending=[False, True, False])
    g["group"] = pd.factorize(g["group"])[0] + 1
    g["subject_id"] = g.pop("subject_text")
    return g.reset_index(drop=True)


def dose_lines(inp: Inputs, det: pd.DataFrame) -> pd.DataFrame:
    pairs = duplicate_dose_pairs(inp.scope_rows())
    d = det.set_index("record_id")
    out = pairs.join(d.drop(columns=["person_key", "dose"]), on="record_id")
    o = d.reindex(pairs["original_record_id"].to_numpy())
    for c in ("subject_id", "vdate", "site_id", "entered_date"):
        out[f"orig_{c}"] = o[c].to_numpy()
    out["impact"] = out["probability"].fillna(0)
    return out.sort_values(["impact", "record_id"], ascending=[False, True]).reset_index(drop=True)


def identity_lines(det: pd.DataFrame) -> pd.DataFrame:
    """One line per linked row and identity field that is empty or differs from the register."""
    d = det[det["person_id"].notna()]
    reg_dob = pd.to_datetime(d["reg_dob"])
    checks = {
        "id_number": (d["id_std"], d["person_id"], d["id_number"], d["person_id"],
                      d["id_std"] != d["person_id"]),
        "date_of_birth": (d["dob_std"], reg_dob, d["date_of_birth"], reg_dob.dt.strftime("%Y-%m-%d"),
                          pd.to_datetime(d["dob_std"]) != reg_dob),
        "sex": (d["sex_std"], d["reg_sex"], d["sex"], d["reg_sex"], d["sex_std"] != d["reg_sex"]),
        "full_name": (d["name_norm"], d["reg_name_norm"], d["full_name"], d["reg_name"],
                      d["name_norm"] != d["reg_name_norm"]),
    }
    parts = []
    year_only = (d["dob_precision"] == "year").to_numpy()
    for fld, (std, reg, cur, prop, differ) in checks.items():
        empty = std.isna().to_numpy()
        bad = (empty | differ.fillna(False).to_numpy()) & reg.notna().to_numpy()
        problem = np.where(empty, np.where(year_only, "incomplete", "empty"), "differs") \
            if fld == "date_of_birth" else np.where(empty, "empty", "differs")
        if bad.any():
            parts.append(pd.DataFrame({
                "record_id": d["record_id"].to_numpy()[bad], "field": fld,
                "problem": problem[bad],
                "current_value": cur.to_numpy()[bad], "proposed_value": prop.to_numpy()[bad]}))
    if not parts:
        return pd.DataFrame(columns=["record_id", "field", "problem", "current_value", "proposed_value",
                                     "probability", "impact", "district_code"])
    lines = pd.concat(parts, ignore_index=True).join(d.set_index("record_id"), on="record_id")
    lines["probability"] = lines["q"].astype(float)
    lines["impact"] = lines["probability"] * lines.groupby("record_id")["field"].transform("size")
    order = {f: i for i, f in enumerate(FIELDS)}
    lines["_f"] = lines["field"].map(order)
    return lines.sort_values(["impact", "record_id", "_f"], ascending=[False, True, True]) \
        .drop(columns="_f").reset_index(drop=True)


def unlinked_lines(inp: Inputs, det: pd.DataFrame) -> pd.DataFrame:
    """Rows with no register person: best candidate if any, P(not in the register), residence
    typed; ``task``: ``complete_register_entry`` where the person is in the register with an
    entry lacking a date of birth (the entry is to be completed, not created), else
    ``check_residence``."""
    d = det[det["person_id"].isna()].copy()
    in_reg = d["in_reg_q"].fillna(d["best_q"])
    if inp.has_candidates:  # no register candidate scored at all: the linkage saw no one
        in_reg = in_reg.where(d["best_person_id"].notna() | in_reg.notna(), 0.0)
    found = d["incomplete_person_id"].notna()
    in_reg = in_reg.where(~found, np.fmax(in_reg.to_numpy(dtype=float), d["incomplete_q"].to_numpy(dtype=float)))
    d["task"] = np.where(found, "complete_register_entry", "check_residence")
    d["probability"] = 1.0 - in_reg
    d["non_resident"] = (d["province_std"].notna() & (d["province_std"] != inp.province)).to_numpy()
    d["impact"] = in_reg.fillna(0.0)  # the rows a field check most likely turns into a register link
    return d.sort_values(["impact", "record_id"], ascending=[False, True]).reset_index(drop=True)


def tally_cells(inp: Inputs) -> pd.DataFrame:
    """Every in-scope site-day-dose with its tally and distinct doses entered (rows minus the
    estimate's duplicate rows); the sum of tally - distinct is the numerator of missing_entry_rate."""
    sc = inp.scope_rows()
    sc = sc[tally_ok(sc)]  # site-days with a quarantined tally row are left out, as by the estimate
    entered = sc.assign(dup=sc["is_dup_scope"].astype(int)).groupby(["site", "vdate", "dose"]) \
        .agg(rows=("record_id", "size"), dups=("dup", "sum"))
    tl = inp.tallies
    t = tl[tl["in_scope"].to_numpy() & tally_ok(tl)].groupby(["site", "vdate", "dose"])["doses"].sum()
    cells = entered.join(t.rename("tally"), how="outer").fillna(0).astype(np.int64).reset_index()
    cells["distinct"] = cells["rows"] - cells["dups"]
    cells["gap"] = cells["tally"] - cells["distinct"]
    return cells


def tally_lines(inp: Inputs, doses: pd.DataFrame) -> pd.DataFrame:
    cells = tally_cells(inp)
    lines = cells[cells["gap"] > 0].copy()
    # the count is exact when every duplicate flag behind it is right
    sc = inp.scope_rows()
    pr = doses.set_index("record_id")["probability"]
    dup = sc[sc["is_dup_scope"].to_numpy()]
    p = pd.Series(pr.reindex(dup["record_id"]).fillna(1.0).to_numpy(), index=dup.index)
    pcell = p.groupby([dup["site"], dup["vdate"], dup["dose"]]).prod()
    idx = pd.MultiIndex.from_frame(lines[["site", "vdate", "dose"]])
    lines["probability"] = pcell.reindex(idx).fillna(1.0).to_numpy()
    lines["site_id"] = inp.sites["site_id"].to_numpy()[lines["site"].to_numpy()]
    lines["district_code"] = inp.sites["district_code"].to_numpy()[lines["site"].to_numpy()].astype(str)
    lines["impact"] = lines["gap"]
    return lines.sort_values(["impact", "site_id", "vdate", "dose"], ascending=[False, True, True, True]) \
        .reset_index(drop=True)


def reconcile(inp: Inputs, items: "Items") -> dict:
    """The numerators behind metrics.json, from the estimate's rows, next to the worklists' counts."""
    from vaxstudy.estimate.rates import counts, record_site_aggregates

    agg = record_site_aggregates(inp)
    inprov = inp.sites["in_province"].to_numpy()
    cells = tally_cells(inp)
    c = counts(inp)
    return {
        **c,
        "duplicate_subjects": int(round(agg["dsub"][inprov].sum())),
        "duplicate_doses": int(round(agg["dup"][inprov].sum())),
        "unlinked_rows": int(round(agg["unl"][inprov].sum())),
        "tally_doses": int(round(agg["tally"][inprov].sum())),
        "tally_gap_net": int(round(agg["tally"][inprov].sum() - (
            agg["rec"] - agg.get("rec_x", 0.0) - agg["dup"] + agg.get("dup_x", 0.0))[inprov].sum())),
        "worklist_merge_lines": int((items.subjects["role"] == "merge").sum()) if len(items.subjects) else 0,
        "worklist_dose_lines": int(len(items.doses)),
        "worklist_unlinked_lines": int(len(items.unlinked)),
        "worklist_doses_to_enter": int(items.tally["gap"].sum()) if len(items.tally) else 0,
        "worklist_doses_over_tally": int(-cells.loc[cells["gap"] < 0, "gap"].sum()),
    }


def find_items(con: duckdb.DuckDBPyConnection, province: str, period_start, period_end,
               link_threshold: float | None = None, extract_date: str | date | None = None) -> Items:
    """All five lists of a province and period from the run's database (``extract_date``: the
    run's, as metrics.json records it; rows entered after it do not exist for the run)."""
    inp = load_inputs(con, province, period_start, period_end, link_threshold=link_threshold,
                      extract_date=extract_date)
    det = _details(con, inp)
    sites = _sites(con)
    det = det.merge(sites, on="site_id", how="left")
    subjects = subject_lines(inp, det)
    doses = dose_lines(inp, det)
    tally = tally_lines(inp, doses).merge(sites, on="site_id", how="left")
    items = Items(inp.province, inp.period_start, inp.period_end, subjects, doses, identity_lines(det),
                  unlinked_lines(inp, det), tally, notes=list(inp.notes))
    items.counts = reconcile(inp, items)
    return items
