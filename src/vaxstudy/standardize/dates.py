"""Dates of birth as typed (dd/mm/yyyy, yyyy-mm-dd, d/m/yy, year only) → dob, birth_year, flags.

Parsed in DuckDB SQL over the DISTINCT typed values of a column, then joined back.

* ``yyyy-mm-dd`` / ``yyyy/mm/dd`` (a time part is ignored): unambiguous.
* ``d/m/yyyy`` and ``d/m/yy`` (separators ``/ - .``) in Vietnamese day-first order.
  ``dob_ambiguous`` is TRUE when day and month are both ≤ 12 and differ. When the
  day-first reading is impossible but month-first is valid (``03/25/1980``) the
  month-first date is used. Two-digit years: ``yy`` ≤ 21 → 20yy, else 19yy (a 2021 registry).
* ``yyyy`` alone, or a full date that does not exist (``31/02/1980``): birth_year only.
* Years outside 1900..2021 are not trusted: all four fields NULL.
* ``dob_ambiguous`` is NULL where no full date is known.
"""

from __future__ import annotations

MIN_YEAR = 1900
MAX_YEAR = 2021
TWO_DIGIT_PIVOT = 21  # yy <= 21 -> 2000s

DOB_COLUMNS = ("dob", "birth_year", "dob_precision", "dob_ambiguous")


def dob_table_sql(source: str) -> str:
    """A query over ``source`` (a query or table with a VARCHAR column ``raw``) returning
    raw, dob, birth_year, dob_precision, dob_ambiguous, one row per distinct raw."""
    return f"""
    WITH _d AS (SELECT DISTINCT raw FROM ({source}) WHERE raw IS NOT NULL),
    _p AS (
        SELECT raw,
               regexp_extract(trim(raw), '^(\\d{{4}})[-/.](\\d{{1,2}})[-/.](\\d{{1,2}})([ T].*)?$', ['y', 'm', 'd']) AS iso,
               regexp_extract(trim(raw), '^(\\d{{1,2}})[-/.](\\d{{1,2}})[-/.](\\d{{4}}|\\d{{2}})$', ['a', 'b', 'y']) AS dmy,
               regexp_extract(trim(raw), '^(\\d{{4}})(\\.0)?$', ['y']) AS yo
        FROM _d),
    _n AS (
        SELECT raw,
               CASE WHEN iso.y <> '' THEN 'iso' WHEN dmy.y <> '' THEN 'dmy' WHEN yo.y <> '' THEN 'year' END AS kind,
               CASE WHEN iso.y <> '' THEN CAST(iso.y AS INTEGER)
                    WHEN length(dmy.y) = 4 THEN CAST(dmy.y AS INTEGER)
                    WHEN length(dmy.y) = 2 THEN CAST(dmy.y AS INTEGER)
                         + CASE WHEN CAST(dmy.y AS INTEGER) <= {TWO_DIGIT_PIVOT} THEN 2000 ELSE 1900 END
                    WHEN yo.y <> '' THEN CAST(yo.y AS INTEGER) END AS y,
               CASE WHEN iso.y <> '' THEN CAST(iso.m AS INTEGER) ELSE TRY_CAST(nullif(dmy.b, '') AS INTEGER) END AS m,
               CASE WHEN iso.y <> '' THEN CAST(iso.d AS INTEGER) ELSE TRY_CAST(nullif(dmy.a, '') AS INTEGER) END AS d
        FROM _p),
    _y AS (SELECT raw, kind, m, d, CASE WHEN y BETWEEN {MIN_YEAR} AND {MAX_YEAR} THEN y END AS y FROM _n),
    _t AS (
        SELECT raw, kind, y, m, d,
               TRY_CAST(printf('%04d-%02d-%02d', y, m, d) AS DATE) AS first_try,
               CASE WHEN kind = 'dmy' THEN TRY_CAST(printf('%04d-%02d-%02d', y, d, m) AS DATE) END AS swapped
        FROM _y WHERE y IS NOT NULL AND kind IN ('iso', 'dmy')
    )
    SELECT _y.raw,
           coalesce(_t.first_try, CASE WHEN _t.m > 12 THEN _t.swapped END) AS dob,
           _y.y AS birth_year,
           CASE WHEN coalesce(_t.first_try, CASE WHEN _t.m > 12 THEN _t.swapped END) IS NOT NULL THEN 'day'
                WHEN _y.y IS NOT NULL THEN 'year' END AS dob_precision,
           CASE WHEN _t.first_try IS NOT NULL AND _t.kind = 'dmy' THEN _t.d <= 12 AND _t.m <= 12 AND _t.d <> _t.m
                WHEN coalesce(_t.first_try, _t.swapped) IS NOT NULL THEN FALSE END AS dob_ambiguous
    FROM _y LEFT JOIN _t USING (raw)
    """


def parse_dobs(values) -> dict:
    """{typed value: (dob, birth_year, dob_precision, dob_ambiguous)} — for tests and notebooks."""
    import duckdb
    import pandas as pd

    con = duckdb.connect()
    con.register("_v", pd.DataFrame({"raw": pd.Series(list(values), dtype=object)}))
    rows = con.execute(dob_table_sql("SELECT CAST(raw AS VARCHAR) AS raw FROM _v")).fetchall()
    con.close()
    return {r[0]: tuple(r[1:]) for r in rows}
