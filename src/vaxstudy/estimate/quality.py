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
TIDY_COLUMNS = [
    "domain",
    "check",
    "unit_type",
    "unit_id",
    "district_code",
    "numerator",
    "denominator",
    "value",
]
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
OUTLIER_Z = 3.5
WORST_SITES_IN_METRICS = 10


def vaccine_family(v: pd.Series) -> pd.Series:
    s = v.fillna("").astype(str).str.lower()
    out = pd.Series(np.full(len(s), None, dtype=object), index=s.index)
    for fam, pats in VACCINE_PATTERNS:
        hit = out.isna() & s.str.contains("|".join(pats), regex=True)
        out[hit] = fam
    return out


def min_interval(v: pd.Series) -> np.ndarray:
    fam = vaccine_family(v)
    return fam.map(MIN_INTERVAL_DAYS).fillna(DEFAULT_MIN_INTERVAL).to_numpy(dtype=float)


# -- helpers ---------------------------------------------------------------------------
def tidy(frame: pd.DataFrame, domain: str, checks: dict[str, str | tuple[str, str]]) -> pd.DataFrame:
    """Share tables by site, district and province.

    frame: one row per unit of analysis with site_id and district_code; checks
    maps a check name to a boolean column (NaN = not applicable, left out of the
    denominator), or to a (numerator, denominator) pair of count columns.
    """
    cols: dict[str, np.ndarray] = {}
    names = list(checks)
    for n, (check, spec) in enumerate(checks.items()):
        if isinstance(spec, tuple):
            cols[f"n{n}"] = frame[spec[0]].to_numpy(dtype=float)
            cols[f"d{n}"] = frame[spec[1]].to_numpy(dtype=float)
        else:
            col = frame[spec]
            if col.dtype.kind in "fbiu":
                x = col.to_numpy(dtype=float)
            else:
                x = pd.to_numeric(col.astype(object).where(col.notna(), np.nan), errors="coerce")
                x = x.to_numpy(dtype=float)
            ok = ~np.isnan(x)
            cols[f"n{n}"] = np.where(ok, x, 0.0)
            cols[f"d{n}"] = ok.astype(float)
    f = pd.DataFrame(cols)
    # group on integer codes of the site (its district follows), then name them
    site_codes, site_names = pd.factorize(frame["site_id"], sort=True)
    dist_of_site = (
        pd.Series(frame["district_code"].astype(object).to_numpy()).groupby(site_codes).first()
        if len(frame) else pd.Series(dtype=object)
    )
    f["_s"] = site_codes
    by_site = f.groupby("_s", sort=True).sum()
    by_site.insert(0, "district_code", dist_of_site.reindex(by_site.index).to_numpy())
    by_site.insert(0, "site_id", np.asarray(site_names).astype(object)[by_site.index.to_numpy()])
    by_site = by_site.reset_index(drop=True)
    by_d = by_site.drop(columns="site_id").groupby("district_code", sort=True).sum().reset_index()
    prov = by_site.drop(columns=["site_id", "district_code"]).sum().to_frame().T
    levels = [
        by_site.assign(unit_type="site", unit_id=by_site["site_id"]),
        by_d.assign(unit_type="district", unit_id=by_d["district_code"]),
        prov.assign(unit_type="province", unit_id=None, district_code=None),
    ]
    out = []
    for n, check in enumerate(names):
        for lv in levels:
            out.append(pd.DataFrame({
                "check": check, "unit_type": lv["unit_type"].to_numpy(), "unit_id": lv["unit_id"].to_numpy(),
                "district_code": lv["district_code"].to_numpy(),
                "numerator": lv[f"n{n}"].to_numpy(dtype=float), "denominator": lv[f"d{n}"].to_numpy(dtype=float),
            }))
    res = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=TIDY_COLUMNS)
    res["domain"] = domain
    with np.errstate(divide="ignore", invalid="ignore"):
        res["value"] = np.where(res["denominator"] > 0, res["numerator"] / np.where(res["denominator"] > 0, res["denominator"], 1), np.nan)
    return res[TIDY_COLUMNS]


