"""person_key and is_duplicate_dose (CONTRACT section 2).

Rule (documented in docs/linkage.md): record order is the export's entry order
(``_row``). A row is a duplicate dose when an earlier row has the same
``person_key`` and ``dose_number``. This holds whatever the dates: a second
typing of dose k for the same person with another vaccination_date is still
flagged, because one person cannot receive the same dose number twice and the
contract counts (person, dose_number) events. The first-entered row is the one
kept, whichever of the two dates is right. Rows with no dose_number are never
flagged.

Reviewers' decisions on duplicate-dose pairs (``review_decisions``, kind ``dup_dose``: the
flagged row and the row it repeats) override the rule: after a ``different`` the row is
flagged only if another earlier row of the same person and dose remains; after a ``same``
it is flagged whenever the row it repeats was entered before it.
"""

from __future__ import annotations

from typing import Any

import duckdb

from vaxstudy.link.decide import engine
from vaxstudy.sql import table_columns

DUPLICATE_DOSE_SQL = """
CASE WHEN dose_number IS NULL THEN FALSE
     ELSE row_number() OVER (
        PARTITION BY person_key, dose_number ORDER BY _row NULLS LAST, record_id) > 1
END
"""


#: record_links' integer row key: the row's ``_row`` (the export's data-row number, unique per
#: row of ``vaccinations`` and kept by ``vaccinations_std``). Joining the rows to their links on
#: it, not on record_id as text, saves ~0.1 CPU-s per join of a million rows.
ROW_KEY = "_row"


def links_join_on(con: duckdb.DuckDBPyConnection, rows: str, v: str = "v", l: str = "l") -> str:
    """The ON condition joining the vaccination table ``rows`` (alias ``v``) to record_links
    (alias ``l``): on :data:`ROW_KEY` where both tables hold it and every link has one, else on
    record_id as text (a work database linked before record_links kept the key, or rows
    without ``_row``: it still estimates, as before)."""
    if ROW_KEY in table_columns(con, "record_links") and ROW_KEY in table_columns(con, rows) and not con.execute(
            f"SELECT count(*) FILTER (WHERE {ROW_KEY} IS NULL) FROM record_links").fetchall()[0][0]:
        return f"{l}.{ROW_KEY} = {v}.{ROW_KEY}"
    return f"CAST({l}.record_id AS VARCHAR) = CAST({v}.record_id AS VARCHAR)"


CANDIDATE_COLUMNS = {"best_person_id": "VARCHAR", "best_match_probability": "DOUBLE",
                     "in_register_probability": "DOUBLE",
                     "second_person_id": "VARCHAR", "second_match_probability": "DOUBLE"}
# ident_candidate without any row (no wide pass): an identity and its candidate columns
NO_CANDIDATES_SQL = ("SELECT CAST(NULL AS VARCHAR) AS ident, "
                     + ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in CANDIDATE_COLUMNS.items()) + " LIMIT 0")


def reviewed_duplicate_sql(rows: str, decisions: str) -> str:
    """``rows`` with ``is_dup``: :data:`DUPLICATE_DOSE_SQL` corrected by the reviewers'
    ``dup_dose`` decisions in ``decisions`` (record_id, candidate_id, decision)."""
    return f"""
    WITH k AS (
      SELECT *, row_number() OVER (PARTITION BY person_key, dose_number
                                   ORDER BY _row NULLS LAST, record_id) AS _rank
      FROM {rows}),
    apart AS (  -- earlier rows of the same person and dose that a reviewer says it does not repeat
      SELECT d.record_id, count(DISTINCT d.candidate_id) AS n
      FROM {decisions} d JOIN k a ON a.record_id = d.record_id
      JOIN k b ON b.record_id = d.candidate_id AND b.person_key = a.person_key
              AND b.dose_number = a.dose_number AND b._rank < a._rank
      WHERE d.decision = 'different' GROUP BY d.record_id),
    forced AS (
      SELECT DISTINCT d.record_id FROM {decisions} d JOIN k a ON a.record_id = d.record_id
      JOIN k b ON b.record_id = d.candidate_id
      WHERE d.decision = 'same' AND (b._row < a._row OR (b._row = a._row AND b.record_id < a.record_id)))
    SELECT k.*,
           CASE WHEN f.record_id IS NOT NULL THEN TRUE
                WHEN k.dose_number IS NULL THEN FALSE
                ELSE k._rank - 1 - coalesce(a.n, 0) > 0 END AS is_dup
    FROM k LEFT JOIN apart a ON a.record_id = k.record_id LEFT JOIN forced f ON f.record_id = k.record_id"""


