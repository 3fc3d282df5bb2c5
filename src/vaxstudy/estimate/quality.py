"""Data-quality audit of the registry, in the style of the WHO immunization DQR.

Every check returns a *tidy* table, one row per unit and check::

    domain, check, unit_type ('province' | 'district' | 'site'), unit_id,
    district_code, numerator, denominator, value

``value`` is numerator / denominator for shares (NULL when the denominator is
0), or the statistic itself (days, a ratio) where numerator/denominator are
NULL. Units are the province's vaccination sites and their districts (the
site's district), rows with vaccination_date in the period, unless a check
says otherwise.

Domains and checks:

* completeness — ``empty:<field>``: share of rows where the field is empty.
* validity — ``id_invalid`` (typed ID is neither a 12-digit CCCD nor a 9-digit
  CMND, among typed IDs), ``id_inconsistent`` (CCCD sex/century or birth-year
  digits disagree with sex / birth year, among checkable IDs),
  ``phone_invalid``, ``commune_invalid``, ``vaccinated_before_birth``,
  ``age_outside_target`` (age at vaccination < 18 or > 110),
  ``dose_number_invalid`` (not 1-4), ``dose2_too_soon`` (dose 2 earlier than
  the vaccine's minimum interval after the person's dose 1, 4-day grace, among
  dose-2 rows whose dose 1 is known), ``dose2_without_dose1`` (among dose-2
  rows; the person is ``person_key`` from the linkage), and the date checks over
  *every* row of the province's sites whatever its date: ``before_campaign``,
  ``after_period``, ``vaccinated_after_entry`` (vaccination_date later than
  the day the row was typed in: a date in the future).
* consistency — ``dropout_registry`` / ``dropout_tally`` ((dose 1 − dose 2)
  / dose 1, by district and province), ``verification_factor`` (distinct
  entered dose events / tallied doses, by site, district, province; 1 is
  perfect, below 1 doses missing from the registry), ``outlier_days``
  (share of a site's active days whose entries or tally are outliers against
  the site's own history: modified z-score |x − median| / max(MAD / 0.6745,
  sqrt(median)) > 3.5,
  over the site's days with at least one dose, sites with >= 5 such days).
  The flagged site-days themselves are in the ``outlier_site_days`` table.
* timeliness — ``entered_within_1d`` / ``_7d`` / ``_30d`` (lag =
  entered_date − vaccination_date, among rows with an entered_date),
  ``entered_date_missing``, ``entry_lag_median_days``, ``entry_lag_p90_days``;
  the whole lag distribution is in ``entry_lag_distribution``.

``worst_sites`` (every site, ranked; the first 10 also in metrics.json) ranks sites by the mean percentile (among sites) of five
indicators — |1 − verification factor|, share of rows failing any validity
check, share of identifying fields empty, share not entered within 7 days,
share of outlier days — and names each site's worst indicator.

The record-level query (every row at the province's sites, with its
standardised and link columns) runs on the backend's engine like those of
:mod:`vaxstudy.estimate.data`; the checks then run in pandas over that slice.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from vaxstudy.config import CAMPAIGN_START
from vaxstudy.estimate.audit_checks import consistency, tidy, timeliness
from vaxstudy.estimate.data import Inputs, columns_of, entered_by_sql, fetch, table_exists

COMPLETENESS_FIELDS = (
    "full_name",
    "date_of_birth",
    "sex",
    "id_number",
    "phone",
    "province_code",
    "district_code",
    "commune_code",
    "vaccine",
    "entered_date",
)
IDENTIFYING_FIELDS = ("full_name", "date_of_birth", "sex", "id_number", "phone", "commune_code")
# Minimum days between dose 1 and dose 2 (manufacturer schedules used in Viet Nam, 2021).
MIN_INTERVAL_DAYS = {
    "astrazeneca": 28,
    "pfizer": 21,
    "moderna": 28,
    "sinopharm": 21,
    "sputnik": 21,
    "abdala": 14,
    "hayat": 21,
}
VACCINE_PATTERNS = (
    ("astrazeneca", ("astra", "azd", "covishield", "vaxzevria", "az")),
    ("pfizer", ("pfizer", "comirnaty", "biontech")),
    ("moderna", ("moderna", "spikevax")),
    ("sinopharm", ("sinopharm", "vero", "bbibp")),
    ("sputnik", ("sputnik", "gam-covid")),
    ("abdala", ("abdala",)),
    ("hayat", ("hayat",)),
)
DEFAULT_MIN_INTERVAL = 21
GRACE_DAYS = 4
WORST_SITES_IN_METRICS = 10


def vaccine_family(v: pd.Series) -> pd.Series:
    """The family of each vaccine name (None where no pattern matches); the patterns are
    tried on the distinct names only (a registry types a handful, on millions of rows)."""
    s = v.fillna("").astype(str).str.lower()
    names = pd.Series(s.unique())
    fams = pd.Series(np.full(len(names), None, dtype=object))
    for fam, pats in VACCINE_PATTERNS:
        hit = fams.isna() & names.str.contains("|".join(pats), regex=True)
        fams[hit] = fam
    out = pd.Series(pd.Series(fams.to_numpy(), index=names.to_numpy()).reindex(s.to_numpy()).to_numpy(),
                    index=s.index, dtype=object)
    return out.where(out.notna(), None)


def min_interval(v: pd.Series) -> np.ndarray:
    fam = vaccine_family(v)
    return fam.map(MIN_INTERVAL_DAYS).fillna(DEFAULT_MIN_INTERVAL).to_numpy(dtype=float)


# -- helpers ---------------------------------------------------------------------------
def _audit_rows(con: duckdb.DuckDBPyConnection, inp: Inputs, backend=None) -> pd.DataFrame:
    """Every row at the province's sites, any date, with std and link columns."""
    sites = inp.sites[inp.sites["in_province"]][["site_id", "district_code"]]
    std = table_exists(con, "vaccinations_std")
    scols = set(columns_of(con, "vaccinations_std")) if std else set()

    def s(c, typ="VARCHAR"):
        return f"CAST(s.{c} AS {typ})" if c in scols else f"NULL::{typ}"

    empties = ",\n".join(
        f"(v.{c} IS NULL OR trim(CAST(v.{c} AS VARCHAR)) = '') AS empty_{c}"
        for c in COMPLETENESS_FIELDS
        if c in set(columns_of(con, "vaccinations"))
    )
    join_std = "LEFT JOIN vaccinations_std s ON CAST(s.unique_id AS VARCHAR) = CAST(v.record_id AS VARCHAR)" if std and "unique_id" in scols else (
        "LEFT JOIN vaccinations_std s ON CAST(s.record_id AS VARCHAR) = CAST(v.record_id AS VARCHAR)" if std else ""
    )
    links = table_exists(con, "record_links")
    df = fetch(
        con,
        f"""
        SELECT CAST(v.record_id AS VARCHAR) record_id, st.site_id, st.district_code,
               CAST(v._row AS BIGINT) AS "row", CAST(v.vaccination_date AS DATE) vdate,
               CAST(v.entered_date AS DATE) entered_date, CAST(v.dose_number AS INTEGER) dose,
               CAST(v.vaccine AS VARCHAR) vaccine,
               {('CAST(l.person_key AS VARCHAR)' if links else 'NULL::VARCHAR')} person_key,
               {('coalesce(CAST(l.is_duplicate_dose AS BOOLEAN), false)' if links else 'false')} is_dup,
               {s('id_type')} id_type, {s('id_consistent', 'BOOLEAN')} id_consistent,
               {s('phone_valid', 'BOOLEAN')} phone_valid, {s('commune_valid', 'BOOLEAN')} commune_valid,
               {s('commune_code')} std_commune, {s('dob', 'DATE')} dob, {s('birth_year', 'INTEGER')} birth_year,
               {empties}
        FROM vaccinations v
        JOIN _dq_sites st ON st.site_id = CAST(v.site_id AS VARCHAR)
        {join_std}
        {('LEFT JOIN record_links l ON CAST(l.record_id AS VARCHAR) = CAST(v.record_id AS VARCHAR)' if links else '')}
        WHERE {entered_by_sql("v", inp.extract_date)}
        ORDER BY "row", record_id
        """,
        backend,
        frames={"_dq_sites": sites},
    )
    df["site_id"] = df["site_id"].astype("category")
    df["district_code"] = df["district_code"].astype(object)
    df["vdate"] = pd.to_datetime(df["vdate"])
    df["entered_date"] = pd.to_datetime(df["entered_date"])
    df["dob"] = pd.to_datetime(df["dob"])
    df["person_key"] = df["person_key"].fillna("r:" + df["record_id"])
    start, end = np.datetime64(inp.period_start), np.datetime64(inp.period_end)
    df["in_period"] = (df["vdate"] >= start) & (df["vdate"] <= end)
    return df


