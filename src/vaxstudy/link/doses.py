"""person_key and is_duplicate_dose (CONTRACT section 2).

Rule (documented in docs/linkage.md): record order is the export's entry order
(``_row``). A row is a duplicate dose when an earlier row has the same
``person_key`` and ``dose_number``. This holds whatever the dates: a second
typing of dose k for the same person with another vaccination_date is still
flagged, because one person cannot receive the same dose number twice and the
contract counts (person, dose_number) events. The first-entered row is the one
kept, whichever of the two dates is right. Rows with no dose_number are never
flagged.
"""

from __future__ import annotations

from typing import Any

import duckdb

from vaxstudy.link.decide import engine

DUPLICATE_DOSE_SQL = """
CASE WHEN dose_number IS NULL THEN FALSE
     ELSE row_number() OVER (
        PARTITION BY person_key, dose_number ORDER BY _row NULLS LAST, record_id) > 1
END
"""


CANDIDATE_COLUMNS = {"best_person_id": "VARCHAR", "best_match_probability": "DOUBLE",
                     "in_register_probability": "DOUBLE"}


def build_record_links(
    con: duckdb.DuckDBPyConnection, rows_with_keys: str, *, candidates: bool = False,
    backend: Any = None,
) -> None:
    """record_links from a table with record_id, person_id, match_probability,
    person_key, dose_number, _row. With ``candidates`` the table's
    ``best_person_id`` / ``best_match_probability`` (an unlinked row's best register
    candidate, docs/contract.md) follow the contract's columns. Runs on the backend's
    engine; the table keeps the entry order (``backend.to_duckdb``)."""
    extra = "".join(
        f",\n               CAST({c} AS {t}) AS {c}" for c, t in CANDIDATE_COLUMNS.items()
    ) if candidates else ""
    engine(backend).tables.create_table(
        con, "record_links",
        f"""
        SELECT CAST(record_id AS VARCHAR) AS record_id,
               CAST(person_id AS VARCHAR) AS person_id,
               CAST(match_probability AS DOUBLE) AS match_probability,
               CAST(person_key AS VARCHAR) AS person_key,
               CAST({DUPLICATE_DOSE_SQL} AS BOOLEAN) AS is_duplicate_dose{extra}
        FROM {rows_with_keys}
        ORDER BY _row NULLS LAST, record_id""",
    )