def build_record_links(
    con: duckdb.DuckDBPyConnection, rows_with_keys: str, *, candidates: bool = False,
    backend: Any = None, dose_decisions: str | None = None,
) -> None:
    """record_links from a table with record_id, person_id, match_probability,
    person_key, dose_number, _row. With ``candidates`` the table's
    ``best_person_id`` / ``best_match_probability`` (an unlinked row's best register
    candidate, docs/contract.md) follow the contract's columns. ``dose_decisions``: the
    reviewers' duplicate-dose decisions (:func:`reviewed_duplicate_sql`). Each row keeps its
    ``_row`` (:data:`ROW_KEY`: the estimate joins on it, :func:`links_join_on`). Runs on the
    backend's engine; the table keeps the entry order (``backend.to_duckdb``)."""
    extra = "".join(
        f",\n               CAST({c} AS {t}) AS {c}" for c, t in CANDIDATE_COLUMNS.items()
    ) if candidates else ""
    flag, source = DUPLICATE_DOSE_SQL, rows_with_keys
    if dose_decisions:
        flag, source = "is_dup", f"({reviewed_duplicate_sql(rows_with_keys, dose_decisions)}) s"
    engine(backend).tables.create_table(
        con, "record_links",
        f"""
        SELECT CAST(record_id AS VARCHAR) AS record_id,
               CAST(person_id AS VARCHAR) AS person_id,
               CAST(match_probability AS DOUBLE) AS match_probability,
               CAST(person_key AS VARCHAR) AS person_key,
               CAST({flag} AS BOOLEAN) AS is_duplicate_dose{extra},
               CAST(_row AS BIGINT) AS {ROW_KEY}
        FROM {source}
        ORDER BY _row NULLS LAST, record_id""",
    )


def key_rows(con: duckdb.DuckDBPyConnection, *, rows: str = "link_rows", links: str = "ident_link",
             clusters: str = "dedupe_clusters", candidates: str = "ident_candidate",
             backend: Any = None) -> None:
    """``link_rows_keyed``: every row with its identity's link, its person_key (the register
    person, else ``'U'`` and the smallest record_id of its duplicate cluster) and, unlinked,
    its best register candidate and the runner-up: the input of :func:`build_record_links`."""
    engine(backend).tables.create_table(
        con, "link_rows_keyed",
        f"""
        SELECT r.record_id, r.dose_number, r._row, l.person_id, l.match_probability,
               COALESCE(l.person_id,
                        'U' || min(r.record_id) OVER (PARTITION BY c.cluster)) AS person_key,
               CASE WHEN l.person_id IS NULL THEN b.best_person_id END AS best_person_id,
               CASE WHEN l.person_id IS NULL THEN b.best_match_probability END
                 AS best_match_probability,
               CASE WHEN l.person_id IS NULL THEN b.in_register_probability END
                 AS in_register_probability,
               CASE WHEN l.person_id IS NULL THEN b.second_person_id END AS second_person_id,
               CASE WHEN l.person_id IS NULL THEN b.second_match_probability END
                 AS second_match_probability
        FROM {rows} r
        LEFT JOIN {links} l USING (ident)
        LEFT JOIN {clusters} c USING (ident)
        LEFT JOIN {candidates} b USING (ident)""",
    )
