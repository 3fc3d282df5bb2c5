"""The audit's per-row checks as SQL aggregates: only counts per site (and per site-day,
site-dose, site-lag) come back from the engine, never the rows.

Every check of :mod:`vaxstudy.estimate.quality` is a share of rows (a flag and whether it
applies), so per site it is two counts; districts and the province are sums of sites.
:func:`site_counts` gives, per province site with rows (entered by the extract date), for
each check ``<check>_n`` (rows failing it) and ``<check>_d`` (rows it applies to) over the
period's rows (the date checks over every row whatever its date), the empty-field counts,
the rows failing any row check and the entry-lag counts of timeliness;
:func:`identifying_empty` the share of identifying fields left empty. :func:`long_counts` gives the period's rows per site and entry lag,
and its non-duplicate rows per site and dose and per site and day (consistency). The
queries run on the backend's engine (DuckDB by default, or Spark) like those of
:mod:`vaxstudy.estimate.data`.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from vaxstudy.config import CAMPAIGN_START
from vaxstudy.estimate.data import Inputs, columns_of, entered_by_sql, fetch, table_exists
from vaxstudy.link.doses import links_join_on
from vaxstudy.sql import date_literal, literal

# the row checks (over the period's rows) and the date checks (over every row), in table order
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
LAG_DAYS = (1, 7, 30)


def _flag(cond: str, applies: str = "true") -> str:
    """A check as SQL: 1 where it fails, 0 where it passes, NULL where it does not apply
    (a missing value in ``cond`` counts as passing, as a NaN compared in numpy does)."""
    return f"CASE WHEN {applies} THEN CASE WHEN {cond} THEN 1 ELSE 0 END END"


def _checks_sql(period_end) -> dict[str, str]:
    """Each check over the columns of the audit's row CTE (std columns, d1_* of the
    person's first dose 1, need: its minimum interval in days less the grace)."""
    age = ("CASE WHEN dob IS NOT NULL THEN year(vdate) - year(dob) - CASE WHEN month(vdate) * 100 + day(vdate) "
           "< month(dob) * 100 + day(dob) THEN 1 ELSE 0 END ELSE year(vdate) - birth_year END")
    known_birth = "(dob IS NOT NULL OR birth_year IS NOT NULL)"
    return {
        "id_invalid": _flag("id_type = 'invalid'", "id_type IS NOT NULL"),
        "id_inconsistent": _flag("NOT id_consistent", "id_consistent IS NOT NULL"),
        "phone_invalid": _flag("NOT phone_valid", "phone_valid IS NOT NULL"),
        "commune_invalid": _flag("NOT commune_valid", "commune_valid IS NOT NULL AND std_commune IS NOT NULL"),
        "vaccinated_before_birth": _flag(
            "CASE WHEN dob IS NOT NULL THEN vdate < dob ELSE year(vdate) < birth_year END", known_birth),
        "age_outside_target": _flag(f"({age}) < 18 OR ({age}) > 110", known_birth),
        "dose_number_invalid": _flag("dose < 1 OR dose > 4"),
        "dose2_too_soon": _flag("date_diff('day', d1_date, vdate) < need", "dose = 2 AND d1_date IS NOT NULL"),
        "dose2_without_dose1": _flag("d1_date IS NULL", "dose = 2"),
        "before_campaign": _flag(f"vdate < {date_literal(CAMPAIGN_START)}"),
        "after_period": _flag(f"vdate > {date_literal(period_end)}"),
        "vaccinated_after_entry": _flag("vdate > entered_date", "entered_date IS NOT NULL"),
    }


def _count(cond: str) -> str:
    return f"CAST(sum(CASE WHEN {cond} THEN 1 ELSE 0 END) AS BIGINT)"


def _in_period(inp: Inputs) -> str:
    return f"(vdate >= {date_literal(inp.period_start)} AND vdate <= {date_literal(inp.period_end)})"


def province_sites(inp: Inputs) -> pd.DataFrame:
    """The province's sites and their districts (the audit's units)."""
    return inp.sites[inp.sites["in_province"]][["site_id", "district_code"]].reset_index(drop=True)


