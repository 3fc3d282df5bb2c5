"""Linkage inputs, built by the backend's engine from the standardised tables.

The project database is ATTACHed to an in-memory DuckDB connection as
``proj``; Splink's scratch tables then live in memory (spilling to
``temp_directory`` when needed) and never clutter the project file. Nothing is
pulled into pandas. The three tables are the backend's working tables
(``Backend.create_table``): tables of that connection on DuckDB, tables on the
cluster on Spark, made by the same SQL (DuckDB dialect, transpiled for Spark).

Tables created:

* ``link_reg``   one row per register person (unique_id = person_id)
* ``link_rows``  one row per vaccination record: record_id, subject_id,
  dose_number, vaccination_date, vaccine, site_id, _row and ``ident``
* ``link_vax``   one row per distinct *identity* among the vaccination rows
  (all compared columns equal), unique_id = ``ident``. The doses of one
  profile usually repeat the same identity, so the model scores each identity
  once and every row inherits its identity's result.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import duckdb

from vaxstudy.sql import DUCKDB_TRIM_CHARS, attach, literal, path_literal, table_columns
from vaxstudy.link.settings import STD_COLUMNS

log = logging.getLogger(__name__)

_TEXT_NULL_IF_EMPTY = {
    "name_norm",
    "surname",
    "given_name",
    "surname_ascii",
    "given_name_ascii",
    "name_ascii",
    "sex",
    "id_number",
    "id_type",
    "phone",
    "district_code",
    "commune_code",
    "dob_precision",
}


def open_work_connection(
    db_path: str | Path,
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_dir: str | Path | None = None,
    read_only: bool = False,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the project database attached as proj."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if memory_limit:
        con.execute(f"SET memory_limit = {literal(memory_limit)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if temp_dir:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = {path_literal(temp_dir)}")
    attach(con, db_path, "proj", read_only=read_only)
    return con


def record_key(cols: set[str]) -> str:
    """The record's id as the link stage reads it: record_id, else unique_id (``cols``: the
    columns of vaccinations_std)."""
    return "CAST(record_id AS VARCHAR)" if "record_id" in cols else "CAST(unique_id AS VARCHAR)"


def _clean_expr(c: str, present: set[str], duckdb_trim: bool = False) -> str:
    if c not in present:
        return "NULL"
    e = f'"{c}"'
    if c in _TEXT_NULL_IF_EMPTY:
        return f"NULLIF({_trim(f'CAST({e} AS VARCHAR)', duckdb_trim)}, '')"
    if c in ("middle_name", "middle_name_ascii"):
        return f"COALESCE({_trim(f'CAST({e} AS VARCHAR)', duckdb_trim)}, '')"
    if c == "dob":
        return f"TRY_CAST({e} AS DATE)"
    if c == "birth_year":
        return f"TRY_CAST({e} AS INTEGER)"
    return f"CAST({e} AS VARCHAR)"


def _trim(e: str, duckdb_trim: bool = False) -> str:
    """DuckDB's one-argument trim; for another engine spelled with its characters so Spark
    strips the same ones (Spark's one-argument trim strips ' ' only; DuckDB's two forms agree
    on every code point). On DuckDB the one-argument form is kept: the two-argument form with
    those 17 characters cost 5x the time of the whole layer (measured: 3.1 s against 0.7 s
    for the 13 text columns of a 343,000-row register)."""
    if duckdb_trim:
        return f"TRIM({e})"
    return f"TRIM({e}, {literal(DUCKDB_TRIM_CHARS)})"


_NAME_ASCII = (
    "COALESCE(name_ascii, NULLIF(CONCAT_WS(' ', surname_ascii, NULLIF(middle_name_ascii, ''), "
    "given_name_ascii), ''))"
)

#: the columns layer 2 recomputes (they leave layer 1's list and come back after it)
_REPLACED = ("id_number", "birth_year", "dob_precision", "name_ascii", "id_type", "_pid")


def _layered_select(source: str, present: set[str], *, register: bool, extra: list[str],
                    duckdb_trim: bool = False) -> str:
    """SELECT producing STD_COLUMNS and the derived columns from a *_std table.

    Layer 1 cleans what is present (empty text -> NULL); layer 2 fills the
    columns a standardiser may leave out from the others and adds the derived
    columns of settings.py.

    Written once, in SQL that DuckDB runs and that ``duckdb_query_to_spark`` turns into Spark
    SQL with the same results: the sorted name key is ``array_sort(split(...))`` on Spark, the
    rotated name is cut at its first space (the same string as DuckDB's list rotation), the
    columns are listed (no ``* EXCLUDE``). ``duckdb_trim``: the SQL runs on DuckDB (its own
    trim, see :func:`_trim`).
    """
    first = [*extra] + [f"{_clean_expr(c, present, duckdb_trim)} AS {c}" for c in STD_COLUMNS]
    if register:
        # The register's person_id is the citizen's CCCD.
        first.append(
            "NULLIF(regexp_replace(CAST(unique_id AS VARCHAR), '[^0-9]', '', 'g'), '') AS _pid"
        )
    else:
        first.append("NULL AS _pid")
    id_number = "COALESCE(id_number, _pid)"
    second = [
        f"{id_number} AS id_number",
        # year() is BIGINT in DuckDB, INT in Spark: the column is BIGINT in both
        "COALESCE(birth_year, CAST(year(dob) AS BIGINT)) AS birth_year",
        "COALESCE(dob_precision, CASE WHEN dob IS NOT NULL THEN 'day' "
        "WHEN birth_year IS NOT NULL THEN 'year' END) AS dob_precision",
        f"{_NAME_ASCII} AS name_ascii",
        f"COALESCE(id_type, CASE WHEN {id_number} IS NULL THEN NULL "
        f"WHEN length({id_number}) = 12 THEN 'CCCD' "
        f"WHEN length({id_number}) = 9 THEN 'CMND' ELSE 'invalid' END) AS id_type",
        "CASE WHEN day(dob) <= 12 AND month(dob) <= 12 AND day(dob) <> month(dob) "
        "THEN make_date(year(dob), day(dob), month(dob)) END AS dob_swapped",
        f"CASE WHEN length({id_number}) = 12 THEN left({id_number}, 6) END AS id_prefix",
        f"array_to_string(list_sort(string_split({_NAME_ASCII}, ' ')), ' ') AS name_key",
        # the words rotated by one (first word last): what follows the first space, a space,
        # what precedes it; NULL for a one-word name
        f"CASE WHEN strpos({_NAME_ASCII}, ' ') > 0 THEN substr({_NAME_ASCII}, strpos({_NAME_ASCII}, ' ') + 1)"
        f" || ' ' || left({_NAME_ASCII}, strpos({_NAME_ASCII}, ' ') - 1) END AS name_rot",
        "CASE WHEN dob IS NULL THEN birth_year END AS year_only_birth_year",
        # day and month of birth without the year (a wrong year leaves it intact)
        "CAST(month(dob) * 100 + day(dob) AS INTEGER) AS birth_md",
        "CASE WHEN district_code IS NULL AND commune_code IS NULL "
        "THEN CAST(month(dob) * 100 + day(dob) AS INTEGER) END AS md_no_address",
        # the decade of birth: the second field of the name + commune rule
        "CAST(floor(COALESCE(birth_year, year(dob)) / 10) AS INTEGER) AS birth_decade",
        # the ID cut in two, each half tagged with the length: for n digits, the first
        # floor(n/2) and the last n - floor(n/2) - 1 (the digit between belongs to neither),
        # so one changed digit or two adjacent digits swapped leave one half intact
        f"CASE WHEN length({id_number}) >= 6 THEN CAST(length({id_number}) AS VARCHAR) || ':' || "
        f"left({id_number}, CAST(floor(length({id_number}) / 2) AS INTEGER)) END AS id_head",
        f"CASE WHEN length({id_number}) >= 6 THEN CAST(length({id_number}) AS VARCHAR) || ':' || "
        f"right({id_number}, length({id_number}) - CAST(floor(length({id_number}) / 2) AS INTEGER) - 1) "
        "END AS id_tail",
        "CASE WHEN district_code IS NULL AND commune_code IS NULL THEN dob END AS dob_no_address",
        "CASE WHEN district_code IS NULL AND commune_code IS NULL THEN birth_year END "
        "AS year_no_address",
    ]
    kept = [e.rsplit(" AS ", 1)[1].strip() for e in extra] + [c for c in STD_COLUMNS if c not in _REPLACED]
    return (
        f"SELECT {', '.join(kept)}, {', '.join(second)} "
        f"FROM (SELECT {', '.join(first)} FROM {source}) t1"
    )


def prepare_inputs(con: duckdb.DuckDBPyConnection, backend: Any = None) -> dict[str, int]:
    """Create link_reg, link_rows and link_vax; return their row counts.

    The tables are working tables of ``backend`` (default: DuckDB on ``con``), made by SQL
    written once in the DuckDB dialect over ``proj.population_std`` / ``proj.vaccinations_std``;
    on Spark they are made on the cluster (the two standardised tables copied over through
    Parquet) and never exist in ``con``. An identity's id is ``'v'`` and the backend's hash of
    the compared columns (:meth:`identity_hash_sql`: DuckDB's ``hash``, Spark's ``xxhash64``),
    so the ids differ between engines, the identities do not; on a collision identities are
    numbered by sorting instead.
    """
    from vaxstudy.link.decide import engine

    be = engine(backend)
    on_duckdb = getattr(be, "name", None) == "duckdb"
    pop_cols = set(table_columns(con, "population_std", "proj"))
    vax_cols = set(table_columns(con, "vaccinations_std", "proj"))
    if not pop_cols or not vax_cols:
        raise RuntimeError(
            "population_std and vaccinations_std must exist: run `vaxstudy standardize` first"
        )
    missing = sorted((set(STD_COLUMNS) - {"name_ascii"}) - (pop_cols & vax_cols))
    if missing:
        log.warning("standardised tables lack %s; treated as missing values", missing)

    reg_sql = _layered_select(
        "proj.population_std",
        pop_cols,
        register=True,
        extra=["CAST(unique_id AS VARCHAR) AS unique_id"],
        duckdb_trim=on_duckdb,
    )
    be.tables.create_table(con, "link_reg", reg_sql)

    keep = {
        "record_id": "CAST(record_id AS VARCHAR)",
        "subject_id": "CAST(subject_id AS VARCHAR)",
        "dose_number": "TRY_CAST(dose_number AS INTEGER)",
        "vaccination_date": "TRY_CAST(vaccination_date AS DATE)",
        "vaccine": "CAST(vaccine AS VARCHAR)",
        "site_id": "CAST(site_id AS VARCHAR)",
        "_row": "CAST(_row AS BIGINT)",
    }
    keep["record_id"] = record_key(vax_cols)
    extra = [f"{keep[k] if (k in vax_cols or k == 'record_id') else 'NULL'} AS {k}" for k in keep]
    rows_sql = _layered_select("proj.vaccinations_std", vax_cols, register=False, extra=extra,
                               duckdb_trim=on_duckdb)
    from vaxstudy.link.settings import LINK_COLUMNS

    ident_cols = [c for c in LINK_COLUMNS if c != "unique_id"]
    order = ", ".join(ident_cols)
    ident = f"'v' || CAST({be.identity_hash_sql(ident_cols)} AS VARCHAR)"
    # identity = 64-bit hash of the compared fields (no sort); checked below
    be.tables.create_table(con, "link_rows", f"SELECT *, {ident} AS ident FROM ({rows_sql}) s")
    be.tables.create_table(
        con, "link_vax", f"SELECT {ident} AS unique_id, * FROM (SELECT DISTINCT {order} FROM link_rows) d"
    )
    n_groups, n_ident = be.tables.fetch(con, "SELECT count(*), count(DISTINCT unique_id) FROM link_vax")[0]
    row_cols = list(keep)
    if n_groups != n_ident:  # a hash collision (odds ~1e-8 at a million identities)
        log.warning("identity hash collision: numbering identities by sorting instead")
        be.tables.create_table(
            con, "link_rows",
            f"SELECT {', '.join(row_cols + ident_cols)}, "
            f"'v' || CAST(dense_rank() OVER (ORDER BY {order}) AS VARCHAR) AS ident FROM link_rows",
        )
        be.tables.create_table(con, "link_vax", f"SELECT DISTINCT ident AS unique_id, {order} FROM link_rows")
    be.tables.create_table(con, "link_rows", f"SELECT {', '.join(row_cols)}, ident FROM link_rows")
    # the borderline waterfall's DuckDB linker reads the two inputs on con (on Spark: views of
    # their Parquet files)
    be.tables.duckdb_views(con, ("link_reg", "link_vax"))
    return {
        t: int(be.tables.fetch(con, f"SELECT count(*) FROM {t}")[0][0])
        for t in ("link_reg", "link_rows", "link_vax")
    }
