"""Aggregates the report shows, queried from the province's DuckDB file.

The estimate runs these queries once and writes their results beside metrics.json
(:mod:`vaxstudy.report.aggregates`); the report reads those tables, never the database.
Only counts and rates leave this module (and, inside the estimate, the adult residents
the counts are made of): no table written or shown holds a row about a person. Scope follows CONTRACT §3: records with vaccination_date in the
period at the province's sites (a site's province from `sites`, else the most
frequent province typed on its rows); register residents of the province aged
≥ 18 at period_end for coverage denominators.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from vaxstudy import scope
from vaxstudy.link.doses import links_join_on
from vaxstudy.scope import AGE_GROUPS  # noqa: F401  (its home: vaxstudy.scope)
from vaxstudy.sql import literal

LATE_ENTRY_DAYS = 7


def _iso(d) -> str:
    return d.isoformat() if isinstance(d, date) else str(d)[:10]


def load_metrics(run_dir: str | Path) -> dict:
    """metrics.json of a run folder."""
    return json.loads((Path(run_dir) / "metrics.json").read_text(encoding="utf-8"))


def connect(db_path: str | Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(db_path), read_only=True)


def tables(con) -> set[str]:
    return {r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database()").fetchall()}


def columns(con, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "select column_name from duckdb_columns() where table_name = ? "
        "and database_name = current_database()", [table]).fetchall()}


#: what the report's queries read of the vaccination rows
VACCINATION_COLUMNS = {"record_id", "site_id", "vaccination_date"}


def vaccination_table(con) -> str:
    """``vaccinations_std`` (the standardised rows), or the raw ``vaccinations`` where the
    database has no standardised table holding the rows' sites and dates."""
    std = "vaccinations_std" in tables(con) and VACCINATION_COLUMNS <= columns(con, "vaccinations_std")
    return "vaccinations_std" if std else "vaccinations"


#: the name under which a caller's sites frame is registered (:func:`with_sites`)
SITES_FRAME = "_report_sites"


def _site_province_cte(con, sites: bool = False) -> str:
    """CTE `site_prov(site_id, district_code, province_code, site_name)` (:func:`vaxstudy.scope.sites_sql`);
    ``sites``: read from the frame :data:`SITES_FRAME` registered by :func:`with_sites` instead
    (its result, already computed: the sites' province is a mode over every row)."""
    if sites:
        return f"site_prov AS (SELECT site_id, district_code, province_code, site_name FROM {SITES_FRAME})"
    have = tables(con)
    return f"site_prov AS ({scope.sites_sql('sites' in have, with_tallies='tallies' in have)})"


@contextmanager
def with_sites(con, sites: pd.DataFrame | None):
    """Register ``sites`` (site_id, district_code, province_code, site_name: the result of
    :func:`vaxstudy.scope.sites_sql` over this database, as the estimate holds it) on ``con``
    for the queries below; yields whether it did (None: each query derives the sites)."""
    if sites is None:
        yield False
        return
    con.register(SITES_FRAME, sites[["site_id", "district_code", "province_code", "site_name"]])
    try:
        yield True
    finally:
        con.unregister(SITES_FRAME)


#: the temp table :func:`with_scope` keeps the scope's rows in
SCOPE_TABLE = "_report_scope"
#: the columns of the rows the scope's queries read (those the vaccination table has)
SCOPE_COLUMNS = ("id_number", "id_type", "id_consistent", "phone_valid", "dob_precision", "commune_valid",
                 "entered_date", "name_ascii", "dob")


@contextmanager
def with_scope(con, province: str, period_start, period_end, sites: bool = False):
    """The scope of :func:`_scope_cte` (the period's rows at the province's sites, with their
    links) made once, as a temp table on ``con``, for the queries below given ``scoped=True``
    with the same province and period: four of them joined the rows to their sites and
    links each. Yields True; the table is dropped after."""
    params = {"start": _iso(period_start), "end": _iso(period_end)}
    cols = [c for c in SCOPE_COLUMNS if c in columns(con, vaccination_table(con))]
    keep = ", ".join(["vaccination_date", "site_id", "site_district", "site_name", "person_id",
                      "match_probability", "is_dup", *cols])
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SCOPE_TABLE} AS "
                f"{_scope_cte(con, province, sites)} SELECT {keep} FROM scope", params)
    try:
        yield True
    finally:
        con.execute(f"DROP TABLE IF EXISTS {SCOPE_TABLE}")