def site_counts(con: duckdb.DuckDBPyConnection, inp: Inputs, dose2_need, completeness_fields, backend=None) -> tuple[pd.DataFrame, list[str]]:
    """Per province site with rows: n_all, n_per, ``empty_<field>``, ``<check>_n`` /
    ``<check>_d``, any_invalid, lag_known and ``within_<d>d`` (period's rows entered within d days).
    ``dose2_need(series of vaccine names) -> days``: the fewest days from a dose 1 of that
    vaccine to a dose 2 that is not too soon. Returns the frame and the completeness fields
    present in the export."""
    vcols = set(columns_of(con, "vaccinations"))
    std = table_exists(con, "vaccinations_std")
    scols = set(columns_of(con, "vaccinations_std")) if std else set()
    links = table_exists(con, "record_links")

    def s(c, typ="VARCHAR"):
        return f"CAST(s.{c} AS {typ})" if c in scols else f"NULL::{typ}"

    fields = [c for c in completeness_fields if c in vcols]
    empties = "".join(f", (v.{c} IS NULL OR trim(CAST(v.{c} AS VARCHAR)) = '') AS empty_{c}" for c in fields)
    std_key = "unique_id" if "unique_id" in scols else "record_id"
    join_std = (f"LEFT JOIN vaccinations_std s ON CAST(s.{std_key} AS VARCHAR) = CAST(v.record_id AS VARCHAR)"
                if std else "")
    join_links = (f"LEFT JOIN record_links l ON {links_join_on(con, 'vaccinations')}" if links else "")
    person_key = ("coalesce(CAST(l.person_key AS VARCHAR), 'r:' || CAST(v.record_id AS VARCHAR))" if links
                  else "'r:' || CAST(v.record_id AS VARCHAR)")
    # dose 2's minimum interval by the vaccine of the person's first dose 1: the names are
    # few, their families are read in Python (quality.vaccine_family, one rule)
    names = fetch(con, "SELECT DISTINCT coalesce(CAST(vaccine AS VARCHAR), '') AS vaccine FROM vaccinations",
                  backend)["vaccine"]
    names = pd.Series(sorted(set(names.astype(str)) | {""}), dtype=object)
    vaccines = pd.DataFrame({"vaccine": names, "need": dose2_need(names)})
    checks = _checks_sql(inp.period_end)
    per = _in_period(inp)
    flags = "".join(f", {sql} AS {c}" for c, sql in checks.items())
    agg = [
        "count(*) AS n_all",
        f"{_count(per)} AS n_per",
        *(f"{_count(f'{per} AND empty_{c}')} AS empty_{c}" for c in fields),
    ]
    for c in ROW_CHECKS:
        agg += [f"{_count(f'{per} AND {c} = 1')} AS {c}_n", f"{_count(f'{per} AND {c} IS NOT NULL')} AS {c}_d"]
    for c in DATE_CHECKS:
        agg += [f"{_count(f'{c} = 1')} AS {c}_n", f"{_count(f'{c} IS NOT NULL')} AS {c}_d"]
    agg.append(_count(f"{per} AND ({' OR '.join(f'{c} = 1' for c in ROW_CHECKS)})") + " AS any_invalid")
    agg.append(f"{_count(f'{per} AND entered_date IS NOT NULL')} AS lag_known")
    lag = "date_diff('day', vdate, entered_date)"
    agg += [f"{_count(f'{per} AND {lag} <= {d}')} AS within_{d}d" for d in LAG_DAYS]
    df = fetch(
        con,
        f"""
        WITH r AS (
          SELECT st.site_id, st.district_code, CAST(v._row AS BIGINT) AS "row",
                 CAST(v.vaccination_date AS DATE) vdate, CAST(v.entered_date AS DATE) entered_date,
                 CAST(v.dose_number AS INTEGER) dose, coalesce(CAST(v.vaccine AS VARCHAR), '') vaccine,
                 {person_key} person_key,
                 {s('id_type')} id_type, {s('id_consistent', 'BOOLEAN')} id_consistent,
                 {s('phone_valid', 'BOOLEAN')} phone_valid, {s('commune_valid', 'BOOLEAN')} commune_valid,
                 {s('commune_code')} std_commune, {s('dob', 'DATE')} dob, {s('birth_year', 'INTEGER')} birth_year
                 {empties}
          FROM vaccinations v
          JOIN _dq_sites st ON st.site_id = CAST(v.site_id AS VARCHAR)
          {join_std}
          {join_links}
          WHERE {entered_by_sql("v", inp.extract_date)}),
        first_dose1 AS (
          SELECT person_key, vdate AS d1_date, vaccine AS d1_vaccine FROM (
            SELECT person_key, vdate, vaccine,
                   row_number() OVER (PARTITION BY person_key ORDER BY vdate, "row") AS k
            FROM r WHERE dose = 1 AND vdate IS NOT NULL) WHERE k = 1),
        f AS (
          SELECT r.*, d.d1_date, x.need {flags}
          FROM r
          LEFT JOIN first_dose1 d ON r.dose = 2 AND d.person_key = r.person_key
          LEFT JOIN _dq_vaccines x ON x.vaccine = d.d1_vaccine)
        SELECT site_id, district_code, {', '.join(agg)}
        FROM f GROUP BY site_id, district_code ORDER BY site_id
        """,
        backend,
        frames={"_dq_sites": province_sites(inp), "_dq_vaccines": vaccines},
    )
    return df, fields


