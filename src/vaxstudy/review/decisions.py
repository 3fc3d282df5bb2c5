"""Reviewers' decisions, kept and fed back: the ``review_decisions`` table and its use by the link.

``review score`` writes every ``same``/``different`` decision into the project database's
``review_decisions`` table (one row per kind, record_id and candidate_id; a later decision on
the same item replaces the earlier one) and into a copy beside the database
(``<db stem>_review_decisions.parquet`` in the restricted work folder), because the pipeline
rebuilds the database from the data folder on every run. :func:`apply_review_decisions` is the
one place the link stage consults them: a ``same`` on a record → register person pair makes
that link (probability 1), a ``different`` removes it, whatever the model said.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from vaxstudy.sql import path_literal

TABLE = "review_decisions"
DECIDED = ("same", "different")
COLUMNS = {"kind": "VARCHAR", "record_id": "VARCHAR", "candidate_id": "VARCHAR",
           "decision": "VARCHAR", "review_id": "VARCHAR", "run_fingerprint": "VARCHAR",
           "decided_at": "TIMESTAMP"}
_DDL = f"CREATE TABLE IF NOT EXISTS {{t}} ({', '.join(f'{c} {t}' for c, t in COLUMNS.items())})"


def sidecar_path(db: str | Path) -> Path:
    """The copy of the decisions that survives a rebuild of the database."""
    db = Path(db)
    return db.with_name(f"{db.stem}_{TABLE}.parquet")


def _has_table(con: duckdb.DuckDBPyConnection, table: str, database: str | None = None) -> bool:
    q = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?"
    args: list[Any] = [table]
    if database:
        q += " AND database_name = ?"
        args.append(database)
    return con.execute(q, args).fetchall()[0][0] > 0


def read_decisions(con: duckdb.DuckDBPyConnection, db: str | Path | None = None,
                   schema: str | None = None) -> pd.DataFrame:
    """The decisions on record (the table, else the copy beside ``db``), empty if none."""
    name = f"{schema}.{TABLE}" if schema else TABLE
    if _has_table(con, TABLE, schema):
        return con.execute(f"SELECT * FROM {name}").df()
    if db is not None and sidecar_path(db).exists():
        return pd.read_parquet(sidecar_path(db))
    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})


def save_decisions(db: str | Path, decisions: pd.DataFrame, fingerprint: str) -> int:
    """Upsert ``decisions`` (kind, record_id, candidate_id, decision, review_id) into the database
    and its copy; only same/different are kept. Returns the rows written."""
    d = decisions[decisions["decision"].isin(DECIDED)].copy()
    d = d.assign(run_fingerprint=fingerprint, decided_at=datetime.now(timezone.utc).replace(tzinfo=None))
    d = d[list(COLUMNS)].astype({c: "object" for c in COLUMNS if c != "decided_at"})
    con = duckdb.connect(str(db))
    try:
        con.execute(_DDL.format(t=TABLE))
        if sidecar_path(db).exists() and con.execute(f"SELECT count(*) FROM {TABLE}").fetchall()[0][0] == 0:
            con.execute(f"INSERT INTO {TABLE} SELECT * FROM read_parquet(?)", [str(sidecar_path(db))])
        con.register("new_decisions", d)
        con.execute(f"DELETE FROM {TABLE} t USING new_decisions n WHERE t.kind = n.kind "
                    "AND t.record_id = n.record_id AND t.candidate_id = n.candidate_id")
        con.execute(f"INSERT INTO {TABLE} SELECT {', '.join(COLUMNS)} FROM new_decisions")
        con.execute(f"COPY {TABLE} TO {path_literal(sidecar_path(db))} (FORMAT PARQUET)")
    finally:
        con.close()
    return len(d)


def _db_path_of(con: duckdb.DuckDBPyConnection, schema: str) -> Path | None:
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = ?", [schema]).fetchall()
    return Path(rows[0][0]) if rows and rows[0][0] else None


def apply_review_decisions(con: duckdb.DuckDBPyConnection, backend: Any = None, *,
                           links: str = "ident_link", rows: str = "link_rows",
                           schema: str = "proj") -> int:
    """Reviewers' link decisions override the model's (called once by the link stage, after its
    link decisions and before person keys and duplicate flags are derived).

    ``links`` (ident, person_id, match_probability) is the link stage's table of accepted links,
    ``rows`` maps record_id to ident. A decision is about a record; it applies to the record's
    identity (every row with the same compared fields). ``different`` removes the link to that
    person; ``same`` links the identity to the person with probability 1. The decisions are read
    from ``<schema>.review_decisions``, restored from the copy beside the database when a rebuild
    dropped the table. Returns the identities changed."""
    from vaxstudy.link.decide import engine

    be = engine(backend)
    if not _has_table(con, TABLE, schema):
        db = _db_path_of(con, schema)
        side = sidecar_path(db) if db is not None else None
        if side is None or not side.exists():
            return 0
        con.execute(f"CREATE TABLE {schema}.{TABLE} AS SELECT * FROM read_parquet(?)", [str(side)])
    n = con.execute(f"SELECT count(*) FROM {schema}.{TABLE} WHERE kind IN ('link', 'unlinked') "
                    "AND decision IN ('same', 'different') AND candidate_id <> ''").fetchall()[0][0]
    if n == 0:
        return 0
    be.tables.create_table(con, "review_override", f"""
        SELECT r.ident, d.candidate_id AS person_id, max(d.decision) AS decision
        FROM {schema}.{TABLE} d JOIN {rows} r ON r.record_id = d.record_id
        WHERE d.kind IN ('link', 'unlinked') AND d.decision IN ('same', 'different')
          AND d.candidate_id <> ''
        GROUP BY r.ident, d.candidate_id""")
    changed = be.tables.fetch(con, f"""
        SELECT count(DISTINCT o.ident) FROM review_override o LEFT JOIN {links} l USING (ident)
        WHERE (o.decision = 'same' AND (l.person_id IS NULL OR l.person_id <> o.person_id
                                        OR l.match_probability < 1))
           OR (o.decision = 'different' AND l.person_id = o.person_id)""")[0][0]
    # one person per identity: a 'same' replaces whatever link the identity had
    be.tables.create_table(con, links, f"""
        SELECT l.ident, l.person_id, l.match_probability FROM {links} l
        WHERE NOT EXISTS (SELECT 1 FROM review_override o WHERE o.ident = l.ident
                          AND (o.decision = 'same' OR o.person_id = l.person_id))
        UNION ALL
        SELECT ident, min(person_id), CAST(1.0 AS DOUBLE) FROM review_override
        WHERE decision = 'same' GROUP BY ident""")
    return int(changed)