def _as_float(x: pd.Series) -> np.ndarray:
    """Nullable booleans / numbers as floats with NaN for missing."""
    return pd.to_numeric(x.astype(object).where(x.notna(), np.nan), errors="coerce").to_numpy(dtype=float)


def _nullable(cond: np.ndarray, applicable: np.ndarray) -> pd.Series:
    return pd.Series(np.where(applicable, cond.astype(float), np.nan))


def validity_flags(df: pd.DataFrame, inp: Inputs) -> pd.DataFrame:
    """Boolean validity flags per row (NaN where the check does not apply)."""
    f = pd.DataFrame({"site_id": df["site_id"], "district_code": df["district_code"]})
    idt = df["id_type"]
    f["id_invalid"] = _nullable((idt.fillna("") == "invalid").to_numpy(), idt.notna().to_numpy()).to_numpy()
    for col, check in (("id_consistent", "id_inconsistent"), ("phone_valid", "phone_invalid"),
                       ("commune_valid", "commune_invalid")):
        a = _as_float(df[col])
        ok = ~np.isnan(a)
        if col == "commune_valid":
            ok &= df["std_commune"].notna().to_numpy()
        f[check] = _nullable(a == 0, ok).to_numpy()
    vd = df["vdate"]
    by = df["birth_year"].astype(float)
    known_dob = df["dob"].notna().to_numpy()
    known_year = by.notna().to_numpy()
    before_birth = np.where(known_dob, (vd < df["dob"]).to_numpy(), (vd.dt.year.to_numpy() < by.to_numpy()))
    f["vaccinated_before_birth"] = _nullable(before_birth, known_dob | known_year).to_numpy()
    age = np.where(
        known_dob,
        vd.dt.year.to_numpy()
        - df["dob"].dt.year.to_numpy()
        - ((vd.dt.month.to_numpy() * 100 + vd.dt.day.to_numpy()) < (df["dob"].dt.month.to_numpy() * 100 + df["dob"].dt.day.to_numpy())),
        vd.dt.year.to_numpy() - by.to_numpy(),
    )
    f["age_outside_target"] = _nullable((age < 18) | (age > 110), known_dob | known_year).to_numpy()
    dose = df["dose"].to_numpy()
    f["dose_number_invalid"] = ((dose < 1) | (dose > 4)).astype(float)
    # dose 2 against the person's (earliest, non-duplicate) dose 1
    d1 = df[(df["dose"] == 1)].sort_values(["vdate", "row"]).drop_duplicates("person_key")
    d1 = d1.set_index("person_key")
    is2 = dose == 2
    d1_date = d1["vdate"].reindex(df["person_key"]).to_numpy()
    d1_vax = d1["vaccine"].reindex(df["person_key"])
    has1 = ~pd.isna(d1_date)
    gap = (df["vdate"].to_numpy() - d1_date) / np.timedelta64(1, "D")
    need = min_interval(d1_vax.reset_index(drop=True)) - GRACE_DAYS
    f["dose2_too_soon"] = _nullable(np.nan_to_num(gap, nan=1e9) < need, is2 & has1).to_numpy()
    f["dose2_without_dose1"] = _nullable(~has1, is2).to_numpy()
    f["in_period"] = df["in_period"].to_numpy()
    # date checks over every row, whatever its date
    f["before_campaign"] = (vd < np.datetime64(CAMPAIGN_START)).to_numpy().astype(float)
    f["after_period"] = (vd > np.datetime64(inp.period_end)).to_numpy().astype(float)
    ent = df["entered_date"]
    f["vaccinated_after_entry"] = _nullable((vd > ent).to_numpy(), ent.notna().to_numpy()).to_numpy()
    return f


