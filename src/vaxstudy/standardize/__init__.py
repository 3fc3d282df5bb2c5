"""Vietnamese standardisation: raw ``population`` / ``vaccinations`` → ``population_std`` /
``vaccinations_std`` with the person columns of docs/design.md, so Splink can compare them.

Everything runs in DuckDB SQL, except names, which are standardised in Python once per
DISTINCT name (a province has millions of rows but far fewer distinct names) and joined
back. Rules live in the sibling modules: names, dates, ids, phones, sex, admin.
"""

from __future__ import annotations

from pathlib import Path

from vaxstudy.standardize.admin import WIDTH, code_sql, commune_valid_sql, register_geo
from vaxstudy.standardize.dates import dob_table_sql
from vaxstudy.standardize.ids import id_digits_sql, id_fields_sql
from vaxstudy.standardize.names import NAME_COLUMNS, name_table, normalize_name, standardize_name
from vaxstudy.standardize.phones import phone_convert_sql, phone_fields_sql, phone_national_sql
from vaxstudy.standardize.sex import sex_sql

#: Person columns shared by population_std and vaccinations_std (design.md order).
PERSON_COLUMNS = (
    "unique_id", "name_original", *NAME_COLUMNS,
    "dob", "birth_year", "dob_precision", "dob_ambiguous", "sex",
    "id_number", "id_type", "id_province_code", "id_consistent",
    "phone", "phone_valid", "province_code", "district_code", "commune_code", "commune_valid",
)
#: Extra columns of vaccinations_std.
VACCINATION_EXTRA = ("record_id", "subject_id", "vaccination_date", "dose_number", "vaccine",
                     "site_id", "entered_date", "_row")

__all__ = [
    "PERSON_COLUMNS", "VACCINATION_EXTRA", "incomplete_register_query", "open_ingested_db",
    "standardize_db", "standardize_name", "normalize_name", "std_queries",
]


def _person_select(src: str, id_col: str, name_col: str, dob_cols: dict[str, str], id_number_col: str,
                   sex: str | None = None) -> str:
    """SELECT of the person columns from ``src`` (a FROM clause with alias t, _n names, _d dob).

    Staged so each costly expression (regexes, the phone table) runs once per row. ``sex``:
    SQL of the standardised sex (default :func:`sex_sql` of ``t.sex``).
    """
    ids = id_fields_sql("_s._idd", "_s.sex", "_s.birth_year")
    ph = phone_fields_sql("_s._phc", "_s._phone_typed")
    return f"""
    WITH _s1 AS (
        SELECT t.* EXCLUDE (sex), CAST({id_col} AS VARCHAR) AS _uid, {name_col} AS _name,
               {dob_cols['dob']} AS dob, {dob_cols['birth_year']} AS birth_year,
               {dob_cols['dob_precision']} AS dob_precision, {dob_cols['dob_ambiguous']} AS dob_ambiguous,
               {sex or sex_sql('t.sex')} AS sex, {id_digits_sql(id_number_col)} AS _idd,
               t.phone AS _phone_typed, {phone_national_sql('t.phone')} AS _phn,
               {code_sql('t.province_code', WIDTH['province_code'])} AS _prov,
               {code_sql('t.district_code', WIDTH['district_code'])} AS _dist,
               {code_sql('t.commune_code', WIDTH['commune_code'])} AS _comm,
               {', '.join(f'_n.{c} AS _n_{c}' for c in NAME_COLUMNS)}
        FROM {src}
    ), _s AS (
        SELECT _s1.*, {phone_convert_sql('_s1._phn')} AS _phc, _g.district_code AS _geo_dist
        FROM _s1 LEFT JOIN _geo_communes _g ON _g.commune_code = _s1._comm
    )
    SELECT _s._uid AS unique_id, _s._name AS name_original,
           {', '.join(f'_s._n_{c} AS {c}' for c in NAME_COLUMNS)},
           _s.dob, _s.birth_year, _s.dob_precision, _s.dob_ambiguous, _s.sex,
           {ids['id_number']} AS id_number, {ids['id_type']} AS id_type,
           {ids['id_province_code']} AS id_province_code, {ids['id_consistent']} AS id_consistent,
           {ph['phone']} AS phone, {ph['phone_valid']} AS phone_valid,
           _s._prov AS province_code, _s._dist AS district_code, _s._comm AS commune_code,
           {commune_valid_sql('_s._comm', '_s._dist', '_s._geo_dist')} AS commune_valid
           {{extra}}
    FROM _s
    """


