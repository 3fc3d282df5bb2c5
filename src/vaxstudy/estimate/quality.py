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

The per-row checks are SQL over every row at the province's sites, with its
standardised and link columns, on the backend's engine like the queries of
:mod:`vaxstudy.estimate.data`; only counts per site (site-day, site-dose, site-lag) come
back (:mod:`vaxstudy.estimate.audit_sql`), and the tables, medians and outlier days are
made from them in pandas.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from vaxstudy.estimate import audit_sql
from vaxstudy.estimate.audit_checks import consistency, tidy, timeliness
from vaxstudy.estimate.audit_sql import DATE_CHECKS, ROW_CHECKS
from vaxstudy.estimate.data import Inputs

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


def dose2_need(v: pd.Series) -> np.ndarray:
    """Days from a dose 1 of each vaccine before a dose 2 is not too soon (the minimum
    interval less the grace)."""
    return min_interval(v) - GRACE_DAYS


def audit(con: duckdb.DuckDBPyConnection, inp: Inputs, backend=None) -> dict[str, pd.DataFrame]:
    """All audit tables: completeness, validity, consistency, timeliness, worst sites.

    ``backend`` (DuckDB when None) runs the queries; only counts per site (site-day,
    site-dose, site-lag) come back (:mod:`vaxstudy.estimate.audit_sql`)."""
    return audit_tables(audit_counts(con, inp, backend), inp)


def audit_counts(con: duckdb.DuckDBPyConnection, scope, backend=None) -> dict:
    """The audit's queries (:mod:`vaxstudy.estimate.audit_sql`): counts per site, per site and
    day, dose and lag, and each site's share of identifying fields left empty. ``scope``: the
    :class:`Inputs`, or anything with the same ``sites``, ``period_start``, ``period_end`` and
    ``extract_date`` (the estimate starts them before the rows are read)."""
    counts, fields = audit_sql.site_counts(con, scope, dose2_need, COMPLETENESS_FIELDS, backend)
    long = audit_sql.long_counts(con, scope, backend)
    ident = [c for c in IDENTIFYING_FIELDS if c in fields]
    return {"counts": counts, "fields": fields, "long": long,
            "ident_empty": audit_sql.identifying_empty(con, scope, ident, backend)}


def audit_tables(got: dict, inp: Inputs) -> dict[str, pd.DataFrame]:
    """The audit tables from :func:`audit_counts`' counts and the inputs (the tallies)."""
    counts, fields, long = got["counts"], got["fields"], got["long"]
    per = counts[counts["n_per"].to_numpy() > 0].reset_index(drop=True)  # sites with rows in the period
    completeness = tidy(per, "completeness", {f"empty:{c}": (f"empty_{c}", "n_per") for c in fields})
    validity = pd.concat(
        [
            tidy(per, "validity", {c: (f"{c}_n", f"{c}_d") for c in ROW_CHECKS}),
            tidy(counts, "validity", {c: (f"{c}_n", f"{c}_d") for c in DATE_CHECKS}),
        ],
        ignore_index=True,
    )
    cons, outlier_days = consistency(long["dose"], long["day"], inp)
    time_tab, lag_dist = timeliness(per, long["lag"], inp)
    tables = {
        "completeness": completeness,
        "validity": validity,
        "consistency": cons,
        "timeliness": time_tab,
        "outlier_site_days": outlier_days,
        "entry_lag_distribution": lag_dist,
    }
    # per-site indicators for the ranking: rows failing any row check; identifying fields empty
    n_per = pd.Series(per["n_per"].to_numpy(dtype=float), index=per["site_id"].to_numpy())
    tables["worst_sites"] = worst_sites(
        inp,
        sites_n=per.set_index("site_id")["n_per"],
        invalid=pd.Series(per["any_invalid"].to_numpy(dtype=float), index=n_per.index) / n_per,
        ident_empty=got["ident_empty"],
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
    from vaxstudy.estimate.figures import rnd

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