def _stat_rows(domain, check, unit_type, keys, values: pd.Series) -> pd.DataFrame:
    df = values.reset_index() if keys else pd.DataFrame({"value": values.to_numpy()})
    df.columns = [*keys, "value"]
    df["domain"], df["check"], df["unit_type"] = domain, check, unit_type
    df["unit_id"] = df[keys[0]] if keys else None
    if "district_code" not in df:
        df["district_code"] = None
    df["numerator"] = np.nan
    df["denominator"] = np.nan
    return df[TIDY_COLUMNS]


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


MIN_HISTORY_DAYS = 5


def _robust_z(x: pd.Series, keys: pd.Series) -> np.ndarray:
    """Modified z-score of each day against the site's own active days (x > 0).

    Days with x == 0 are not part of the history and get z = 0; so do sites
    with fewer than MIN_HISTORY_DAYS active days. When the median absolute
    deviation is 0, the mean absolute deviation (x 1.2533) stands in for it;
    the spread is never taken below the Poisson one, sqrt(max(median, 1)).
    """
    active = x > 0
    z = np.zeros(len(x))
    if not active.any():
        return z
    xa, ka = x[active], keys[active]
    z[active.to_numpy()] = _robust_z_all(xa, ka)
    n = ka.groupby(ka).transform("size").to_numpy()
    za = z[active.to_numpy()]
    za[n < MIN_HISTORY_DAYS] = 0.0
    z[active.to_numpy()] = za
    return z


def _robust_z_all(x: pd.Series, keys: pd.Series) -> np.ndarray:
    med = x.groupby(keys).transform("median")
    mad = (x - med).abs().groupby(keys).transform("median")
    meanad = (x - x.groupby(keys).transform("mean")).abs().groupby(keys).transform("mean")
    robust_sd = np.where(mad > 0, mad / 0.6745, 1.253314 * meanad)
    # counts: never a spread below the Poisson one (sqrt of the median, at least 1),
    # so a site with 1-2 doses a day is not flagged for a day of 3
    sd = np.maximum(robust_sd, np.sqrt(np.maximum(med.to_numpy(dtype=float), 1.0)))
    return ((x - med) / sd).to_numpy(dtype=float)


