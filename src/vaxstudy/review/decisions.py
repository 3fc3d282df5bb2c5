"""Reviewers' decisions, kept and fed back: the ``review_decisions`` table and its use by the link.

``review score`` writes every ``same``/``different`` decision into the project database's
``review_decisions`` table (one row per kind, record_id and candidate_id; a later decision on
the same item replaces the earlier one) and into a copy beside the database
(``<db stem>_review_decisions.parquet`` in the restricted work folder), because the pipeline
rebuilds the database from the data folder on every run. :func:`apply_review_decisions` is the
one place the link stage consults them: a ``same`` on a record → register person pair makes
that link (probability 1), a ``different`` removes it, whatever the model said; decisions on
duplicate pairs join or separate persons (:mod:`vaxstudy.review.pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from vaxstudy.sql import literal, path_literal

TABLE = "review_decisions"
DECIDED = ("same", "different", "other")
COLUMNS = {"kind": "VARCHAR", "record_id": "VARCHAR", "candidate_id": "VARCHAR",
           "decision": "VARCHAR", "review_id": "VARCHAR", "run_fingerprint": "VARCHAR",
           "decided_at": "TIMESTAMP"}
#: working tables of the link stage made from the decisions (see :class:`ReviewOverrides`)
MUST_LINK, CANNOT_LINK, DOSE_DECISIONS = "review_must_link", "review_cannot_link", "review_dose_decisions"
_DDL = f"CREATE TABLE IF NOT EXISTS {{t}} ({', '.join(f'{c} {t}' for c, t in COLUMNS.items())})"


def sidecar_path(db: str | Path, table: str = TABLE) -> Path:
    """The copy of ``table`` (the decisions, the summaries) that survives a rebuild of the
    database: ``<db stem>_<table>.parquet`` beside it."""
    db = Path(db)
    return db.with_name(f"{db.stem}_{table}.parquet")


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
    """Upsert ``decisions`` (kind, record_id, candidate_id, decision, review_id, and optionally
    other_person_id) into the database and its copy; only same/different/other are kept. An
    ``other`` with the right register person's ID found also records ``same`` between the
    record and that person. Returns the rows written."""
    d = decisions[decisions["decision"].isin(DECIDED)].copy()
    if "other_person_id" in d.columns:
        found = d[(d["decision"] == "other") & (d["other_person_id"].fillna("") != "")]
        d = pd.concat([d, found.assign(kind="unlinked", candidate_id=found["other_person_id"], decision="same")],
                      ignore_index=True)
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


@dataclass(frozen=True)
class ReviewOverrides:
    """What the link stage's later steps take from the reviewers: the working tables of identity
    pairs to join / keep apart in the deduplication and of dose decisions, and the counts that
    link_summary.json records."""

    summary: dict[str, Any]
    must_link: str = MUST_LINK
    cannot_link: str = CANNOT_LINK
    dose_decisions: str = DOSE_DECISIONS


def _values_table(be: Any, con: Any, name: str, columns: dict[str, str], rows: list[tuple]) -> str:
    """Working table ``name`` holding ``rows`` (few: reviewers' decisions), on the engine."""
    cols = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in columns.items())
    if not rows:
        return be.tables.create_table(con, name, f"SELECT {', '.join(f'CAST(NULL AS {t}) AS {c}' for c, t in columns.items())} LIMIT 0")
    vals = ", ".join("(" + ", ".join(literal(v) for v in r) + ")" for r in rows)
    return be.tables.create_table(con, name, f"SELECT {cols} FROM (VALUES {vals}) t({', '.join(columns)})")


def _in_list(values) -> str:
    return ", ".join(literal(v) for v in sorted(set(values))) or "NULL"


