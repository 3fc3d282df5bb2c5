"""The standardise stage on Spark: raw population / vaccinations → population_std / vaccinations_std.

The same rules as :mod:`vaxstudy.standardize` (which runs them in DuckDB SQL), written in
Spark SQL, with the same results column for column (tests/integration/test_spark_backend.py
compares both on a synthetic province):

* row rules (ID digits, CCCD facts, phones, administrative codes, commune check) are
  Spark SQL expressions evaluated where the rows are;
* dates of birth are parsed once per DISTINCT typed value, in Spark SQL, then joined back;
* names and sex need Python (Unicode normalisation, tone placement, accent stripping):
  the DISTINCT values are mapped with ``mapInPandas`` through the very functions of
  ``vaxstudy.standardize`` on the executors, then joined back. Nothing is collected to the
  driver; the GSO commune list (≈10k rows) is broadcast.

Regular expressions: Spark uses java.util.regex, DuckDB RE2. They agree on everything used
here except ``$``, which in Java also matches before a final newline; ``\\z`` (absolute end)
is used instead.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Callable

from vaxstudy.standardize import PERSON_COLUMNS, VACCINATION_EXTRA
from vaxstudy.standardize.admin import WIDTH
from vaxstudy.standardize.dates import MAX_YEAR, MIN_YEAR, TWO_DIGIT_PIVOT
from vaxstudy.standardize.names import NAME_COLUMNS
from vaxstudy.standardize.phones import OLD_MOBILE_PREFIXES
from vaxstudy.standardize.sex import FEMALE, MALE

__all__ = ["standardize_spark", "standardize_parquet", "standardize_db_spark", "sex_code", "release"]

_TYPES = {
    "dob": "DATE", "birth_year": "INTEGER", "dob_ambiguous": "BOOLEAN", "id_consistent": "BOOLEAN",
    "phone_valid": "BOOLEAN", "commune_valid": "BOOLEAN", "vaccination_date": "DATE",
    "dose_number": "INTEGER", "entered_date": "DATE", "_row": "BIGINT",
}


def _lit(pattern: str) -> str:
    """A Spark SQL string literal holding ``pattern`` (backslashes escaped)."""
    return "'" + pattern.replace("\\", "\\\\").replace("'", "\\'") + "'"


_DOT0 = _lit(r"\.0\z")


# ---- Python rules over distinct values --------------------------------------------------------

_SEX_MALE = set(MALE) | {"gioitinhnam"}
_SEX_FEMALE = {v for v in FEMALE if v.isascii()} | {"gioitinhnu"}


def sex_code(value: Any) -> str | None:
    """'M', 'F' or None: the rule of ``vaxstudy.standardize.sex.sex_sql`` in Python
    (lower case, accents stripped, everything but a-z0-9 removed, then the word lists)."""
    if value is None:
        return None
    s = "".join(ch for ch in unicodedata.normalize("NFD", str(value)) if not unicodedata.combining(ch))
    key = re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFC", s).lower())
    if key in _SEX_MALE:
        return "M"
    if key in _SEX_FEMALE:
        return "F"
    return None


def _names_batches(batches):
    from vaxstudy.standardize.names import name_table

    for pdf in batches:
        yield name_table(pdf["name_original"])


def _sex_batches(batches):
    import pandas as pd

    for pdf in batches:
        raw = pdf["raw"]
        yield pd.DataFrame({"raw": raw, "sex": [sex_code(v) for v in raw]})


# ---- Spark SQL rules ----------------------------------------------------------------------------

def _id_digits(col: str) -> str:
    d = f"regexp_replace(regexp_replace(CAST({col} AS STRING), {_DOT0}, ''), '[^0-9]', '')"
    return f"nullif(CASE WHEN length({d}) = 11 THEN concat('0', {d}) ELSE {d} END, '')"


def _id_fields(d: str, sex: str, birth_year: str, province_codes) -> dict[str, str]:
    in_list = ", ".join(f"'{c}'" for c in province_codes)
    is_cccd = f"({d} IS NOT NULL AND length({d}) = 12)"
    g = f"CAST(substr({d}, 4, 1) AS INT)"
    id_sex = f"CASE WHEN {g} % 2 = 0 THEN 'M' ELSE 'F' END"
    id_year = f"(1900 + 100 * ({g} div 2) + CAST(substr({d}, 5, 2) AS INT))"
    return {
        "id_number": d,
        "id_type": (f"CASE WHEN {d} IS NULL THEN NULL WHEN length({d}) = 12 THEN 'CCCD' "
                    f"WHEN length({d}) = 9 THEN 'CMND' ELSE 'invalid' END"),
        "id_province_code": (f"CASE WHEN {is_cccd} AND substr({d}, 1, 1) = '0' AND substr({d}, 2, 2) IN "
                             f"({in_list}) THEN substr({d}, 2, 2) END"),
        "id_consistent": (f"CASE WHEN NOT {is_cccd} OR ({sex} IS NULL AND {birth_year} IS NULL) THEN NULL "
                          f"ELSE coalesce({id_sex} = {sex}, TRUE) AND coalesce({id_year} = {birth_year}, TRUE) END"),
    }


def _phone_national(col: str) -> str:
    d = f"regexp_replace(regexp_replace(CAST({col} AS STRING), {_DOT0}, ''), '[^0-9]', '')"
    return (f"CASE WHEN {d} LIKE '0084%' THEN concat('0', substr({d}, 5)) "
            f"WHEN {d} LIKE '84%' AND length({d}) IN (11, 12) THEN concat('0', substr({d}, 3)) "
            f"WHEN length({d}) = 9 AND substr({d}, 1, 1) IN ('3','5','7','8','9') THEN concat('0', {d}) "
            f"WHEN length({d}) = 10 AND substr({d}, 1, 1) IN ('1','2') THEN concat('0', {d}) "
            f"ELSE {d} END")


def _phone_convert(n: str) -> str:
    cases = " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in OLD_MOBILE_PREFIXES.items())
    return (f"CASE WHEN length({n}) = 11 THEN coalesce(concat(CASE substr({n}, 1, 4) {cases} END, "
            f"substr({n}, 5)), {n}) ELSE {n} END")


_MOBILE = _lit(r"^0[35789][0-9]{8}\z")
_LANDLINE = _lit(r"^02[0-9]{9}\z")


def _phone_fields(c: str, typed: str) -> dict[str, str]:
    valid = f"({c} RLIKE {_MOBILE} OR {c} RLIKE {_LANDLINE})"
    return {
        "phone": f"CASE WHEN {valid} THEN {c} END",
        "phone_valid": f"CASE WHEN nullif(trim(CAST({typed} AS STRING)), '') IS NULL THEN NULL ELSE {valid} END",
    }


def _code(col: str, width: int) -> str:
    d = f"regexp_replace(trim(CAST({col} AS STRING)), {_DOT0}, '')"
    pattern = _lit(r"^[0-9]{1,%d}\z" % width)
    return f"CASE WHEN {d} RLIKE {pattern} THEN lpad({d}, {width}, '0') END"


def _valid_date(y: str, m: str, d: str) -> str:
    """make_date(y, m, d) where that day exists, else NULL (never raises, ANSI mode or not)."""
    return (f"CASE WHEN {m} BETWEEN 1 AND 12 AND {d} >= 1 THEN "
            f"CASE WHEN {d} <= day(last_day(make_date({y}, {m}, 1))) THEN make_date({y}, {m}, {d}) END END")


def dob_table_sql(source: str) -> str:
    """Spark SQL twin of ``vaxstudy.standardize.dates.dob_table_sql``: over ``source`` (a
    table/view with a STRING column ``raw``) one row per distinct raw with dob, birth_year,
    dob_precision, dob_ambiguous."""
    iso = _lit(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})([ T].*)?\z")
    dmy = _lit(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})\z")
    yo = _lit(r"^(\d{4})(\.0)?\z")
    return f"""
    WITH _d AS (SELECT DISTINCT raw FROM {source} WHERE raw IS NOT NULL),
    _p AS (
        SELECT raw,
               regexp_extract(trim(raw), {iso}, 1) AS iso_y, regexp_extract(trim(raw), {iso}, 2) AS iso_m,
               regexp_extract(trim(raw), {iso}, 3) AS iso_d,
               regexp_extract(trim(raw), {dmy}, 1) AS dmy_a, regexp_extract(trim(raw), {dmy}, 2) AS dmy_b,
               regexp_extract(trim(raw), {dmy}, 3) AS dmy_y,
               regexp_extract(trim(raw), {yo}, 1) AS yo_y
        FROM _d),
    _n AS (
        SELECT raw,
               CASE WHEN iso_y <> '' THEN 'iso' WHEN dmy_y <> '' THEN 'dmy' WHEN yo_y <> '' THEN 'year' END AS kind,
               CASE WHEN iso_y <> '' THEN CAST(iso_y AS INT)
                    WHEN length(dmy_y) = 4 THEN CAST(dmy_y AS INT)
                    WHEN length(dmy_y) = 2 THEN CAST(dmy_y AS INT)
                         + CASE WHEN CAST(dmy_y AS INT) <= {TWO_DIGIT_PIVOT} THEN 2000 ELSE 1900 END
                    WHEN yo_y <> '' THEN CAST(yo_y AS INT) END AS y,
               CASE WHEN iso_y <> '' THEN CAST(iso_m AS INT) ELSE CAST(nullif(dmy_b, '') AS INT) END AS m,
               CASE WHEN iso_y <> '' THEN CAST(iso_d AS INT) ELSE CAST(nullif(dmy_a, '') AS INT) END AS d
        FROM _p),
    _y AS (SELECT raw, kind, m, d, CASE WHEN y BETWEEN {MIN_YEAR} AND {MAX_YEAR} THEN y END AS y FROM _n),
    _t AS (
        SELECT raw, kind, y, m, d,
               {_valid_date('y', 'm', 'd')} AS first_try,
               CASE WHEN kind = 'dmy' THEN {_valid_date('y', 'd', 'm')} END AS swapped
        FROM _y WHERE y IS NOT NULL AND kind IN ('iso', 'dmy')
    )
    SELECT _y.raw,
           coalesce(_t.first_try, CASE WHEN _t.m > 12 THEN _t.swapped END) AS dob,
           _y.y AS birth_year,
           CASE WHEN coalesce(_t.first_try, CASE WHEN _t.m > 12 THEN _t.swapped END) IS NOT NULL THEN 'day'
                WHEN _y.y IS NOT NULL THEN 'year' END AS dob_precision,
           CASE WHEN _t.first_try IS NOT NULL AND _t.kind = 'dmy' THEN _t.d <= 12 AND _t.m <= 12 AND _t.d <> _t.m
                WHEN coalesce(_t.first_try, _t.swapped) IS NOT NULL THEN FALSE END AS dob_ambiguous
    FROM _y LEFT JOIN _t ON _t.raw = _y.raw
    """


def _person_select(src: str, id_col: str, dob: dict[str, str], id_number_col: str, extra: str,
                   province_codes) -> str:
    """Spark SQL twin of ``vaxstudy.standardize._person_select`` (same staging, same columns)."""
    ids = _id_fields("_s._idd", "_s._sex_std", "_s.birth_year", province_codes)
    ph = _phone_fields("_s._phc", "_s._phone_typed")
    return f"""
    WITH _s1 AS (
        SELECT t.*, CAST({id_col} AS STRING) AS _uid, t.full_name AS _name,
               {dob['dob']} AS dob, {dob['birth_year']} AS birth_year,
               {dob['dob_precision']} AS dob_precision, {dob['dob_ambiguous']} AS dob_ambiguous,
               _x.sex AS _sex_std, {_id_digits(id_number_col)} AS _idd,
               t.phone AS _phone_typed, {_phone_national('t.phone')} AS _phn,
               {_code('t.province_code', WIDTH['province_code'])} AS _prov,
               {_code('t.district_code', WIDTH['district_code'])} AS _dist,
               {_code('t.commune_code', WIDTH['commune_code'])} AS _comm,
               {', '.join(f'_n.{c} AS _n_{c}' for c in NAME_COLUMNS)}
        FROM {src}
    ), _s AS (
        SELECT /*+ BROADCAST(_g) */ _s1.*, {_phone_convert('_s1._phn')} AS _phc, _g.district_code AS _geo_dist
        FROM _s1 LEFT JOIN _geo_communes _g ON _g.commune_code = _s1._comm
    )
    SELECT _s._uid AS unique_id, _s._name AS name_original,
           {', '.join(f'_s._n_{c} AS {c}' for c in NAME_COLUMNS)},
           _s.dob, _s.birth_year, _s.dob_precision, _s.dob_ambiguous, _s._sex_std AS sex,
           {ids['id_number']} AS id_number, {ids['id_type']} AS id_type,
           {ids['id_province_code']} AS id_province_code, {ids['id_consistent']} AS id_consistent,
           {ph['phone']} AS phone, {ph['phone_valid']} AS phone_valid,
           _s._prov AS province_code, _s._dist AS district_code, _s._comm AS commune_code,
           CASE WHEN _s._comm IS NULL THEN NULL ELSE coalesce(_s._geo_dist = _s._dist, FALSE) END AS commune_valid
           {extra}
    FROM _s
    """


def standardize_spark(spark: Any, population: Any, vaccinations: Any) -> tuple[Any, Any]:
    """(population_std, vaccinations_std) Spark DataFrames from the raw tables (Spark
    DataFrames with the columns of docs/design.md "Raw tables"). Lazy: nothing runs until
    the results are written."""
    from pyspark.sql import functions as F

    from vaxstudy import geo

    pop = population.withColumn("sex", F.col("sex").cast("string"))
    vax = vaccinations.withColumn("sex", F.col("sex").cast("string"))
    pop.createOrReplaceTempView("_vs_population")
    vax.createOrReplaceTempView("_vs_vaccinations")
    spark.createDataFrame(geo.communes()[["commune_code", "district_code"]].astype(str)) \
        .createOrReplaceTempView("_geo_communes")

    names = (pop.select(F.col("full_name").cast("string").alias("name_original"))
             .union(vax.select(F.col("full_name").cast("string").alias("name_original")))
             .where(F.col("name_original").isNotNull()).distinct())
    name_schema = ", ".join(["name_original string", *(f"{c} string" for c in NAME_COLUMNS)])
    # the three lookups are used by both tables: computed once, kept (small: distinct values)
    names.mapInPandas(_names_batches, name_schema).persist().createOrReplaceTempView("_names")

    sexes = (pop.select(F.col("sex").alias("raw")).union(vax.select(F.col("sex").alias("raw")))
             .where(F.col("raw").isNotNull()).distinct())
    sexes.mapInPandas(_sex_batches, "raw string, sex string").persist().createOrReplaceTempView("_sexes")

    spark.sql(dob_table_sql("(SELECT CAST(date_of_birth AS STRING) AS raw FROM _vs_vaccinations)")) \
        .persist().createOrReplaceTempView("_vdob")

    provinces = geo.provinces()["province_code"].tolist()
    pop_dob = {
        "dob": "CAST(t.date_of_birth AS DATE)",
        "birth_year": "CAST(year(t.date_of_birth) AS INT)",
        "dob_precision": "CASE WHEN t.date_of_birth IS NOT NULL THEN 'day' END",
        "dob_ambiguous": "CASE WHEN t.date_of_birth IS NOT NULL THEN FALSE END",
    }
    pop_std = spark.sql(_person_select(
        "_vs_population t LEFT JOIN _names _n ON _n.name_original = t.full_name "
        "LEFT JOIN _sexes _x ON _x.raw = t.sex",
        "t.person_id", pop_dob, "t.person_id", "", provinces))
    vac_dob = {c: f"_d.{c}" for c in ("dob", "birth_year", "dob_precision", "dob_ambiguous")}
    extra = ", " + ", ".join(f"_s.{c}" for c in VACCINATION_EXTRA)
    vax_std = spark.sql(_person_select(
        "_vs_vaccinations t LEFT JOIN _names _n ON _n.name_original = t.full_name "
        "LEFT JOIN _sexes _x ON _x.raw = t.sex "
        "LEFT JOIN _vdob _d ON _d.raw = CAST(t.date_of_birth AS STRING)",
        "t.record_id", vac_dob, "t.id_number", extra, provinces))
    return pop_std, vax_std


def release(spark: Any) -> None:
    """Unpersist the distinct-value lookups of :func:`standardize_spark` and drop its views."""
    for view in ("_names", "_sexes", "_vdob"):
        if spark.catalog.tableExists(view):
            spark.table(view).unpersist()
    for view in ("_names", "_sexes", "_vdob", "_vs_population", "_vs_vaccinations", "_geo_communes"):
        spark.catalog.dropTempView(view)


def standardize_parquet(spark: Any, population: str | Path, vaccinations: str | Path,
                        out_dir: str | Path) -> dict[str, str]:
    """Parquet in, Parquet out (shared storage on a cluster): writes
    ``out_dir/population_std`` and ``out_dir/vaccinations_std``; returns their paths."""
    pop_std, vax_std = standardize_spark(spark, spark.read.parquet(str(population)),
                                         spark.read.parquet(str(vaccinations)))
    out = {"population_std": f"{str(out_dir).rstrip('/')}/population_std",
           "vaccinations_std": f"{str(out_dir).rstrip('/')}/vaccinations_std"}
    pop_std.write.mode("overwrite").parquet(out["population_std"])
    vax_std.write.mode("overwrite").parquet(out["vaccinations_std"])
    release(spark)
    return out


def standardize_db_spark(backend: Any, db_path: str | Path,
                         progress: Callable[[str], None] | None = None) -> None:
    """The standardise stage of a project database, computed on Spark: the raw tables go to
    Parquet in the backend's work_dir, Spark standardises them (Parquet again) and the results
    become population_std / vaccinations_std of ``db_path``, typed and ordered exactly as
    ``vaxstudy.standardize.standardize_db`` leaves them."""
    from vaxstudy.standardize import open_ingested_db

    say = progress or (lambda msg: None)
    con = open_ingested_db(db_path)
    try:
        say("raw tables → Parquet")
        spark = backend.session
        raw = {t: backend.duckdb_to_parquet(con, t, t) for t in ("population", "vaccinations")}
        say("names, sex, dates of birth (distinct values) and row rules on Spark → Parquet")
        out = standardize_parquet(spark, raw["population"], raw["vaccinations"], backend._scratch("std"))
        for name, cols, order in (
            ("population_std", PERSON_COLUMNS, "unique_id"),
            ("vaccinations_std", PERSON_COLUMNS + VACCINATION_EXTRA, "_row"),
        ):
            say(name)
            sel = ", ".join(f"CAST(\"{c}\" AS {_TYPES.get(c, 'VARCHAR')}) AS \"{c}\"" for c in cols)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {sel} FROM "
                        f"read_parquet('{Path(out[name]).as_posix()}/*.parquet') ORDER BY {order}")
    finally:
        con.close()