def _scope_cte(con, province: str, sites: bool = False, scoped: bool = False) -> str:
    """CTEs site_prov and `scope` (the period's records at the province's sites, with links);
    ``scoped``: `scope` read from :func:`with_scope`'s table (made for the same province and
    period; the period's bounds are still parameters of the query)."""
    if scoped:
        return f"""WITH scope AS (SELECT * FROM {SCOPE_TABLE}
                                  WHERE vaccination_date BETWEEN CAST($start AS DATE) AND CAST($end AS DATE))"""
    vt = vaccination_table(con)
    has_links = "record_links" in tables(con)
    link_cols = ("l.person_id, l.match_probability, coalesce(l.is_duplicate_dose, false) is_dup"
                 if has_links else
                 "CAST(NULL AS VARCHAR) person_id, CAST(NULL AS DOUBLE) match_probability, false is_dup")
    join = f"LEFT JOIN record_links l ON {links_join_on(con, vt)}" if has_links else ""
    return f"""WITH {_site_province_cte(con, sites)},
        scope AS (
            SELECT v.*, s.district_code AS site_district, s.site_name, {link_cols}
            FROM {vt} v JOIN site_prov s ON CAST(v.site_id AS VARCHAR) = s.site_id
            {join}
            WHERE s.province_code = {literal(str(province).zfill(2))}
              AND v.vaccination_date BETWEEN CAST($start AS DATE) AND CAST($end AS DATE))"""


def weekly_entry_gap(con, province: str, period_start, period_end, sites: bool = False,
                     scoped: bool = False) -> pd.DataFrame:
    """week (Monday), entered (distinct dose events entered), tallied (doses on paper)."""
    params = {"start": _iso(period_start), "end": _iso(period_end)}
    entered = con.execute(
        _scope_cte(con, province, sites, scoped) + """
        SELECT CAST(date_trunc('week', vaccination_date) AS DATE) AS week,
               count(*) FILTER (WHERE NOT is_dup) entered
        FROM scope GROUP BY 1""", params).df()
    if "tallies" in tables(con):
        tallied = con.execute(
            f"WITH {_site_province_cte(con, sites)} "
            """SELECT CAST(date_trunc('week', t.vaccination_date) AS DATE) AS week,
                      sum(t.doses_administered) tallied
               FROM tallies t JOIN site_prov s ON CAST(t.site_id AS VARCHAR) = s.site_id
               WHERE s.province_code = $prov
                 AND t.vaccination_date BETWEEN CAST($start AS DATE) AND CAST($end AS DATE)
               GROUP BY 1""", {**params, "prov": str(province).zfill(2)}).df()
    else:
        tallied = pd.DataFrame({"week": pd.Series(dtype="datetime64[ns]"), "tallied": []})
    out = entered.merge(tallied, on="week", how="outer").sort_values("week", ignore_index=True)
    out["entered"] = out["entered"].fillna(0).astype(int)
    out["tallied"] = out["tallied"].fillna(0).astype(int)
    out["week"] = pd.to_datetime(out["week"])
    return out


def site_table(con, province: str, period_start, period_end, sites: bool = False,
               scoped: bool = False) -> pd.DataFrame:
    """Per site: records, duplicate doses and the data-quality problem counts."""
    params = {"start": _iso(period_start), "end": _iso(period_end)}
    vt = vaccination_table(con)
    cols = columns(con, vt)

    def has(c: str) -> bool:
        return c in cols

    q = {
        "missing_id": "count(*) FILTER (WHERE id_number IS NULL)" if has("id_number") else "NULL",
        "invalid_id": "count(*) FILTER (WHERE id_type = 'invalid' OR id_consistent = false)"
        if has("id_type") and has("id_consistent") else "NULL",
        "invalid_phone": "count(*) FILTER (WHERE phone_valid = false)" if has("phone_valid") else "NULL",
        "dob_year_only": "count(*) FILTER (WHERE dob_precision = 'year')" if has("dob_precision") else "NULL",
        "no_dob": "count(*) FILTER (WHERE dob_precision IS NULL)" if has("dob_precision") else "NULL",
        "bad_commune": "count(*) FILTER (WHERE commune_valid = false OR commune_valid IS NULL)"
        if has("commune_valid") else "NULL",
        "late_entry": f"count(*) FILTER (WHERE entered_date - vaccination_date > {LATE_ENTRY_DAYS})"
        if has("entered_date") else "NULL",
    }
    sel = ",\n".join(f"{v} AS {k}" for k, v in q.items())
    df = con.execute(
        _scope_cte(con, province, sites, scoped) + f"""
        SELECT CAST(site_id AS VARCHAR) site_id, any_value(site_name) site_name,
               any_value(site_district) district_code, count(*) n_records,
               count(*) FILTER (WHERE is_dup) n_dup, {sel}
        FROM scope GROUP BY 1 ORDER BY 1""", params).df()
    return df


