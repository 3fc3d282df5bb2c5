"""Putting values into SQL text, and reading the DuckDB catalogue: the one way in.

Every file path, province code, date or other value that goes into a SQL string goes
through :func:`literal` (or :func:`path_literal`, :func:`date_literal`), every name
through :func:`ident`; a test (tests/unit/test_sql_quoting.py) fails on a SQL string that
pastes a value between quotes by hand. Where DuckDB accepts parameters (``?``), they are
better still; COPY, ATTACH and SET do not take them, hence these helpers.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from typing import Any

#: What DuckDB's one-argument trim() strips: Unicode category Zs (Spark's trim strips ' ' only).
DUCKDB_TRIM_CHARS = " \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"


def literal(value: Any) -> str:
    """A SQL string literal of ``value`` (single quotes doubled); NULL for None."""
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def path_literal(path: str | Path) -> str:
    """A file path (or glob) as a SQL string literal, with forward slashes."""
    return literal(Path(path).as_posix())


def date_literal(d: str | date) -> str:
    """``DATE 'YYYY-MM-DD'`` from a date or an ISO string (validated)."""
    d = d if isinstance(d, date) else date.fromisoformat(str(d))
    return f"DATE {literal(d.isoformat())}"


def ident(name: str) -> str:
    """A quoted SQL identifier (double quotes doubled)."""
    return '"' + str(name).replace('"', '""') + '"'


def as_query(src: str) -> str:
    """A table name or a query, as a query."""
    s = src.strip()
    return s if re.match(r"(?is)^(select|with|from)\b", s) else f"SELECT * FROM {s}"


def parquet_source(path: str | Path) -> str:
    """``read_parquet(...)`` of a file, or of every Parquet file of a folder."""
    p = Path(path)
    return f"read_parquet({path_literal(p / '*.parquet' if p.is_dir() else p)})"


def copy_to_parquet(con: Any, query: str, path: str | Path) -> Path:
    """``COPY (query) TO path (FORMAT PARQUET)`` on DuckDB connection ``con``."""
    con.execute(f"COPY ({as_query(query)}) TO {path_literal(path)} (FORMAT PARQUET)")
    return Path(path)


def connect_readonly(db_path: str | Path) -> Any:
    """The project database, opened read-only (estimate, report and evaluate only read)."""
    import duckdb

    return duckdb.connect(str(db_path), read_only=True)


def attach(con: Any, db_path: str | Path, alias: str = "proj", *, read_only: bool = False) -> None:
    """``ATTACH db_path AS alias`` (read-only if asked)."""
    mode = " (READ_ONLY)" if read_only else ""
    con.execute(f"ATTACH {path_literal(db_path)} AS {ident(alias)}{mode}")


def has_table(con: Any, name: str, database: str | None = None) -> bool:
    """Whether ``con`` has table or view ``name`` (in ``database``, else in its current one)."""
    row = con.execute(
        "SELECT count(*) FROM (SELECT database_name, table_name FROM duckdb_tables() UNION ALL "
        "SELECT database_name, view_name FROM duckdb_views() WHERE NOT internal) "
        "WHERE lower(table_name) = lower(?) AND database_name = coalesce(?, current_database())",
        [name, database]).fetchall()  # fetchall: fetchone() leaves the result open, and the
    return bool(row and row[0][0])       # connection then refuses to register a frame


def table_columns(con: Any, table: str, database: str | None = None) -> list[str]:
    """The columns of ``table`` (in ``database``, else in the current one), in order."""
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
        "AND database_name = coalesce(?, current_database()) ORDER BY column_index",
        [table, database]).fetchall()
    return [r[0] for r in rows]


def file_key(con: Any) -> str | None:
    """A folder name for the current state of the database file open on ``con`` (file name,
    then a hash of its path, size and modification time, and of its WAL's); None in memory."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    row = rows[0] if rows else None
    if not row or not row[0] or row[0] == ":memory:":
        return None
    db = Path(row[0]).resolve()
    parts = [str(db)]
    for f in (db, Path(str(db) + ".wal")):
        if f.exists():
            st = f.stat()
            parts += [f.name, str(st.st_size), str(st.st_mtime_ns)]
    digest = hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', db.stem)[:40]}-{digest}"
