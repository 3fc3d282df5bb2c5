"""The privacy scan's identifier set kept beside its database (restricted), with the fingerprint
of what it was built from: built once per state of the register and registry tables (at the end
of standardise), then loaded by every report of them instead of read again from the database.

Building the set passes over every name and number of six tables (~16 CPU-s for a province of
3.4 M residents, :func:`vaxstudy.report.privacy.identifiers_from_db`); loading it takes a
fraction of a second. A kept set is used only when its fingerprint equals the database's now:
the same source tables and columns with the same types, the same values in each (its count of
rows and of values, and the sum of DuckDB's 64-bit hash of every value), and the same rules (the
privacy module's source and the place names it allows). Anything else, a file that cannot be
read included, and the set is built again: the scan is as strict as with a set built for it.
The file holds hashes only, but of personal data, so it stays in the restricted folder.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from vaxstudy.sql import ident

#: where the identifiers are: table -> (name columns, number columns), each where it exists
SOURCES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    **{t: (("full_name",), ("person_id", "phone")) for t in ("population", "population_incomplete")},
    "vaccinations": (("full_name",), ("id_number", "phone")),
    "population_std": (("name_original", "name_norm"), ("unique_id", "id_number", "phone")),
    "vaccinations_std": (("name_original", "name_norm"), ("id_number", "phone")),
}
#: the parts of an identifier set (attributes of privacy.Identifiers, each a sorted key array)
PARTS = ("names", "folded_names", "numbers", "words", "folded_words")
FORMAT = 1  # bumped when the file's layout changes


def path_for(db_path: str | Path) -> Path:
    """``<db>_identifiers.npz`` beside the database (in a run layout: restricted/work/)."""
    p = Path(db_path)
    return p.with_name(f"{p.stem}_identifiers.npz")


def distinct_sql(columns) -> str | None:
    """Query: ``s``, the distinct non-null values (as text) of every (table, column) pair."""
    parts = [f"SELECT CAST({ident(c)} AS VARCHAR) AS s FROM {ident(t)} WHERE {ident(c)} IS NOT NULL"
             for t, c in columns]
    return f"SELECT DISTINCT s FROM ({' UNION ALL '.join(parts)})" if parts else None


def source_columns(con: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[tuple[str, str], str]]:
    """The (table, column) pairs of :data:`SOURCES` present in the database open on ``con``:
    name columns, number columns, and each one's type."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    names, numbers, types = [], [], {}
    for table, (name_cols, number_cols) in SOURCES.items():
        if table not in tables:
            continue
        cols = {r[0]: str(r[1]) for r in con.execute(f"DESCRIBE {ident(table)}").fetchall()}
        names += [(table, c) for c in name_cols if c in cols]
        numbers += [(table, c) for c in number_cols if c in cols]
        types.update({(table, c): cols[c] for c in (*name_cols, *number_cols) if c in cols})
    return names, numbers, types


def fingerprint(con: Any, columns: list[tuple[str, str]], types: dict[tuple[str, str], str], rules: str) -> str:
    """What a set built now would be built from: ``rules`` (a digest of the rules), each source
    column's table, name and type, its table's row count, its count of values and the sum of the
    64-bit hash of its values (one scan per table)."""
    h = hashlib.sha256(f"{FORMAT}|{rules}".encode())
    by_table: dict[str, list[str]] = {}
    for t, c in columns:
        by_table.setdefault(t, []).append(c)
    for t, cols in sorted(by_table.items()):
        sums = ", ".join(f"count({ident(c)}), sum(hash({ident(c)})::HUGEINT)" for c in cols)
        row = con.execute(f"SELECT count(*), {sums} FROM {ident(t)}").fetchall()[0]
        h.update(repr((t, [(c, types[(t, c)]) for c in cols], [str(v) for v in row])).encode())
    return h.hexdigest()


def save(path: str | Path, parts: dict[str, tuple[np.ndarray, set[int]]], fp: str) -> bool:
    """Write the set's key arrays and sizes with their fingerprint (whole or not at all: a
    temporary file renamed); False when the folder cannot be written (the set is then built
    again next time)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    arrays = {"fingerprint": np.array(fp)}
    for p in PARTS:
        keys, sizes = parts[p]
        arrays[f"{p}_keys"] = np.asarray(keys, dtype=np.int64)
        arrays[f"{p}_sizes"] = np.array(sorted(int(s) for s in sizes), dtype=np.int64)
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
        return True
    except OSError:
        tmp.unlink(missing_ok=True)
        return False


def load(path: str | Path, fp: str) -> dict[str, tuple[np.ndarray, set[int]]] | None:
    """The kept set's parts (sorted keys, sizes) if ``path`` holds one of fingerprint ``fp``, else None."""
    try:
        with np.load(Path(path), allow_pickle=False) as f:
            if str(f["fingerprint"]) != fp:
                return None
            parts = {p: (f[f"{p}_keys"], set(f[f"{p}_sizes"].tolist())) for p in PARTS}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):  # missing, unreadable, another layout
        return None
    # strictly increasing, as written (a look-up in an unsorted array would miss keys)
    return parts if all(np.all(k[1:] > k[:-1]) for k, _ in parts.values()) else None