ROW_CHECKS = (
    "id_invalid",
    "id_inconsistent",
    "phone_invalid",
    "commune_invalid",
    "vaccinated_before_birth",
    "age_outside_target",
    "dose_number_invalid",
    "dose2_too_soon",
    "dose2_without_dose1",
)
DATE_CHECKS = ("before_campaign", "after_period", "vaccinated_after_entry")


def audit(con: duckdb.DuckDBPyConnection, inp: Inputs, backend=None) -> dict[str, pd.DataFrame]:
    """All audit tables: completeness, validity, consistency, timeliness, worst sites.

    ``backend`` (DuckDB when None) runs the record-level query."""
    df = _audit_rows(con, inp, backend)
    per = df[df["in_period"].to_numpy()].reset_index(drop=True)
    comp_cols = [c for c in df.columns if c.startswith("empty_")]
    completeness = tidy(per, "completeness", {f"empty:{c[6:]}": c for c in comp_cols})
    flags = validity_flags(df, inp)
    fl_per = flags[flags["in_period"].to_numpy()].reset_index(drop=True)
    validity = pd.concat(
        [
            tidy(fl_per, "validity", {c: c for c in ROW_CHECKS}),
            tidy(flags, "validity", {c: c for c in DATE_CHECKS}),
        ],
        ignore_index=True,
    )
    cons, outlier_days = consistency(df, inp)
    time_tab, lag_dist = timeliness(df)
    tables = {
        "completeness": completeness,
        "validity": validity,
        "consistency": cons,
        "timeliness": time_tab,
        "outlier_site_days": outlier_days,
        "entry_lag_distribution": lag_dist,
    }
    # per-site indicators for the ranking
    anyfail = fl_per[list(ROW_CHECKS)].fillna(0).max(axis=1)
    fl_per = fl_per.assign(any_invalid=anyfail)
    per_ident = per[[f"empty_{c}" for c in IDENTIFYING_FIELDS if f"empty_{c}" in per]].astype(float).mean(axis=1)
    tables["worst_sites"] = worst_sites(
        inp,
        sites_n=per.groupby("site_id").size(),
        invalid=fl_per.groupby("site_id")["any_invalid"].mean(),
        ident_empty=per_ident.groupby(per["site_id"]).mean(),
        cons=cons,
        time_tab=time_tab,
    )
    for k, t in tables.items():
        tables[k] = t.reset_index(drop=True)
    for k in ("completeness", "validity", "consistency", "timeliness"):
        tables[k] = tables[k].sort_values(
            ["domain", "check", "unit_type", "unit_id"], na_position="first", ignore_index=True
        )
    return tables


