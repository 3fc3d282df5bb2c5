"""Linkage inputs, built inside DuckDB from the standardised tables.

The project database is ATTACHed to an in-memory DuckDB connection as
``proj``; Splink's scratch tables then live in memory (spilling to
``temp_directory`` when needed) and never clutter the project file. Nothing is
pulled into pandas.

Tables created in the working connection:

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

import duckdb

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
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if temp_dir:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{Path(temp_dir).as_posix()}'")
    mode = " (READ_ONLY)" if read_only else ""
    con.execute(f"ATTACH '{Path(db_path).as_posix()}' AS proj{mode}")
    return con


def table_columns(con: duckdb.DuckDBPyConnection, table: str, schema: str = "proj") -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? "
        "AND table_name = ? ORDER BY column_index",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def _clean_expr(c: str, present: set[str]) -> str:
    if c not in present:
        return "NULL"
    e = f'"{c}"'
    if c in _TEXT_NULL_IF_EMPTY:
        return f"NULLIF(TRIM(CAST({e} AS VARCHAR)), '')"
    if c in ("middle_name", "middle_name_ascii"):
        return f"COALESCE(TRIM(CAST({e} AS VARCHAR)), '')"
    if c == "dob":
        return f"TRY_CAST({e} AS DATE)"
    if c == "birth_year":
        return f"TRY_CAST({e} AS INTEGER)"
    return f"CAST({e} AS VARCHAR)"


_NAME_ASCII = (
    "COALESCE(name_ascii, NULLIF(CONCAT_WS(' ', surname_ascii, NULLIF(middle_name_ascii, ''), "
    "given_name_ascii), ''))"
)


def _layered_select(source: str, present: set[str], *, register: bool, extra: list[str]) -> str:
    """SELECT producing STD_COLUMNS and the derived columns from a *_std table.

    Layer 1 cleans what is present (empty text -> NULL); layer 2 fills the
    columns a standardiser may leave out from the others and adds the derived
    columns of settings.py.
    """
    first = [*extra] + [f"{_clean_expr(c, present)} AS {c}" for c in STD_COLUMNS]
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
        "COALESCE(birth_year, year(dob)) AS birth_year",
        "COALESCE(dob_precision, CASE WHEN dob IS NOT NULL THEN 'day' "
        "WHEN birth_year IS NOT NULL THEN 'year' END) AS dob_precision",
        "COALESCE(name_ascii, NULLIF(CONCAT_WS(' ', surname_ascii, "
        "NULLIF(middle_name_ascii, ''), given_name_ascii), '')) AS name_ascii",
        f"COALESCE(id_type, CASE WHEN {id_number} IS NULL THEN NULL "
        f"WHEN length({id_number}) = 12 THEN 'CCCD' "
        f"WHEN length({id_number}) = 9 THEN 'CMND' ELSE 'invalid' END) AS id_type",
        "CASE WHEN day(dob) <= 12 AND month(dob) <= 12 AND day(dob) <> month(dob) "
        "THEN make_date(year(dob), day(dob), month(dob)) END AS dob_swapped",
        f"CASE WHEN length({id_number}) = 12 THEN left({id_number}, 6) END AS id_prefix",
        "array_to_string(list_sort(string_split(COALESCE(name_ascii, NULLIF(CONCAT_WS(' ', "
        "surname_ascii, NULLIF(middle_name_ascii, ''), given_name_ascii), '')), ' ')), ' ') "
        "AS name_key",
        f"CASE WHEN len(string_split({_NAME_ASCII}, ' ')) > 1 THEN array_to_string("
        f"list_concat(string_split({_NAME_ASCII}, ' ')[2:], string_split({_NAME_ASCII}, ' ')[1:1]), ' ') "
        "END AS name_rot",
        "CASE WHEN dob IS NULL THEN birth_year END AS year_only_birth_year",
        "CASE WHEN district_code IS NULL AND commune_code IS NULL THEN dob END AS dob_no_address",
        "CASE WHEN district_code IS NULL AND commune_code IS NULL THEN birth_year END "
        "AS year_no_address",
    ]
    replaced = "id_number, birth_year, dob_precision, name_ascii, id_type, _pid"
    return (
        f"SELECT * EXCLUDE ({replaced}), {', '.join(second)} "
        f"FROM (SELECT {', '.join(first)} FROM {source}) t1"
    )


def prepare_inputs(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Create link_reg, link_rows and link_vax; return their row counts."""
    pop_cols = set(table_columns(con, "population_std"))
    vax_cols = set(table_columns(con, "vaccinations_std"))
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
    )
    con.execute(f"CREATE OR REPLACE TABLE link_reg AS {reg_sql}")

    keep = {
        "record_id": "CAST(record_id AS VARCHAR)",
        "subject_id": "CAST(subject_id AS VARCHAR)",
        "dose_number": "TRY_CAST(dose_number AS INTEGER)",
        "vaccination_date": "TRY_CAST(vaccination_date AS DATE)",
        "vaccine": "CAST(vaccine AS VARCHAR)",
        "site_id": "CAST(site_id AS VARCHAR)",
        "_row": "CAST(_row AS BIGINT)",
    }
    if "record_id" not in vax_cols:
        keep["record_id"] = "CAST(unique_id AS VARCHAR)"
    extra = [f"{keep[k] if (k in vax_cols or k == 'record_id') else 'NULL'} AS {k}" for k in keep]
    rows_sql = _layered_select("proj.vaccinations_std", vax_cols, register=False, extra=extra)
    from vaxstudy.link.settings import LINK_COLUMNS

    ident_cols = [c for c in LINK_COLUMNS if c != "unique_id"]
    order = ", ".join(ident_cols)
    # identity = 64-bit hash of the compared fields (no sort); checked below
    con.execute(
        f"""CREATE OR REPLACE TABLE link_rows AS
        SELECT *, 'v' || CAST(hash({order}) AS VARCHAR) AS ident FROM ({rows_sql}) s"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE link_vax AS
        SELECT 'v' || CAST(hash({order}) AS VARCHAR) AS unique_id, *
        FROM (SELECT DISTINCT {order} FROM link_rows)"""
    )
    n_groups, n_ident = con.execute(
        "SELECT count(*), count(DISTINCT unique_id) FROM link_vax").fetchall()[0]
    if n_groups != n_ident:  # a hash collision (odds ~1e-8 at a million identities)
        log.warning("identity hash collision: numbering identities by sorting instead")
        con.execute(
            f"""CREATE OR REPLACE TABLE link_rows AS SELECT * EXCLUDE (ident),
            'v' || CAST(dense_rank() OVER (ORDER BY {order}) AS VARCHAR) AS ident FROM link_rows"""
        )
        con.execute(
            f"""CREATE OR REPLACE TABLE link_vax AS
            SELECT ident AS unique_id, {order} FROM (SELECT DISTINCT ON (ident) * FROM link_rows)"""
        )
    con.execute(
        "CREATE OR REPLACE TABLE link_rows AS SELECT record_id, subject_id, dose_number, "
        "vaccination_date, vaccine, site_id, _row, ident FROM link_rows"
    )
    n = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for t in ("link_reg", "link_rows", "link_vax")
    }
    return n
