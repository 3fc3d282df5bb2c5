"""The tables that cross stage boundaries, declared once: ``population_std``,
``vaccinations_std``, ``record_links`` and ``link_run`` (docs/design.md), with a checker
that runs in DuckDB over the whole table (a few aggregate queries, no rows pulled out).

Not pandera: with pyspark installed (the spark extra), importing pandera imports
``pyspark.pandas`` (seconds, and warnings) in every process that checks a table, and it
validates pandas frames, where these tables live in DuckDB and may hold millions of rows.
:class:`vaxstudy.study.Study` checks each table at the stage that writes it and before the
stage that reads it; a breach raises :class:`ContractError` naming table, column and rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vaxstudy.sql import has_table, ident, literal


class ContractError(ValueError):
    """A table breaks its contract (missing column, wrong type, NULL where none may be, …)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type
    nullable: bool = True
    values: tuple[str, ...] | None = None  # allowed values (besides NULL)
    unique: bool = False
    unit_interval: bool = False  # a probability: within [0, 1]
    required: bool = True  # False: an optional addition, checked only when present


def _person_columns() -> list[Column]:
    v = "VARCHAR"
    return [
        Column("unique_id", v, nullable=False, unique=True),
        *(Column(c, v) for c in ("name_original", "name_norm", "name_ascii", "surname", "middle_name", "given_name",
                                 "surname_ascii", "middle_name_ascii", "given_name_ascii")),
        Column("dob", "DATE"), Column("birth_year", "INTEGER"),
        Column("dob_precision", v, values=("day", "year")), Column("dob_ambiguous", "BOOLEAN"),
        Column("sex", v, values=("M", "F")),
        Column("id_number", v), Column("id_type", v, values=("CCCD", "CMND", "invalid")),
        Column("id_province_code", v), Column("id_consistent", "BOOLEAN"),
        Column("phone", v), Column("phone_valid", "BOOLEAN"),
        Column("province_code", v), Column("district_code", v), Column("commune_code", v),
        Column("commune_valid", "BOOLEAN"),
    ]


def _contracts() -> dict[str, list[Column]]:
    from vaxstudy.link.run import COLUMNS as LINK_RUN

    v = "VARCHAR"
    return {
        "population_std": _person_columns(),
        "vaccinations_std": _person_columns() + [
            Column("record_id", v, nullable=False, unique=True), Column("subject_id", v),
            Column("vaccination_date", "DATE"), Column("dose_number", "INTEGER"), Column("vaccine", v),
            Column("site_id", v), Column("entered_date", "DATE"), Column("_row", "BIGINT", nullable=False)],
        "record_links": [
            Column("record_id", v, nullable=False, unique=True), Column("person_id", v),
            Column("match_probability", "DOUBLE", unit_interval=True), Column("person_key", v, nullable=False),
            Column("is_duplicate_dose", "BOOLEAN", nullable=False), Column("best_person_id", v, required=False),
            Column("best_match_probability", "DOUBLE", unit_interval=True, required=False),
            Column("in_register_probability", "DOUBLE", unit_interval=True, required=False),
            Column("second_person_id", v, required=False),
            Column("second_match_probability", "DOUBLE", unit_interval=True, required=False),
            Column("incomplete_register_person_id", v, required=False),
            Column("incomplete_register_match_probability", "DOUBLE", unit_interval=True, required=False)],
        "link_run": [Column(c, t, nullable=c == "options") for c, t in LINK_RUN.items()],
    }


CONTRACTS: dict[str, list[Column]] = _contracts()


def problems(con: Any, table: str, database: str | None = None) -> list[str]:
    """What breaks the contract of ``table`` in the DuckDB connection ``con`` (empty: none)."""
    cols = CONTRACTS[table]
    if not has_table(con, table, database):
        return [f"table {table} is missing"]
    q = f"{ident(database)}.{ident(table)}" if database else ident(table)
    have = {r[0]: r[1] for r in con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
        "AND database_name = coalesce(?, current_database())", [table, database]).fetchall()}
    out = [f"{table}.{c.name}: missing" for c in cols if c.required and c.name not in have]
    out += [f"{table}.{c.name}: type {have[c.name]}, expected {c.type}"
            for c in cols if c.name in have and have[c.name] != c.type]
    checks: list[tuple[str, str]] = []
    for c in cols:
        if have.get(c.name) != c.type:  # missing or mistyped: said above, values not checked
            continue
        col = ident(c.name)
        if not c.nullable:
            checks.append((f"{c.name}: NULL values", f"count(*) FILTER (WHERE {col} IS NULL)"))
        if c.values:
            allowed = ", ".join(literal(x) for x in c.values)
            checks.append((f"{c.name}: values outside {c.values}", f"count(*) FILTER (WHERE {col} NOT IN ({allowed}))"))
        if c.unique:
            checks.append((f"{c.name}: duplicate values", f"count({col}) - count(DISTINCT {col})"))
        if c.unit_interval:
            checks.append((f"{c.name}: outside [0, 1]", f"count(*) FILTER (WHERE {col} < 0 OR {col} > 1)"))
    if checks:
        row = con.execute(f"SELECT {', '.join(sql for _, sql in checks)} FROM {q}").fetchall()[0]
        out += [f"{table}.{what} ({n:,} rows)" for (what, _), n in zip(checks, row) if n]
    return out


def check(con: Any, *tables: str, database: str | None = None) -> None:
    """Raise :class:`ContractError` if any of ``tables`` breaks its contract."""
    found = [p for t in tables for p in problems(con, t, database)]
    if found:
        raise ContractError("table contract broken: " + "; ".join(found))


def check_db(db_path: Any, *tables: str) -> None:
    """:func:`check` on the project database file ``db_path`` (opened read-only)."""
    from vaxstudy.sql import connect_readonly

    con = connect_readonly(db_path)
    try:
        check(con, *tables)
    finally:
        con.close()
