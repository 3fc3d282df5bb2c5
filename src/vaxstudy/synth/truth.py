"""True values of the figures of CONTRACT §3, computed from the files of a synthetic data folder.

Reads ``population``, ``vaccinations``, ``sites``, ``tallies``, ``truth`` and
the hidden ``truth_doses.parquet`` (every true dose event given, entered or
not). Interpretations (the contract's wording, made exact):

* Scope: records with vaccination_date in [period_start, period_end]; file
  order is record order.
* n_persons_est: distinct true persons (``true_person_key``) among those rows.
* duplicate_subject_rate: (n_subjects − distinct true persons among the
  subjects) / n_subjects.
* duplicate_dose_rate: rows whose (true person, dose_number) already appeared
  in an earlier row *in scope*, / n_records.
* unlinked_record_rate: rows whose true_person_id is empty, or names a register entry
  without a date of birth (ingest quarantines it: the register as loaded lacks the
  person, docs/linkage.md), / n_records.
* missing_entry_rate: 1 − distinct (true person, dose_number) among rows in
  scope / sum of tallies (as written) with vaccination_date in the period, over
  all sites of the province.
* extract_date: the export's day (default: its latest entered_date). Rows
  entered after it are left out, rows with an empty entered_date kept (as the
  estimate does: their day is unknown).
* late_entry_rate: true dose events of the period at the province's sites that
  will be entered (not ``never_entered``) but have no row in the export on
  extract_date, / the same tally sum; never_entered_rate = missing_entry_rate −
  late_entry_rate (so tally errors fall in it, as in the estimate).
* coverage_dose1/2: register residents of the province aged ≥ 18 at period_end
  with ≥ 1 true dose / a true dose numbered ≥ 2 given on or before period_end
  (from truth_doses, never-entered doses included), over all such residents.
* coverage_dose1/2_recorded: the same counting only doses present in the export
  (any row with vaccination_date ≤ period_end linked to the resident by truth;
  "≥ 2 doses" = a row with dose_number ≥ 2).
* by_district: coverage by residence district in the register; record and
  tally figures by the district of the row's site (duplicate flags are decided
  over the whole scope, then counted where the repeating row's site is).
* by_sex, by_age_group: coverage figures only. Rates with an empty
  denominator are null.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

AGE_GROUPS = [("18-29", 18, 29), ("30-49", 30, 49), ("50-64", 50, 64), ("65+", 65, 200)]
COVERAGE_KEYS = ("coverage_dose1", "coverage_dose2", "coverage_dose1_recorded", "coverage_dose2_recorded")


def read_table(data_dir: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """A table of the data folder as text columns ('' for empty), from .parquet or .csv."""
    data_dir = Path(data_dir)
    pq = data_dir / f"{name}.parquet"
    if pq.exists():
        df = pd.read_parquet(pq, columns=columns)
        for c in df.columns:
            if not pd.api.types.is_string_dtype(df[c]):
                df[c] = df[c].astype(str).where(df[c].notna(), "")
        return df
    return pd.read_csv(data_dir / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8", usecols=columns)


def _member(values, pool) -> np.ndarray:
    """values.isin(pool) for text columns, hashed by Arrow (fast for millions of strings)."""
    v = pa.array(pd.Series(values, dtype="str").array)
    p = pa.array(pd.Series(pool, dtype="str").drop_duplicates().array)
    return pc.is_in(v, value_set=p).to_numpy(zero_copy_only=False)


def _rate(num, den):
    return None if den == 0 else float(num) / float(den)


def age_at(dob: pd.Series, on: date) -> np.ndarray:
    d = pd.to_datetime(dob)
    before = (d.dt.month > on.month) | ((d.dt.month == on.month) & (d.dt.day > on.day))
    return (on.year - d.dt.year - before.astype(int)).to_numpy()


def _record_figures(rec: pd.DataFrame, tally_sum: float, n_late: int = 0) -> dict:
    n_records = len(rec)
    n_subjects = rec["subject_id"].nunique()
    n_persons = rec["true_person_key"].nunique()
    subj_persons = rec.drop_duplicates("subject_id")["true_person_key"].nunique()
    events = rec.drop_duplicates(["true_person_key", "dose_number"]).shape[0]
    return {
        "n_records": int(n_records),
        "n_subjects": int(n_subjects),
        "n_persons_est": int(n_persons),
        "duplicate_subject_rate": _rate(n_subjects - subj_persons, n_subjects),
        "duplicate_dose_rate": _rate(int(rec["dup_dose"].sum()), n_records),
        "unlinked_record_rate": _rate(int((rec["true_person_id"] == "").sum()), n_records),
        "missing_entry_rate": None if tally_sum == 0 else 1.0 - events / tally_sum,
        "late_entry_rate": None if tally_sum == 0 else n_late / tally_sum,
        "never_entered_rate": None if tally_sum == 0 else 1.0 - (events + n_late) / tally_sum,
    }


def _coverage(res: pd.DataFrame) -> dict:
    n = len(res)
    return {k: _rate(int(res[k].sum()), n) for k in COVERAGE_KEYS}


def truth_summary(data_dir, province: str, period_start, period_end, extract_date=None) -> dict:
    """True value of every figure of CONTRACT §3 (no ``_ci``) for the province and period,
    in the export as it stood on ``extract_date`` (default: its latest entered_date)."""
    data_dir = Path(data_dir)
    province = str(province).zfill(2)
    start = pd.Timestamp(period_start).date()
    end = pd.Timestamp(period_end).date()
    s_iso, e_iso = start.isoformat(), end.isoformat()

    pop = read_table(data_dir, "population", ["person_id", "date_of_birth", "sex", "province_code", "district_code"])
    vac = read_table(data_dir, "vaccinations",
                     ["record_id", "subject_id", "vaccination_date", "dose_number", "site_id", "entered_date"])
    sites = read_table(data_dir, "sites")
    tallies = read_table(data_dir, "tallies")
    truth = read_table(data_dir, "truth")
    doses = pd.read_parquet(data_dir / "truth_doses.parquet", columns=[
        "event_id", "true_person_id", "dose_number", "vaccination_date", "site_id", "never_entered"])
    doses["vaccination_date"] = doses["vaccination_date"].astype(str)
    rec_event = pd.read_parquet(data_dir / "truth_records.parquet", columns=["record_id", "event_id"])

    site_district = dict(zip(sites["site_id"], sites["district_code"]))
    prov_sites = set(sites.loc[sites["province_code"] == province, "site_id"])

    vac = vac[["record_id", "subject_id", "vaccination_date", "dose_number", "site_id", "entered_date"]].copy()
    vac["_pos"] = np.arange(len(vac))
    entered = vac["entered_date"].astype(str).str[:10]
    x_iso = (pd.Timestamp(extract_date).date().isoformat() if extract_date is not None
             else (entered[entered != ""].max() if (entered != "").any() else None))
    if x_iso is not None:
        vac = vac[(entered == "") | (entered <= x_iso)]
    vac = vac.merge(truth[["record_id", "true_person_id", "true_person_key"]], on="record_id", how="left")
    vac["dose_number"] = vac["dose_number"].astype(int)
    vac["vaccination_date"] = vac["vaccination_date"].astype(str).str[:10]
    rec = vac[(vac["vaccination_date"] >= s_iso) & (vac["vaccination_date"] <= e_iso)
              & _member(vac["site_id"], list(prov_sites))].sort_values("_pos")
    # a register entry without a date of birth is quarantined: its rows are not found (their
    # person stays in true_person_id of truth.csv, where evaluate scores the link made apart)
    no_dob = pop.loc[pop["date_of_birth"].fillna("").astype(str).str.strip() == "", "person_id"]
    if len(no_dob):
        rec = rec.assign(true_person_id=rec["true_person_id"].mask(_member(rec["true_person_id"], no_dob), ""))
    rec = rec.assign(dup_dose=rec.duplicated(["true_person_key", "dose_number"], keep="first"),
                     site_district=rec["site_id"].map(site_district))

    tallies = tallies.assign(vaccination_date=tallies["vaccination_date"].astype(str).str[:10],
                             doses_administered=tallies["doses_administered"].astype(int))
    tal = tallies[(tallies["vaccination_date"] >= s_iso) & (tallies["vaccination_date"] <= e_iso)
                  & _member(tallies["site_id"], list(prov_sites))]
    tal = tal.assign(site_district=tal["site_id"].map(site_district))

    # events of the period that will be entered but have no row in the export yet
    present = _member(doses["event_id"].astype(str), rec_event.loc[
        _member(rec_event["record_id"].astype(str), vac["record_id"]), "event_id"].astype(str))
    late = doses[(doses["vaccination_date"] >= s_iso) & (doses["vaccination_date"] <= e_iso)
                 & _member(doses["site_id"], list(prov_sites)) & ~doses["never_entered"].astype(bool) & ~present]
    late_district = late["site_id"].map(site_district)

    # residents aged >= 18 at period_end, with their true and recorded doses
    res = pop[pop["province_code"].astype(str).str.zfill(2) == province].copy()
    res["age"] = age_at(res["date_of_birth"].astype(str).str[:10], end)
    res = res[res["age"] >= 18]
    given = doses[(doses["vaccination_date"] <= e_iso) & (doses["true_person_id"] != "")]
    held = vac[(vac["vaccination_date"] <= e_iso) & (vac["true_person_id"] != "")]
    res["coverage_dose1"] = _member(res["person_id"], given["true_person_id"])
    res["coverage_dose2"] = _member(res["person_id"], given.loc[given["dose_number"] >= 2, "true_person_id"])
    res["coverage_dose1_recorded"] = _member(res["person_id"], held["true_person_id"])
    res["coverage_dose2_recorded"] = _member(res["person_id"], held.loc[held["dose_number"] >= 2, "true_person_id"])

    out: dict = {"province_code": province, "period_start": s_iso, "period_end": e_iso, "extract_date": x_iso}
    out.update(_record_figures(rec, float(tal["doses_administered"].sum()), len(late)))
    out.update(_coverage(res))

    by_district = {}
    districts = sorted(set(pd.unique(res["district_code"])) | set(pd.unique(rec["site_district"].dropna()))
                       | set(pd.unique(tal["site_district"].dropna())))
    for d in districts:
        fig = _record_figures(rec[rec["site_district"] == d],
                              float(tal.loc[tal["site_district"] == d, "doses_administered"].sum()),
                              int((late_district == d).sum()))
        fig.update(_coverage(res[res["district_code"] == d]))
        by_district[d] = fig
    out["by_district"] = by_district
    out["by_sex"] = {s: _coverage(res[res["sex"] == s]) for s in ("M", "F")}
    out["by_age_group"] = {g: _coverage(res[(res["age"] >= lo) & (res["age"] <= hi)]) for g, lo, hi in AGE_GROUPS}
    return out