def std_queries(population: str = "population", vaccinations: str = "vaccinations",
                sexes: str | None = None) -> dict[str, str]:
    """The standardise stage's SQL, in the DuckDB dialect: ``_vdob`` (dates of birth per
    distinct typed value), ``population_std`` and ``vaccinations_std`` (unordered), over the
    raw tables ``population`` / ``vaccinations`` and the lookups ``_names``, ``_vdob`` and
    ``_geo_communes``. ``sexes``: a lookup table (raw, sex) to take sex from, instead of
    :func:`sex_sql` (which needs DuckDB's strip_accents). The Spark backend runs these very
    queries, transpiled (``vaxstudy.engines.spark.standardize``)."""
    pop_dob = {
        "dob": "t.date_of_birth",
        "birth_year": "CAST(year(t.date_of_birth) AS INTEGER)",
        "dob_precision": "CASE WHEN t.date_of_birth IS NOT NULL THEN 'day' END",
        # the register holds a typed date: no day/month doubt of its own
        "dob_ambiguous": "CASE WHEN t.date_of_birth IS NOT NULL THEN FALSE END",
    }
    vac_dob = {c: f"_d.{c}" for c in ("dob", "birth_year", "dob_precision", "dob_ambiguous")}
    names = "LEFT JOIN _names _n ON _n.name_original = t.full_name"
    sex = None
    if sexes:
        names += f" LEFT JOIN {sexes} _x ON _x.raw = t.sex"
        sex = "_x.sex"
    extra = ", " + ", ".join(f"_s.{c}" for c in VACCINATION_EXTRA)
    return {
        "_vdob": dob_table_sql(f"SELECT CAST(date_of_birth AS VARCHAR) AS raw FROM {vaccinations}"),
        "population_std": _person_select(
            f"{population} t {names}", "t.person_id", "t.full_name", pop_dob, "t.person_id", sex,
        ).replace("{extra}", ""),
        "vaccinations_std": _person_select(
            f"{vaccinations} t {names} LEFT JOIN _vdob _d ON _d.raw = CAST(t.date_of_birth AS VARCHAR)",
            "t.record_id", "t.full_name", vac_dob, "t.id_number", sex,
        ).replace("{extra}", extra),
    }


def incomplete_register_query(table: str = "population_incomplete") -> str:
    """The register's own standardisation (population_std's SQL) over ``table``: the register
    rows quarantined for a missing date of birth only (:func:`vaxstudy.ingest.incomplete_register_sql`),
    which the link scores as candidates apart from the register (vaxstudy.link.incomplete)."""
    return std_queries(population=table)["population_std"]


def open_ingested_db(db_path):
    """A DuckDB connection to a project database that `vaxstudy ingest` has filled.

    Raises FileNotFoundError / ValueError naming what is missing, before any work starts.
    """
    import duckdb

    db_path = Path(db_path)
    if not db_path.exists():
        raise FileNotFoundError(f"{db_path}: database not found; run `vaxstudy ingest` first")
    con = duckdb.connect(str(db_path))
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    for needed in ("population", "vaccinations"):
        if needed not in tables:
            con.close()
            raise ValueError(f"{db_path}: table {needed!r} missing; run `vaxstudy ingest` first")
    return con


def standardize_db(db_path, progress=None) -> None:
    """Build population_std and vaccinations_std in the DuckDB file ``db_path`` (replacing them).

    ``progress`` (optional) is called with a short message before each step.
    """
    say = progress or (lambda msg: None)
    con = open_ingested_db(db_path)
    try:
        register_geo(con)

        say("names (distinct values)")
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        incomplete = "population_incomplete" in tables
        names = con.execute(
            "SELECT full_name FROM population WHERE full_name IS NOT NULL "
            "UNION SELECT full_name FROM vaccinations WHERE full_name IS NOT NULL"
            + (" UNION SELECT full_name FROM population_incomplete WHERE full_name IS NOT NULL"
               if incomplete else "")
        ).fetchdf()["full_name"]
        con.register("_names_df", name_table(names))
        con.execute("CREATE OR REPLACE TEMP TABLE _names AS SELECT * FROM _names_df")
        con.unregister("_names_df")

        q = std_queries()
        say("dates of birth (distinct values)")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _vdob AS {q['_vdob']}")

        say("population_std")
        con.execute(f"CREATE OR REPLACE TABLE population_std AS {q['population_std']} ORDER BY unique_id")

        say("vaccinations_std")
        con.execute(f"CREATE OR REPLACE TABLE vaccinations_std AS {q['vaccinations_std']} ORDER BY _row")

        con.execute("DROP TABLE IF EXISTS population_incomplete_std")
        if incomplete:  # register rows without a date of birth: link candidates, never in the register
            say("population_incomplete_std")
            con.execute("CREATE TABLE population_incomplete_std AS "
                        f"{incomplete_register_query()} ORDER BY unique_id")
    finally:
        con.close()
