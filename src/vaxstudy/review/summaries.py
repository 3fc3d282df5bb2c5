"""Scored reviews, kept in the project database so that the estimate finds them wherever
``review score`` wrote the file.

``review score`` records each summary in the ``review_summaries`` table (one row per scoring:
the run's name, the checksums of the export it was scored on, when, where the file went, and
the summary itself) and in a copy beside the database (the pipeline may rebuild the database
from the data folder; the copy restores the table, as for ``review_decisions``).
:func:`summary_for_run` is what the estimate reads: the latest summary of *this* run (province
and period), refused with a note when it was scored on another export of the data.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from vaxstudy.review.decisions import _has_table, sidecar_path
from vaxstudy.sql import path_literal

TABLE = "review_summaries"
COLUMNS = {"run": "VARCHAR", "data_sha256": "VARCHAR", "run_fingerprint": "VARCHAR",
           "summary_file": "VARCHAR", "scored_at": "TIMESTAMP", "summary_json": "VARCHAR"}


def data_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """A hash of the export the database was ingested from (``ingest_log``'s file checksums);
    None for a database without that log."""
    if not _has_table(con, "ingest_log"):
        return None
    rows = con.execute("SELECT DISTINCT CAST(source_file AS VARCHAR), CAST(sha256 AS VARCHAR) FROM ingest_log "
                       "ORDER BY 1, 2").fetchall()
    return hashlib.sha256("\n".join(f"{a}:{b}" for a, b in rows).encode()).hexdigest()[:16] if rows else None


def save_summary(db: str | Path, summary: dict, run: str, summary_file: str | Path) -> None:
    """Record a scored review of ``run`` (its name) in the database and the copy beside it."""
    db = Path(db)
    con = duckdb.connect(str(db))
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({', '.join(f'{c} {t}' for c, t in COLUMNS.items())})")
        side = sidecar_path(db, TABLE)
        if side.exists() and con.execute(f"SELECT count(*) FROM {TABLE}").fetchall()[0][0] == 0:
            con.execute(f"INSERT INTO {TABLE} SELECT * FROM read_parquet(?)", [str(side)])
        con.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?)", [
            run, data_fingerprint(con), summary.get("run_fingerprint"), str(Path(summary_file).resolve()),
            datetime.now(timezone.utc).replace(tzinfo=None),
            json.dumps(summary, ensure_ascii=False, allow_nan=False)])
        con.execute(f"COPY {TABLE} TO {path_literal(side)} (FORMAT PARQUET)")
    finally:
        con.close()


def _recorded(con: duckdb.DuckDBPyConnection, db: Path) -> pd.DataFrame:
    if _has_table(con, TABLE):
        return con.execute(f"SELECT * FROM {TABLE}").df()
    side = sidecar_path(db, TABLE)
    if side.exists():
        return pd.read_parquet(side)
    return pd.DataFrame(columns=list(COLUMNS))


def summary_for_run(db: str | Path, run: str) -> tuple[dict | None, str | None]:
    """(the latest review summary of ``run``, None) when one was scored on this export of the
    data; else (None, a note saying why none is used, or None when no review was ever scored)."""
    db = Path(db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        rec = _recorded(con, db)
        now = data_fingerprint(con)
    finally:
        con.close()
    if rec.empty:
        return None, None
    mine = rec[rec["run"] == run].sort_values("scored_at")
    if mine.empty:
        others = ", ".join(sorted(set(rec["run"].astype(str))))
        return None, (f"review summaries are recorded for run(s) {others}, none for run {run}: the "
                      f"accuracy measured by review is left out; score a review of this run")
    last = mine.iloc[-1]
    if now is not None and last["data_sha256"] is not None and not pd.isna(last["data_sha256"]) \
            and last["data_sha256"] != now:
        return None, (f"the review of run {run} scored {last['scored_at']:%Y-%m-%d %H:%M} "
                      f"({last['summary_file']}) was scored on another export of the data (input "
                      "checksums differ): not used; draw and score a new review of this run")
    return json.loads(last["summary_json"]), None