def match_probabilities(con, province: str, period_start, period_end, sites: bool = False,
                        scoped: bool = False) -> np.ndarray:
    """Match probability of every linked record in scope."""
    if "record_links" not in tables(con):
        return np.array([])
    params = {"start": _iso(period_start), "end": _iso(period_end)}
    df = con.execute(_scope_cte(con, province, sites, scoped) + """
        SELECT match_probability FROM scope
        WHERE person_id IS NOT NULL AND match_probability IS NOT NULL""", params).df()
    return df["match_probability"].to_numpy(dtype=float)


def link_basis(con, province: str, period_start, period_end, sites: bool = False,
               scoped: bool = False) -> pd.DataFrame:
    """basis ('id', 'name_dob', 'other'), n: what each link to the register rests on.

    'id': the record's ID number equals the resident's person_id (a CCCD) or
    ID number; 'name_dob': otherwise the diacritic-free name and the full
    date of birth agree; 'other': neither (partial evidence: name variants,
    birth year, address, phone).
    """
    needed = {"record_links", "vaccinations_std", "population_std"}
    if (not needed <= tables(con) or vaccination_table(con) != "vaccinations_std"
            or not {"id_number", "name_ascii", "dob"} <= columns(con, "vaccinations_std")
            or not {"unique_id", "name_ascii", "dob"} <= columns(con, "population_std")):
        return pd.DataFrame({"basis": ["id", "name_dob", "other"], "n": [0, 0, 0]})
    params = {"start": _iso(period_start), "end": _iso(period_end)}
    pcols = columns(con, "population_std")
    p_id = "p.id_number" if "id_number" in pcols else "NULL"
    df = con.execute(_scope_cte(con, province, sites, scoped) + f"""
        , b AS (
            SELECT CASE
                WHEN sc.id_number IS NOT NULL AND (sc.id_number = CAST(p.unique_id AS VARCHAR)
                                                   OR sc.id_number = {p_id}) THEN 'id'
                WHEN sc.name_ascii = p.name_ascii AND sc.dob IS NOT NULL AND sc.dob = p.dob THEN 'name_dob'
                ELSE 'other' END basis
            FROM scope sc JOIN population_std p ON CAST(p.unique_id AS VARCHAR) = CAST(sc.person_id AS VARCHAR))
        SELECT basis, count(*) n FROM b GROUP BY 1""", params).df()
    out = pd.DataFrame({"basis": ["id", "name_dob", "other"]}).merge(df, on="basis", how="left")
    out["n"] = out["n"].fillna(0).astype(int)
    return out


def province_adults(con, province: str, period_end) -> pd.DataFrame:
    """person_id, district_code, sex, age_group: register residents of the province aged ≥ 18
    at period_end (:func:`vaxstudy.scope.adults_sql`: the estimate's denominators). Rows about
    persons: for the counts below, never written or shown."""
    end = date.fromisoformat(_iso(period_end))
    return con.execute(scope.adults_sql(province, end, "population_std" in tables(con))).df()


def adult_groups(adults: pd.DataFrame) -> pd.DataFrame:
    """district_code, sex, age_group, n: the adults counted per group (the groups add up to
    metrics.json's n_population)."""
    df = (adults.groupby(["district_code", "sex", "age_group"]).size().rename("n").reset_index()
          .sort_values(["district_code", "sex", "age_group"], ignore_index=True))
    df["n"] = df["n"].astype(int)
    return df


def adult_population(con, province: str, period_end) -> pd.DataFrame:
    """district_code, sex, age_group, n: register residents of the province aged ≥ 18 at period_end."""
    return adult_groups(province_adults(con, province, period_end))


def weekly_cumulative_coverage(con, province: str, period_end, adults: pd.DataFrame | None = None) -> pd.DataFrame:
    """week (Monday), district_code, dose1, dose2: register adults (aged >= 18 at period_end) of the
    province with a linked, non-duplicate dose (two distinct days for dose2) dated by the end of
    that week, cumulative from the first dose in the data. Empty without record_links.
    ``adults``: :func:`province_adults`, when the caller holds it already."""
    if not {"record_links", "population"} <= tables(con):
        return pd.DataFrame({"week": [], "district_code": [], "dose1": [], "dose2": []})
    vt = vaccination_table(con)
    dup = "coalesce(l.is_duplicate_dose, false)" if "is_duplicate_dose" in columns(con, "record_links") else "false"
    # the adults of the province as the estimate counts them (vaxstudy.scope)
    if adults is None:
        adults = province_adults(con, province, period_end)
    adults = adults[["person_id", "district_code"]]
    con.register("_scope_adults", adults)
    try:
        df = _weekly_firsts(con, vt, dup, period_end)
    finally:
        con.unregister("_scope_adults")
    if df.empty:
        return pd.DataFrame({"week": [], "district_code": [], "dose1": [], "dose2": []})
    end_week = pd.Timestamp(_iso(period_end)).to_period("W-SUN").start_time
    weeks = pd.date_range(pd.to_datetime(df["w1"]).min(), end_week, freq="7D")
    out = []
    for d, g in df.groupby("district_code"):
        n1 = pd.to_datetime(g["w1"]).value_counts().reindex(weeks, fill_value=0).cumsum()
        n2 = pd.to_datetime(g["w2"].dropna()).value_counts().reindex(weeks, fill_value=0).cumsum()
        out.append(pd.DataFrame({"week": weeks, "district_code": d, "dose1": n1.to_numpy(), "dose2": n2.to_numpy()}))
    return pd.concat(out, ignore_index=True)


