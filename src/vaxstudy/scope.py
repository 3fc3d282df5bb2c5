"""Which sites and which residents belong to a province (CONTRACT §3), defined once.

* a **site** belongs to the province of its row in ``sites``; a site missing from ``sites``
  (seen only in the rows or the tallies) to the most frequent province typed on its rows;
  a registry identity's site province (the link's wide pass) is that of the sites its rows
  were entered at, the most frequent;
* a **resident** is a person of ``population_std`` whose province code is the province's,
  or, where the province code is empty, whose district lies in the province (GSO 2021 list);
  their sex is the standardised one (``vaxstudy.standardize.sex``), their age the completed
  years at a date.

The estimate (its cells and denominators) and the report (its suppression groups) read the
same SQL, so the report's group sizes add up to metrics.json's ``n_population``.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from vaxstudy.codes import gso_code_sql
from vaxstudy.sql import literal

AGE_GROUPS: tuple[str, ...] = ("18-29", "30-49", "50-64", "65+")


def _code(c: str, n: int) -> str:
    """The GSO code of column ``c``; all zeros -> NULL."""
    return f"nullif({gso_code_sql(c, n)}, {literal('0' * n)})"


def sites_sql(has_sites: bool, with_tallies: bool = True) -> str:
    """Query: site_id, district_code, province_code, site_name of every site (``sites`` first,
    else the codes typed most often on its rows), over the raw tables, ordered by site_id."""
    seen = f"""
    WITH seen AS (
        SELECT CAST(site_id AS VARCHAR) site_id, mode({_code('district_code', 3)}) AS d_rows,
               mode({_code('province_code', 2)}) AS p_rows
        FROM vaccinations WHERE site_id IS NOT NULL GROUP BY 1
        {"UNION ALL SELECT CAST(site_id AS VARCHAR), NULL, NULL FROM tallies WHERE site_id IS NOT NULL GROUP BY 1"
         if with_tallies else ""}
    ), seen1 AS (SELECT site_id, max(d_rows) d_rows, max(p_rows) p_rows FROM seen GROUP BY site_id)
    """
    if not has_sites:
        return seen + """SELECT site_id, d_rows AS district_code, p_rows AS province_code,
                                CAST(NULL AS VARCHAR) AS site_name FROM seen1 ORDER BY 1"""
    return seen + f"""
    , st AS (SELECT CAST(site_id AS VARCHAR) site_id, any_value({_code('district_code', 3)}) d,
                    any_value({_code('province_code', 2)}) p, any_value(CAST(site_name AS VARCHAR)) site_name
             FROM sites GROUP BY 1)
    SELECT coalesce(st.site_id, seen1.site_id) AS site_id, coalesce(st.d, seen1.d_rows) AS district_code,
           coalesce(st.p, seen1.p_rows) AS province_code, st.site_name
    FROM st FULL OUTER JOIN seen1 ON st.site_id = seen1.site_id
    ORDER BY 1"""


def identity_site_province_sql(rows: str = "link_rows", sites: str = "proj.sites") -> str:
    """Query: ident, site_province: the province of the sites a registry identity's rows were
    entered at (the most frequent), each site's by its row in ``sites`` as above; ``rows``
    holds each row's ident and site_id (the link stage's link_rows, link/prepare.py)."""
    return f"""
        SELECT r.ident, mode({_code('s.province_code', 2)}) AS site_province
        FROM {rows} r
        JOIN {sites} s ON CAST(s.site_id AS VARCHAR) = r.site_id
        GROUP BY r.ident"""


def province_district_codes(province: str) -> list[str]:
    """The district codes of ``province`` in the GSO 2021 list (empty for an unknown code)."""
    try:
        from vaxstudy.geo import province_districts

        return sorted(province_districts(province)["district_code"].astype(str))
    except (ImportError, ValueError, KeyError):
        return []


def residents_sql(province: str, standardised: bool = True, ordered: bool = True) -> str:
    """Query: person_id, district_code, sex ('M', 'F' or NULL), dob of the province's residents,
    ordered by person_id: from ``population_std``, or (a database not standardised yet) from
    the raw ``population`` through the same sex rule (``vaxstudy.standardize.sex.sex_sql``)."""
    from vaxstudy.standardize.sex import sex_sql

    province = str(province).zfill(2)
    districts = province_district_codes(province)
    in_districts = (f"list_contains([{', '.join(literal(d) for d in districts)}], {_code('district_code', 3)})"
                    if districts else "false")
    pid, sex, dob, table = (("unique_id", "CAST(sex AS VARCHAR)", "dob", "population_std") if standardised
                            else ("person_id", sex_sql("sex"), "date_of_birth", "population"))
    return f"""
        SELECT CAST({pid} AS VARCHAR) person_id, {_code('district_code', 3)} district_code,
               {sex} sex, CAST({dob} AS DATE) dob
        FROM {table}
        WHERE {pid} IS NOT NULL AND (
            {_code('province_code', 2)} = {literal(province)}
            OR ({_code('province_code', 2)} IS NULL AND {in_districts}))
        {"ORDER BY person_id" if ordered else ""}"""


#: the completed-years bounds of AGE_GROUPS (the last is open)
AGE_BOUNDS: tuple[tuple[int, int | None], ...] = ((18, 29), (30, 49), (50, 64), (65, None))


def adults_sql(province: str, at: date, standardised: bool = True) -> str:
    """Query: person_id, district_code ('unknown' where none), sex ('U' where none), age_group
    of the province's residents aged >= 18 at ``at`` (completed years), one row per person,
    ordered by person_id: :func:`adults` over :func:`residents_sql`, computed by the database
    (a province's millions of residents are aged there instead of in pandas)."""
    from vaxstudy.sql import date_literal

    d = date_literal(at)
    age = (f"year({d}) - year(dob) - CASE WHEN month(dob) > {at.month} "
           f"OR (month(dob) = {at.month} AND day(dob) > {at.day}) THEN 1 ELSE 0 END")
    groups = " ".join(f"WHEN age <= {hi} THEN {literal(g)}" for g, (_, hi) in zip(AGE_GROUPS, AGE_BOUNDS) if hi)
    residents = residents_sql(province, standardised, ordered=False)
    # a person typed twice keeps one row, the same one on every engine: the first by district,
    # sex, date of birth. Only the persons with several rows go through the window (over every
    # person it was ~1/4 of the query's CPU: a partition per resident); the others keep theirs
    return f"""
        WITH r AS ({residents}),
        many AS (SELECT person_id FROM r GROUP BY person_id HAVING count(*) > 1),
        a AS (SELECT person_id, district_code, sex, {age} AS age FROM r
              WHERE person_id NOT IN (SELECT person_id FROM many)
              UNION ALL
              SELECT person_id, district_code, sex, age FROM (
                SELECT person_id, district_code, sex, {age} AS age,
                       row_number() OVER (PARTITION BY person_id ORDER BY district_code NULLS LAST,
                                          sex NULLS LAST, dob NULLS LAST) AS k
                FROM r WHERE person_id IN (SELECT person_id FROM many)) d
              WHERE k = 1)
        SELECT person_id, coalesce(district_code, 'unknown') AS district_code, coalesce(sex, 'U') AS sex,
               CASE {groups} ELSE {literal(AGE_GROUPS[-1])} END AS age_group
        FROM a WHERE age >= {AGE_BOUNDS[0][0]}
        ORDER BY person_id"""


def age_group(age: np.ndarray) -> np.ndarray:
    """Index into AGE_GROUPS for ages >= 18 (-1 below 18)."""
    out = np.full(age.shape, -1, dtype=np.int64)
    out[(age >= 18) & (age <= 29)] = 0
    out[(age >= 30) & (age <= 49)] = 1
    out[(age >= 50) & (age <= 64)] = 2
    out[age >= 65] = 3
    return out


def adults(residents: pd.DataFrame, at: date) -> pd.DataFrame:
    """The residents aged >= 18 at ``at`` (completed years), one per person, with age_group and
    district 'unknown' / sex 'U' where the register has none."""
    pop = residents.drop_duplicates("person_id")
    dob = pd.to_datetime(pop["dob"])
    before_bday = (dob.dt.month > at.month) | ((dob.dt.month == at.month) & (dob.dt.day > at.day))
    age = (at.year - dob.dt.year - before_bday.astype(int)).to_numpy(dtype=float)
    gi = age_group(np.nan_to_num(age, nan=-1).astype(np.int64))
    pop = pop[gi >= 0].copy()
    pop["age_group"] = np.asarray(AGE_GROUPS)[gi[gi >= 0]]
    pop["district_code"] = pop["district_code"].fillna("unknown")
    pop["sex"] = pop["sex"].fillna("U")
    return pop.reset_index(drop=True)