def consistency(df: pd.DataFrame, inp: Inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    per = df[df["in_period"].to_numpy()]
    ent = per[~per["is_dup"].to_numpy()]
    sites = inp.sites[inp.sites["in_province"]][["site_id", "district_code"]].reset_index(drop=True)
    t = inp.tallies[inp.tallies["in_scope"].to_numpy()].copy()
    t["site_id"] = inp.sites["site_id"].to_numpy()[t["site"].to_numpy()]
    # per site: entered and tallied dose events by dose
    e_cnt = ent.groupby(["site_id", "dose"]).size().unstack(fill_value=0)
    t_cnt = t.groupby(["site_id", "dose"])["doses"].sum().unstack(fill_value=0)
    s = sites.copy()
    for name, tab in (("e", e_cnt), ("t", t_cnt)):
        for k in (1, 2):
            s[f"{name}{k}"] = tab[k].reindex(s["site_id"]).fillna(0).to_numpy() if k in tab else 0.0
        s[f"{name}_all"] = tab.sum(axis=1).reindex(s["site_id"]).fillna(0).to_numpy() if len(tab) else 0.0
    s["d_reg"] = s["e1"] - s["e2"]
    s["d_tal"] = s["t1"] - s["t2"]
    vf = tidy(s, "consistency", {"verification_factor": ("e_all", "t_all")})
    drop = tidy(s, "consistency", {"dropout_registry": ("d_reg", "e1"), "dropout_tally": ("d_tal", "t1")})
    drop = drop[drop["unit_type"] != "site"]
    # outlier site-days against the site's own history
    daily_e = ent.groupby(["site_id", "vdate"]).size().rename("entries")
    daily_t = t.groupby(["site_id", "vdate"])["doses"].sum().rename("tallies")
    daily = pd.concat([daily_e, daily_t], axis=1).fillna(0).reset_index()
    daily = daily[(daily["entries"] > 0) | (daily["tallies"] > 0)].sort_values(["site_id", "vdate"], ignore_index=True)
    flagged = []
    for series in ("entries", "tallies"):
        z = _robust_z(daily[series].astype(float), daily["site_id"])
        daily[f"z_{series}"] = z
        fl = daily[np.abs(z) > OUTLIER_Z]
        flagged.append(
            pd.DataFrame(
                {
                    "site_id": fl["site_id"],
                    "vaccination_date": fl["vdate"].dt.date,
                    "series": series,
                    "count": fl[series].astype(np.int64),
                    "site_median": daily[series].groupby(daily["site_id"]).transform("median")[fl.index],
                    "robust_z": np.round(fl[f"z_{series}"].astype(float), 3),
                }
            )
        )
    out_days = pd.concat(flagged, ignore_index=True)
    out_days = out_days.merge(sites, on="site_id", how="left").sort_values(
        ["site_id", "vaccination_date", "series"], ignore_index=True
    )
    daily["outlier"] = (np.abs(daily["z_entries"]) > OUTLIER_Z) | (np.abs(daily["z_tallies"]) > OUTLIER_Z)
    daily = daily.merge(sites, on="site_id", how="left")
    od = tidy(daily, "consistency", {"outlier_days": "outlier"})
    return pd.concat([vf, drop, od], ignore_index=True), out_days


LAG_BINS = [(-np.inf, -1, "negative"), (0, 0, "0"), (1, 1, "1"), (2, 7, "2-7"), (8, 14, "8-14"),
            (15, 30, "15-30"), (31, 60, "31-60"), (61, np.inf, ">60")]


def timeliness(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    per = df[df["in_period"].to_numpy()]
    lag = ((per["entered_date"] - per["vdate"]) / np.timedelta64(1, "D")).to_numpy()
    has = ~np.isnan(lag)
    f = pd.DataFrame({"site_id": per["site_id"].to_numpy(), "district_code": per["district_code"].to_numpy()})
    for d in (1, 7, 30):
        f[f"entered_within_{d}d"] = np.where(has, (np.nan_to_num(lag) <= d).astype(float), np.nan)
    f["entered_date_missing"] = (~has).astype(float)
    tab = tidy(f, "timeliness", {c: c for c in f.columns if c.startswith("entered_")})
    stats = []
    lagdf = f.assign(lag=lag)[has]
    for check, qv in (("entry_lag_median_days", 0.5), ("entry_lag_p90_days", 0.9)):
        stats.append(
            _stat_rows("timeliness", check, "site", ["site_id", "district_code"],
                       lagdf.groupby(["site_id", "district_code"])["lag"].quantile(qv))
        )
        stats.append(_stat_rows("timeliness", check, "district", ["district_code"],
                                lagdf.groupby("district_code")["lag"].quantile(qv)))
        stats.append(_stat_rows("timeliness", check, "province", [], pd.Series([lagdf["lag"].quantile(qv)] if len(lagdf) else [np.nan])))
    # distribution of the lag, province and district
    labels = np.full(len(lagdf), "", dtype=object)
    for lo, hi, lab in LAG_BINS:
        labels[(lagdf["lag"].to_numpy() >= lo) & (lagdf["lag"].to_numpy() <= hi)] = lab
    lagdf = lagdf.assign(lag_bin=labels)
    dist = []
    for unit_type, keys in (("province", []), ("district", ["district_code"])):
        g = lagdf.groupby([*keys, "lag_bin"]).size().rename("n").reset_index()
        tot = g.groupby(keys)["n"].transform("sum") if keys else g["n"].sum()
        g["share"] = g["n"] / tot
        g["unit_type"] = unit_type
        g["unit_id"] = g["district_code"] if keys else None
        dist.append(g)
    dist = pd.concat(dist, ignore_index=True)
    order = {lab: i for i, (_, _, lab) in enumerate(LAG_BINS)}
    dist["bin_order"] = dist["lag_bin"].map(order)
    dist = dist.sort_values(["unit_type", "unit_id", "bin_order"], na_position="first", ignore_index=True)
    return pd.concat([tab, *stats], ignore_index=True), dist[["unit_type", "unit_id", "lag_bin", "bin_order", "n", "share"]]


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