def _weekly_firsts(con, vt: str, dup: str, period_end) -> pd.DataFrame:
    """district_code, w1, w2: the weeks of each adult's first dose and of a second dose on another
    day (adults from the frame ``_scope_adults``)."""
    return con.execute(f"""
        WITH days AS (
            SELECT DISTINCT CAST(l.person_id AS VARCHAR) person_id, CAST(v.vaccination_date AS DATE) d
            FROM record_links l JOIN {vt} v ON {links_join_on(con, vt)}
            WHERE l.person_id IS NOT NULL AND NOT {dup} AND CAST(v.vaccination_date AS DATE) <= CAST($end AS DATE)),
        firsts AS (
            SELECT person_id, min(d) d1, min(d, 2)[2] d2 FROM days GROUP BY 1)  -- the two earliest days
        SELECT a.district_code, CAST(date_trunc('week', f.d1) AS DATE) w1, CAST(date_trunc('week', f.d2) AS DATE) w2
        FROM _scope_adults a JOIN firsts f ON CAST(a.person_id AS VARCHAR) = f.person_id""",
        {"end": _iso(period_end)}).df()


_REASON_VALUE = re.compile(r"\s*(=|:|\().*$")


def generic_reason(reason: str) -> str:
    """A quarantine reason without the offending value (values may be personal data)."""
    r = reason.strip()
    m = re.match(r"^(\w+)=.* is not (.*)$", r)
    if m:
        return f"{m.group(1)} is not {m.group(2)}"
    if r.startswith("duplicate "):
        return " ".join(r.split()[:2])
    return _REASON_VALUE.sub("", r).strip()


def quarantine_summary(con) -> pd.DataFrame:
    """table_name, reason (value-free), rows — one quarantined row may count under several reasons."""
    if "quarantine" not in tables(con):
        return pd.DataFrame({"table_name": [], "reason": [], "rows": []})
    q = con.execute("SELECT table_name, reason FROM quarantine").df()
    rows = []
    for tname, reason in zip(q["table_name"], q["reason"].fillna("")):
        for part in {generic_reason(p) for p in str(reason).split(";") if p.strip()}:
            rows.append((tname, part))
    df = pd.DataFrame(rows, columns=["table_name", "reason"])
    if df.empty:
        return pd.DataFrame({"table_name": [], "reason": [], "rows": []})
    return (df.value_counts().rename("rows").reset_index()
            .sort_values(["rows", "table_name", "reason"], ascending=[False, True, True],
                         ignore_index=True))


def model_match_weights(model_path: str | Path | None) -> pd.DataFrame:
    """comparison, level, m, u, weight (log2 m/u) from a saved Splink model JSON."""
    empty = pd.DataFrame({"comparison": [], "level": [], "m": [], "u": [], "weight": []})
    if model_path is None or not Path(model_path).exists():
        return empty
    settings = json.loads(Path(model_path).read_text(encoding="utf-8"))
    rows = []
    for comp in settings.get("comparisons", []):
        cname = comp.get("output_column_name") or comp.get("comparison_description") or "?"
        for lvl in comp.get("comparison_levels", []):
            if lvl.get("is_null_level"):
                continue
            m, u = lvl.get("m_probability"), lvl.get("u_probability")
            if m is None or u is None or m <= 0 or u <= 0:
                continue
            rows.append({
                "comparison": cname,
                "level": lvl.get("label_for_charts") or lvl.get("sql_condition", "?")[:40],
                "m": float(m), "u": float(u), "weight": float(np.log2(m / u)),
            })
    return pd.DataFrame(rows) if rows else empty


def find_model(*dirs: str | Path | None) -> Path | None:
    """The saved Splink model JSON in the first folder holding one."""
    for d in dirs:
        if d is None or not Path(d).is_dir():
            continue
        for p in sorted(Path(d).glob("*.json")):
            try:
                obj = json.loads(p.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(obj, dict) and "comparisons" in obj:
                return p
    return None