def identifying_empty(con: duckdb.DuckDBPyConnection, inp: Inputs, fields: list[str], backend=None) -> pd.Series:
    """Per province site with rows in the period: the mean over those rows (in entry order) of
    each row's share of ``fields`` left empty. The one per-row read of the audit (two small
    integers a row): a site's mean is summed in the order the pandas audit always summed
    it, so sites whose shares are equal ranked as before in ``worst_sites``."""
    if not fields:
        return pd.Series(dtype=float)
    sites = province_sites(inp).assign(site_no=lambda d: range(len(d)))
    n_empty = " + ".join(f"CASE WHEN v.{c} IS NULL OR trim(CAST(v.{c} AS VARCHAR)) = '' THEN 1 ELSE 0 END"
                         for c in fields)
    df = fetch(
        con,
        f"""
        SELECT CAST(st.site_no AS INTEGER) AS site_no, CAST({n_empty} AS INTEGER) AS n_empty
        FROM vaccinations v
        JOIN _dq_sites st ON st.site_id = CAST(v.site_id AS VARCHAR)
        WHERE {entered_by_sql("v", inp.extract_date)}
          AND CAST(v.vaccination_date AS DATE) >= {date_literal(inp.period_start)}
          AND CAST(v.vaccination_date AS DATE) <= {date_literal(inp.period_end)}
        ORDER BY CAST(v._row AS BIGINT), CAST(v.record_id AS VARCHAR)
        """,
        backend,
        frames={"_dq_sites": sites},
    )
    share = df["n_empty"].to_numpy(dtype=float) / len(fields)
    mean = pd.Series(share).groupby(df["site_no"].to_numpy()).mean()
    return pd.Series(mean.to_numpy(), index=sites["site_id"].to_numpy(dtype=object)[mean.index.to_numpy()])


def long_counts(con: duckdb.DuckDBPyConnection, inp: Inputs, backend=None) -> dict[str, pd.DataFrame]:
    """The period's rows at the province's sites, counted: ``lag`` (site_id, lag in days, n:
    rows with an entered_date), ``dose`` (site_id, dose, n) and ``day`` (site_id, vdate, n):
    rows that are not duplicate doses."""
    links = table_exists(con, "record_links")
    join_links = (f"LEFT JOIN record_links l ON {links_join_on(con, 'vaccinations')}" if links else "")
    is_dup = "coalesce(CAST(l.is_duplicate_dose AS BOOLEAN), false)" if links else "false"
    per = _in_period(inp)
    df = fetch(
        con,
        f"""
        WITH r AS (
          SELECT st.site_id, CAST(v.vaccination_date AS DATE) vdate, CAST(v.entered_date AS DATE) entered_date,
                 CAST(v.dose_number AS INTEGER) dose, {is_dup} is_dup
          FROM vaccinations v
          JOIN _dq_sites st ON st.site_id = CAST(v.site_id AS VARCHAR)
          {join_links}
          WHERE {entered_by_sql("v", inp.extract_date)})
        SELECT {literal('lag')} AS kind, site_id, CAST(date_diff('day', vdate, entered_date) AS BIGINT) AS k,
               CAST(NULL AS DATE) AS vdate, count(*) AS n
        FROM r WHERE {per} AND entered_date IS NOT NULL GROUP BY 1, 2, 3
        UNION ALL
        SELECT {literal('dose')}, site_id, CAST(dose AS BIGINT), CAST(NULL AS DATE), count(*)
        FROM r WHERE {per} AND NOT is_dup AND dose IS NOT NULL GROUP BY 1, 2, 3
        UNION ALL
        SELECT {literal('day')}, site_id, CAST(NULL AS BIGINT), vdate, count(*)
        FROM r WHERE {per} AND NOT is_dup GROUP BY 1, 2, 4
        """,
        backend,
        frames={"_dq_sites": province_sites(inp)},
    )
    kinds = df["kind"].astype(str).to_numpy()
    out = {}
    for kind, cols in (("lag", ["site_id", "k", "n"]), ("dose", ["site_id", "k", "n"]), ("day", ["site_id", "vdate", "n"])):
        t = df.loc[kinds == kind, cols].reset_index(drop=True)
        t["site_id"] = t["site_id"].astype(object)
        t["n"] = t["n"].astype("int64")
        if kind == "day":
            t["vdate"] = pd.to_datetime(t["vdate"])
        else:
            t["k"] = t["k"].astype("int64")
        out[kind] = t.rename(columns={"k": kind})
    return out
