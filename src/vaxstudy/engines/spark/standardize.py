"""The standardise stage on Spark: raw population / vaccinations → population_std / vaccinations_std.

The rules are written once, in DuckDB SQL (:func:`vaxstudy.standardize.std_queries` and the
rule builders of ids, phones, admin, dates), and run here **transpiled** by
:func:`vaxstudy.engines.spark.transpile.duckdb_rules_to_spark` (sqlglot, plus the DuckDB → Spark semantics:
RE2 → Java regexes, ``regexp_full_match``, struct ``regexp_extract``, DuckDB's ``trim``,
``printf`` and NULL, ``* EXCLUDE``), so both engines give the same results column for column
(tests/integration/test_spark_backend.py compares them on a synthetic province,
tests/integration/test_spark_sql.py rule by rule on tricky values):

* row rules (ID digits, CCCD facts, phones, administrative codes, commune check) are the
  DuckDB expressions, transpiled, evaluated where the rows are;
* dates of birth are parsed once per DISTINCT typed value (DuckDB's ``dob_table_sql``,
  transpiled), then joined back;
* names and sex need Python (Unicode normalisation, tone placement, accent stripping:
  DuckDB's ``strip_accents`` has no Spark twin): the DISTINCT values are mapped with
  ``mapInPandas`` through the very functions of ``vaxstudy.standardize`` on the executors
  (sex through :func:`sex_code`, the Python form of ``sex_sql``), then joined back. Nothing
  is collected to the driver; the GSO commune list (≈10k rows) is broadcast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from vaxstudy.standardize import PERSON_COLUMNS, VACCINATION_EXTRA, std_queries
from vaxstudy.standardize.names import NAME_COLUMNS
from vaxstudy.standardize.sex import sex_code
from vaxstudy.sql import path_literal

__all__ = ["standardize_spark", "standardize_parquet", "standardize_db_spark", "spark_std_queries", "sex_code",
           "release"]

_TYPES = {
    "dob": "DATE", "birth_year": "INTEGER", "dob_ambiguous": "BOOLEAN", "id_consistent": "BOOLEAN",
    "phone_valid": "BOOLEAN", "commune_valid": "BOOLEAN", "vaccination_date": "DATE",
    "dose_number": "INTEGER", "entered_date": "DATE", "_row": "BIGINT",
}


# ---- Python rules over distinct values --------------------------------------------------------

def _names_batches(batches):
    from vaxstudy.standardize.names import name_table

    for pdf in batches:
        yield name_table(pdf["name_original"])


def _sex_batches(batches):
    import pandas as pd

    for pdf in batches:
        raw = pdf["raw"]
        yield pd.DataFrame({"raw": raw, "sex": [sex_code(v) for v in raw]})


# ---- the DuckDB rules, transpiled ---------------------------------------------------------------

def spark_std_queries(population_columns, vaccinations_columns, population: str = "_vs_population",
                      vaccinations: str = "_vs_vaccinations") -> dict[str, str]:
    """:func:`vaxstudy.standardize.std_queries` in Spark SQL (keys ``_vdob``,
    ``population_std``, ``vaccinations_std``) over the views ``population`` / ``vaccinations``
    (whose columns are given, to expand DuckDB's ``t.* EXCLUDE (sex)``), sex from the view
    ``_sexes`` (raw, sex) that :func:`sex_code` fills."""
    from vaxstudy.engines.spark.transpile import duckdb_rules_to_spark

    q = std_queries(population, vaccinations, sexes="_sexes")
    cols = {"_vdob": None, "population_std": list(population_columns),
            "vaccinations_std": list(vaccinations_columns)}
    return {k: duckdb_rules_to_spark(sql, star_columns={"t": cols[k]} if cols[k] else None)
            for k, sql in q.items()}


def standardize_spark(spark: Any, population: Any, vaccinations: Any) -> tuple[Any, Any]:
    """(population_std, vaccinations_std) Spark DataFrames from the raw tables (Spark
    DataFrames with the columns of docs/design.md "Raw tables"). Lazy: nothing runs until
    the results are written."""
    from pyspark.sql import functions as F

    from vaxstudy import geo

    # the types DuckDB's raw tables have (a Parquet from elsewhere may differ)
    pop = population.withColumn("sex", F.col("sex").cast("string")) \
        .withColumn("date_of_birth", F.col("date_of_birth").cast("date"))
    vax = vaccinations.withColumn("sex", F.col("sex").cast("string"))
    pop.createOrReplaceTempView("_vs_population")
    vax.createOrReplaceTempView("_vs_vaccinations")
    F.broadcast(spark.createDataFrame(geo.communes()[["commune_code", "district_code"]].astype(str))) \
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

    q = spark_std_queries(pop.columns, vax.columns)
    spark.sql(q["_vdob"]).persist().createOrReplaceTempView("_vdob")
    pop_std, vax_std = spark.sql(q["population_std"]), spark.sql(q["vaccinations_std"])
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
        out = standardize_parquet(spark, raw["population"], raw["vaccinations"], backend.scratch("std"))
        for name, cols, order in (
            ("population_std", PERSON_COLUMNS, "unique_id"),
            ("vaccinations_std", PERSON_COLUMNS + VACCINATION_EXTRA, "_row"),
        ):
            say(name)
            sel = ", ".join(f"CAST(\"{c}\" AS {_TYPES.get(c, 'VARCHAR')}) AS \"{c}\"" for c in cols)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {sel} FROM "
                        f"read_parquet({path_literal(Path(out[name]) / '*.parquet')}) ORDER BY {order}")
    finally:
        con.close()
