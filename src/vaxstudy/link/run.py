"""The link run as data: the ``link_run`` table of the project database.

``link_db`` writes one row (the decision threshold, the prior, a hash of the model, when,
on which engine, with which options); the estimate, the report, review and worklists read
it with :func:`read_link_run`, so the figures never depend on a JSON file lying beside them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vaxstudy.sql import has_table

TABLE = "link_run"

#: columns of ``link_run`` and their DuckDB types (the table contract checks them too)
COLUMNS: dict[str, str] = {
    "threshold": "DOUBLE",
    "prior": "DOUBLE",
    "model_sha256": "VARCHAR",
    "linked_at": "TIMESTAMP",
    "engine": "VARCHAR",
    "options": "VARCHAR",
}


@dataclass(frozen=True)
class LinkRun:
    """One link run: threshold and prior used, the model's hash, when, where and how."""

    threshold: float
    prior: float
    model_sha256: str
    linked_at: datetime
    engine: str
    options: dict[str, Any]


def model_sha256(model: dict[str, Any]) -> str:
    """A hash of the saved model (sorted JSON), naming the model a run used."""
    return hashlib.sha256(json.dumps(model, sort_keys=True, default=str).encode()).hexdigest()


def new_link_run(*, threshold: float, prior: float, model: dict[str, Any], engine: str,
                 options: dict[str, Any]) -> LinkRun:
    return LinkRun(threshold=float(threshold), prior=float(prior), model_sha256=model_sha256(model),
                   linked_at=datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0),
                   engine=str(engine), options=dict(options))


def write_link_run(con: Any, run: LinkRun, table: str = TABLE) -> None:
    """Replace ``table`` (e.g. ``proj.link_run``) with the one row of ``run``."""
    cols = ", ".join(f"CAST(? AS {t}) AS {c}" for c, t in COLUMNS.items())
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {cols}",
                [run.threshold, run.prior, run.model_sha256, run.linked_at, run.engine,
                 json.dumps(run.options, sort_keys=True, default=str)])


def read_link_run(con: Any) -> LinkRun | None:
    """The link run recorded in the project database open on ``con`` (None: never linked)."""
    if not has_table(con, TABLE):
        return None
    rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} LIMIT 1").fetchall()  # fetchone() would
    if not rows:  # leave the result open, and the connection refuses other work until it is read
        return None
    row = rows[0]
    d = dict(zip(COLUMNS, row))
    return LinkRun(threshold=float(d["threshold"]), prior=float(d["prior"]), model_sha256=d["model_sha256"],
                   linked_at=d["linked_at"], engine=d["engine"], options=json.loads(d["options"] or "{}"))


def run_threshold(con: Any, link_summary: str | Path | None = None) -> float | None:
    """The link stage's decision threshold: the ``link_run`` record of the database open on
    ``con``, else (a database linked before that record existed) ``link_summary``'s
    ``decision.threshold``; None when neither says."""
    run = read_link_run(con) if con is not None else None
    if run is not None:
        return float(run.threshold)
    if link_summary is None or not Path(link_summary).exists():
        return None
    try:
        t = json.loads(Path(link_summary).read_text(encoding="utf-8")).get("decision", {}).get("threshold")
        return None if t is None else float(t)
    except (ValueError, AttributeError):
        return None
