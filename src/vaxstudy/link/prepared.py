"""The term frequencies a full link run scored with, kept for the next ``link --update``.

An update scores its identities with the last full run's term frequencies (over the
register and that run's identities, :mod:`vaxstudy.link.update`); recounting them means
three GROUP BYs over the whole register and every identity. A full run on DuckDB keeps them
in the project database (``link_prep_tf_<column>``, small: one row per distinct name part),
with ``link_prep_meta``: the link run they belong to (``linked_at``, the model's hash) and a
digest of the code that shapes them. An update of that run reuses them, then ties them to
its own run; otherwise it recounts them and keeps what it counted.

Keeping the prepared register and rows too was tried and dropped: at full scale, reading the
3.4 M-row prepared register back from the project file took as long as preparing it again
(62 s against 47 s, load 13-17) and writing it added 71 s to the full link
(docs/performance.md, *link --update*).
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any

from vaxstudy.sql import has_table, ident

PREFIX = "link_prep_"
META = f"{PREFIX}meta"


def code_digest() -> str:
    """A digest of the code that shapes the kept tables: a change to it discards them."""
    from vaxstudy.link import dedupe, prepare, settings

    h = hashlib.sha256()
    for mod in (prepare, settings):
        h.update(inspect.getsource(mod).encode())
    h.update(repr(dedupe.TF_COLUMNS).encode())
    return h.hexdigest()


def clear(con: Any, schema: str = "proj") -> None:
    """Drop every kept table (a new full run replaces them, or leaves none on Spark)."""
    for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
                            "AND starts_with(table_name, ?)", [schema, PREFIX]).fetchall():
        con.execute(f"DROP TABLE IF EXISTS {schema}.{ident(t)}")  # a name read from the catalogue


def save(con: Any, tf_tables: dict[str, str], *, linked_at: Any, model_sha: str, schema: str = "proj") -> None:
    """Keep ``tf_tables`` (column -> table of ``con``) for the link run ``linked_at``."""
    clear(con, schema)
    for c, t in tf_tables.items():
        con.execute(f"CREATE TABLE {schema}.{PREFIX}tf_{c} AS SELECT * FROM {t}")
    # last: the tables count only once their meta row says whose they are
    con.execute(f"CREATE TABLE {schema}.{META} AS SELECT CAST(? AS TIMESTAMP) AS linked_at, "
                "CAST(? AS VARCHAR) AS model_sha256, CAST(? AS VARCHAR) AS code_digest",
                [linked_at, model_sha, code_digest()])


def retie(con: Any, *, linked_at: Any, schema: str = "proj") -> None:
    """After an update that reused them: the kept tables now belong to its run."""
    con.execute(f"UPDATE {schema}.{META} SET linked_at = CAST(? AS TIMESTAMP)", [linked_at])


def tf_tables(con: Any, columns: tuple[str, ...], *, linked_at: Any, model_sha: str,
              schema: str = "proj") -> dict[str, str] | None:
    """The kept term frequencies (column -> a copy in ``con``) when they belong to the link run
    ``linked_at`` of model ``model_sha`` and this code; else None (count them again)."""
    if not has_table(con, META, schema):
        return None
    rows = con.execute(f"SELECT linked_at, model_sha256, code_digest FROM {schema}.{META}").fetchall()
    if not rows or rows[0] != (linked_at, model_sha, code_digest()):
        return None
    if not all(has_table(con, f"{PREFIX}tf_{c}", schema) for c in columns):
        return None
    out = {}
    for c in columns:
        con.execute(f"CREATE OR REPLACE TABLE upd_tf_{c} AS SELECT * FROM {schema}.{PREFIX}tf_{c}")
        out[c] = f"upd_tf_{c}"
    return out