def _pct_rank(x: pd.Series) -> pd.Series:
    return x.rank(method="average", pct=True).fillna(0.0)


def worst_sites(inp, sites_n, invalid, ident_empty, cons, time_tab) -> pd.DataFrame:
    """Every site with records in the period, ranked (rank 1 = visit first)."""
    sites = inp.sites[inp.sites["in_province"]][["site_id", "district_code"]].set_index("site_id")

    def site_vals(tab, check):
        t = tab[(tab["check"] == check) & (tab["unit_type"] == "site")].set_index("unit_id")["value"]
        return t.reindex(sites.index)

    ind = pd.DataFrame(index=sites.index)
    ind["district_code"] = sites["district_code"]
    ind["n_records"] = sites_n.reindex(sites.index).fillna(0).astype(np.int64)
    ind["vf_gap"] = (1 - site_vals(cons, "verification_factor")).abs()
    ind["invalid_share"] = invalid.reindex(sites.index)
    ind["identifiers_empty_share"] = ident_empty.reindex(sites.index)
    ind["late_share"] = 1 - site_vals(time_tab, "entered_within_7d")
    ind["outlier_day_share"] = site_vals(cons, "outlier_days")
    cols = ["vf_gap", "invalid_share", "identifiers_empty_share", "late_share", "outlier_day_share"]
    ranks = pd.DataFrame({c: _pct_rank(ind[c]) for c in cols})
    ind["score"] = ranks.mean(axis=1).round(6)
    ind["worst_indicator"] = ranks.idxmax(axis=1)
    ind = ind[ind["n_records"] > 0].reset_index().sort_values(["score", "site_id"], ascending=[False, True])
    ind["rank"] = np.arange(1, len(ind) + 1)
    for c in cols:
        ind[c] = ind[c].astype(float).round(6)
    return ind.reset_index(drop=True)


def summary(tables: dict[str, pd.DataFrame], inp: Inputs) -> dict:
    """Province-level values of every check, and the worst sites, for metrics.json."""
    from vaxstudy.estimate.metrics import rnd

    out: dict = {}
    for k in ("completeness", "validity", "consistency", "timeliness"):
        t = tables[k]
        t = t[t["unit_type"] == "province"]
        out[k] = {str(r.check): rnd(r.value) for r in t.itertuples()}
    ws = tables["worst_sites"].head(WORST_SITES_IN_METRICS)
    out["worst_sites"] = [
        {
            "site_id": str(r.site_id),
            "district_code": str(r.district_code),
            "score": rnd(r.score),
            "worst_indicator": str(r.worst_indicator),
            "n_records": int(r.n_records),
        }
        for r in ws.itertuples()
    ]
    out["n_outlier_site_days"] = int(len(tables["outlier_site_days"]))
    out["tables"] = sorted(f"data_quality/{k}.parquet" for k in tables)
    return out


def write_tables(tables: dict[str, pd.DataFrame], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for k, t in tables.items():
        t.to_parquet(out / f"{k}.parquet", index=False)
        t.to_csv(out / f"{k}.csv", index=False)