def apply_review_decisions(con: duckdb.DuckDBPyConnection, backend: Any = None, *,
                           links: str = "ident_link", rows: str = "link_rows",
                           schema: str = "proj") -> ReviewOverrides:
    """Reviewers' decisions override the model's (called once by the link stage, after its
    link decisions and before the deduplication, person keys and duplicate flags).

    ``links`` (ident, person_id, match_probability) is the link stage's table of accepted links,
    ``rows`` (record_id, subject_id, ident) maps rows to identities. A decision is about a
    record; it applies to the record's identity (every row with the same compared fields).
    ``link``/``unlinked`` items: ``different`` removes the link to that person; ``same`` links
    the identity to the person with probability 1. ``dup_subject``/``dup_dose`` items:
    :mod:`vaxstudy.review.pairs` (links changed here; the pairs to join or keep apart go to the
    returned tables, read by the deduplication and the duplicate flags). The decisions are read
    from ``<schema>.review_decisions``, restored from the copy beside the database when a
    rebuild dropped the table."""
    from vaxstudy.link.decide import engine
    from vaxstudy.review.pairs import PAIR_KINDS, pair_sides, resolve_pairs

    be = engine(backend)
    if not _has_table(con, TABLE, schema):
        db = _db_path_of(con, schema)
        side = sidecar_path(db) if db is not None else None
        if side is not None and side.exists():
            con.execute(f"CREATE TABLE {schema}.{TABLE} AS SELECT * FROM read_parquet(?)", [str(side)])
    # 'other' (someone else in the register) says 'different' about the candidate shown
    dec = (con.execute(f"SELECT kind, record_id, candidate_id, CASE WHEN decision = 'other' THEN 'different' "
                       f"ELSE decision END AS decision FROM {schema}.{TABLE} "
                       "WHERE decision IN ('same', 'different', 'other') AND coalesce(candidate_id, '') <> ''").df()
           if _has_table(con, TABLE, schema) else pd.DataFrame(columns=["kind", "record_id", "candidate_id", "decision"]))
    dec = dec.astype(str)
    summary: dict[str, Any] = {"identities_changed": 0}
    reviewer_links: set[tuple[str, str]] = set()

    person = dec[dec["kind"].isin(["link", "unlinked"])]
    if len(person):
        _values_table(be, con, "review_decided", {"record_id": "VARCHAR", "person_id": "VARCHAR",
                                                  "decision": "VARCHAR"},
                      list(person[["record_id", "candidate_id", "decision"]].itertuples(index=False)))
        be.tables.create_table(con, "review_override", f"""
            SELECT r.ident, d.person_id, max(d.decision) AS decision
            FROM review_decided d JOIN {rows} r ON CAST(r.record_id AS VARCHAR) = d.record_id
            GROUP BY r.ident, d.person_id""")
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
        summary["identities_changed"] = int(changed)
        reviewer_links = {(str(i), str(p)) for i, p in be.tables.fetch(
            con, "SELECT ident, person_id FROM review_override WHERE decision = 'same'")}

    pairs_dec = dec[dec["kind"].isin(PAIR_KINDS)]
    res = None
    if len(pairs_dec):
        recs = set(pairs_dec["record_id"]) | set(pairs_dec.loc[pairs_dec["kind"] == "dup_dose", "candidate_id"])
        got = be.tables.fetch(con, f"SELECT CAST(record_id AS VARCHAR), CAST(subject_id AS VARCHAR), ident "
                                   f"FROM {rows} WHERE CAST(record_id AS VARCHAR) IN ({_in_list(recs)})")
        subjects = {g[1] for g in got} | set(pairs_dec.loc[pairs_dec["kind"] == "dup_subject", "candidate_id"])
        got += be.tables.fetch(con, f"SELECT CAST(record_id AS VARCHAR), CAST(subject_id AS VARCHAR), ident "
                                    f"FROM {rows} WHERE CAST(subject_id AS VARCHAR) IN ({_in_list(subjects)})")
        rws = pd.DataFrame(got, columns=["record_id", "subject_id", "ident"]).astype(str).drop_duplicates()
        pairs = pair_sides(pairs_dec, rws)
        idents = set(rws["ident"])
        cur = {str(i): (str(p), float(q)) for i, p, q in be.tables.fetch(
            con, f"SELECT ident, person_id, match_probability FROM {links} WHERE ident IN ({_in_list(idents)})")}
        res = resolve_pairs(pairs, cur, reviewer_links)
        if res.removed or res.added:
            _values_table(be, con, "review_pair_links", {"ident": "VARCHAR", "person_id": "VARCHAR",
                                                         "match_probability": "DOUBLE"},
                          [(i, p, q) for i, (p, q) in sorted(res.added.items())])
            be.tables.create_table(con, links, f"""
                SELECT ident, person_id, match_probability FROM {links}
                WHERE ident NOT IN ({_in_list(set(res.removed) | set(res.added))})
                UNION ALL SELECT ident, person_id, match_probability FROM review_pair_links""")
        summary["identities_changed"] += len(res.removed) + len(res.added)
        summary["pairs"] = {**res.counts, "links_removed": len(res.removed), "links_added": len(res.added)}
    _values_table(be, con, MUST_LINK, {"ident_l": "VARCHAR", "ident_r": "VARCHAR"}, res.must if res else [])
    _values_table(be, con, CANNOT_LINK, {"ident_l": "VARCHAR", "ident_r": "VARCHAR"}, res.cannot if res else [])
    dose = pairs_dec[pairs_dec["kind"] == "dup_dose"] if len(pairs_dec) else pairs_dec
    _values_table(be, con, DOSE_DECISIONS, {"record_id": "VARCHAR", "candidate_id": "VARCHAR",
                                            "decision": "VARCHAR"},
                  list(dose[["record_id", "candidate_id", "decision"]].itertuples(index=False)) if len(dose) else [])
    return ReviewOverrides(summary)
