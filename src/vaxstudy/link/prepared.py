"""What a link run prepared, kept in the project database for the next ``link --update``.

Preparing the inputs (link/prepare.py) reads and reshapes every row and the whole register;
the wide pass then adds the register's province columns and name blocks, and the scoring
counts term frequencies. An update repeats none of it when nothing it depends on changed:
a run on DuckDB keeps, in the project database,

* ``link_prep_reg``: the prepared register (the wide pass's register when there was one);
* ``link_prep_name_freq``: the wide pass's name frequencies over the register;
* ``link_prep_rows`` / ``link_prep_vax``: the prepared rows (without their entry position
  ``_row``, which an export may renumber) and their identities;
* ``link_prep_tf_<column>``: the term frequencies the last full run scored with;
* ``link_prep_meta``: the link run they belong to (``linked_at``, the model's hash) and a
  digest of the code that prepares them.

An update uses them only when they belong to the current link run (whose register and rows
the update has already checked, :mod:`vaxstudy.link.update`) and were prepared by this code;
it then prepares only the rows whose record ids are not among the run's, and adds them.
Anything else (another run, another version, an identity hash collision) and the update
prepares everything as before. The result is the same either way (tests).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from typing import Any

from vaxstudy.sql import has_table, table_columns

log = logging.getLogger(__name__)

PREFIX = "link_prep_"
META = f"{PREFIX}meta"
#: columns the wide pass adds to the prepared register (wide.add_province_columns)
WIDE_COLUMNS = ("wide_province", "given_first", "given_last", "yna_province", "name_block")


def code_digest() -> str:
    """A digest of the code that shapes the kept tables: a change to it discards them."""
    from vaxstudy.link import dedupe, prepare, settings, wide

    h = hashlib.sha256()
    for mod in (prepare, settings, wide):
        h.update(inspect.getsource(mod).encode())
    h.update(repr(dedupe.TF_COLUMNS).encode())
    return h.hexdigest()


def _tables(con: Any, schema: str = "proj") -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND starts_with(table_name, ?)",
        [schema, PREFIX]).fetchall()]


def clear(con: Any, schema: str = "proj") -> None:
    """Drop every kept table (a new full run replaces them, or leaves none on Spark)."""
    for t in _tables(con, schema):
        con.execute(f"DROP TABLE IF EXISTS {schema}.{t}")


def save(con: Any, tf_tables: dict[str, str], *, linked_at: Any, model_sha: str, schema: str = "proj") -> None:
    """Keep the working tables of the link run just done (DuckDB, tables of ``con``):
    link_reg (or wide_reg), wide_name_freq, link_rows, link_vax (or link_vax_all) and
    ``tf_tables`` (column -> table)."""
    clear(con, schema)
    reg = "wide_reg" if has_table(con, "wide_reg") and has_table(con, "wide_name_freq") else "link_reg"
    vax = "link_vax_all" if has_table(con, "link_vax_all") else "link_vax"
    con.execute(f"CREATE TABLE {schema}.{PREFIX}reg AS SELECT * FROM {reg}")
    if reg == "wide_reg":
        con.execute(f"CREATE TABLE {schema}.{PREFIX}name_freq AS SELECT * FROM wide_name_freq")
    cols = ", ".join(c for c in table_columns(con, "link_rows") if c != "_row")
    con.execute(f"CREATE TABLE {schema}.{PREFIX}rows AS SELECT {cols} FROM link_rows")
    con.execute(f"CREATE TABLE {schema}.{PREFIX}vax AS SELECT * FROM {vax}")
    for c, t in tf_tables.items():
        con.execute(f"CREATE TABLE {schema}.{PREFIX}tf_{c} AS SELECT * FROM {t}")
    # last: the tables count only once their meta row says whose they are
    con.execute(f"CREATE TABLE {schema}.{META} AS SELECT CAST(? AS TIMESTAMP) AS linked_at, "
                "CAST(? AS VARCHAR) AS model_sha256, CAST(? AS VARCHAR) AS code_digest",
                [linked_at, model_sha, code_digest()])


def add_rows(con: Any, *, linked_at: Any, schema: str = "proj") -> None:
    """After an update that used the kept tables: add its new rows and identities, and tie
    the tables to the update's run (the term frequencies stay the last full run's)."""
    cols = [c for c in table_columns(con, "link_rows") if c != "_row"]
    con.execute(f"INSERT INTO {schema}.{PREFIX}rows SELECT {', '.join(cols)} FROM link_rows "
                "WHERE record_id IN (SELECT record_id FROM prep_fresh)")
    con.execute(f"INSERT INTO {schema}.{PREFIX}vax SELECT * FROM link_vax_all "
                f"ANTI JOIN {schema}.{PREFIX}vax k USING (unique_id)")
    con.execute(f"UPDATE {schema}.{META} SET linked_at = CAST(? AS TIMESTAMP)", [linked_at])


def usable(con: Any, *, linked_at: Any, model_sha: str, schema: str = "proj") -> bool:
    """Whether the kept tables belong to the link run ``linked_at`` of model ``model_sha``
    and were prepared by this code."""
    if not has_table(con, META, schema):
        return False
    rows = con.execute(f"SELECT linked_at, model_sha256, code_digest FROM {schema}.{META}").fetchall()
    if not rows or rows[0] != (linked_at, model_sha, code_digest()):
        return False
    need = [f"{PREFIX}{t}" for t in ("reg", "rows", "vax")]
    return all(has_table(con, t, schema) for t in need)


def tf_tables(con: Any, columns: tuple[str, ...], schema: str = "proj") -> dict[str, str] | None:
    """The kept term-frequency tables (column -> table), copied into ``con``; None if one is missing."""
    if not all(has_table(con, f"{PREFIX}tf_{c}", schema) for c in columns):
        return None
    out = {}
    for c in columns:
        con.execute(f"CREATE OR REPLACE TABLE upd_tf_{c} AS SELECT * FROM {schema}.{PREFIX}tf_{c}")
        out[c] = f"upd_tf_{c}"
    return out


def restore(con: Any, be: Any, state_table: str, schema: str = "proj") -> dict[str, int] | None:
    """link_reg, link_rows and link_vax from the kept tables, preparing only the rows whose
    record id is not in ``state_table`` (the previous run's rows, already checked unchanged),
    in the export's order; with the wide pass's register, ``wide_reg`` and ``wide_name_freq``
    too. Returns the row counts as :func:`vaxstudy.link.prepare.prepare_inputs` does, or
    None (nothing created that matters) when an identity hash collides: prepare in full then."""
    from vaxstudy.link.prepare import record_key, rows_query

    reg_cols = table_columns(con, f"{PREFIX}reg", schema)
    wide = has_table(con, f"{PREFIX}name_freq", schema) and all(c in reg_cols for c in WIDE_COLUMNS)
    base_cols = ", ".join(c for c in reg_cols if c not in WIDE_COLUMNS) if wide else "*"
    # views: the register is read from the project file where it is used, never copied
    con.execute(f"CREATE OR REPLACE VIEW link_reg AS SELECT {base_cols} FROM {schema}.{PREFIX}reg")
    if wide:
        con.execute(f"CREATE OR REPLACE VIEW wide_reg AS SELECT * FROM {schema}.{PREFIX}reg")
        con.execute(f"CREATE OR REPLACE VIEW wide_name_freq AS SELECT * FROM {schema}.{PREFIX}name_freq")
    key = record_key(set(table_columns(con, "vaccinations_std", schema)))
    con.execute(f"CREATE OR REPLACE TABLE prep_fresh AS SELECT record_id FROM (SELECT {key} AS record_id "
                f"FROM {schema}.vaccinations_std) c ANTI JOIN {schema}.{state_table} s USING (record_id)")
    sql, row_cols, ident_cols = rows_query(
        con, be, f"(SELECT * FROM {schema}.vaccinations_std WHERE {key} IN (SELECT record_id FROM prep_fresh)) f")
    con.execute(f"CREATE OR REPLACE TABLE prep_new_rows AS {sql}")
    kept = [c for c in row_cols if c != "_row"]
    pos = "CAST(_row AS BIGINT)" if "_row" in table_columns(con, "vaccinations_std", schema) else "NULL"
    # every row in the export's order (as prepare_inputs reads them), _row as the export has it now
    con.execute(f"""
        CREATE OR REPLACE TABLE link_rows AS
        SELECT {', '.join(f'r.{c}' if c != '_row' else 'p._row' for c in row_cols)}, r.ident
        FROM (SELECT rowid AS _pos, {key} AS record_id, {pos} AS _row FROM {schema}.vaccinations_std) p
        JOIN (SELECT {', '.join(kept)}, ident FROM {schema}.{PREFIX}rows
              WHERE record_id IN (SELECT record_id FROM {schema}.{state_table})
              UNION ALL SELECT {', '.join(kept)}, ident FROM prep_new_rows) r USING (record_id)
        ORDER BY p._pos""")
    order = ", ".join(ident_cols)
    con.execute(f"""
        CREATE OR REPLACE TABLE link_vax AS
        SELECT * FROM {schema}.{PREFIX}vax WHERE unique_id IN (SELECT ident FROM link_rows)
        UNION SELECT DISTINCT ident AS unique_id, {order} FROM prep_new_rows""")
    n_vax, n_ident = con.execute("SELECT count(*), count(DISTINCT unique_id) FROM link_vax").fetchall()[0]
    if n_vax != n_ident:  # a new identity's hash equals another's: prepare_inputs numbers them
        log.warning("identity hash collision among the new rows: preparing every row again")
        for v in ("link_reg", "wide_reg", "wide_name_freq"):
            con.execute(f"DROP VIEW IF EXISTS {v}")
        return None
    return {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0])
            for t in ("link_reg", "link_rows", "link_vax")}
