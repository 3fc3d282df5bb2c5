"""DuckDB, in process: the default engine (what every stage did before engines existed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping


class DuckDBTables:
    """The link stage's working tables as tables of the DuckDB working connection."""

    def create_table(self, con: Any, name: str, query: str) -> str:
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {query}")
        return name

    def insert(self, con: Any, name: str, query: str) -> None:
        con.execute(f"INSERT INTO {name} {query}")

    def fetch(self, con: Any, query: str) -> list[tuple]:
        return con.execute(query).fetchall()

    def to_duckdb(self, con: Any, name: str, target: str | None = None) -> str:
        """Itself, or copied to ``target`` (e.g. ``proj.record_links``) in its row order."""
        if target is None or target == name:
            return name
        con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {name}")
        return target

    def work_table(self, con: Any, splink_df: Any) -> str:
        return splink_df.physical_name

    def count_rows(self, con: Any, splink_df: Any) -> int:
        return int(con.execute(f"SELECT count(*) FROM {splink_df.physical_name}").fetchall()[0][0])

    def duckdb_views(self, con: Any, names: Iterable[str]) -> None:
        """Nothing to do: the working tables are tables of ``con``."""

    def drop_tables(self, con: Any) -> None:
        """Nothing to do: the working tables live and die with the connection."""


class DuckDBBackend:
    """DuckDB in this process."""

    name = "duckdb"

    def __init__(self) -> None:
        self.tables = DuckDBTables()

    def standardize(self, db_path: str | Path, progress: Callable[[str], None] | None = None) -> None:
        from vaxstudy.standardize import standardize_db

        standardize_db(db_path, progress=progress)

    def splink_api(self, con: Any, tables: Iterable[str] = ()) -> Any:
        from splink import DuckDBAPI

        return DuckDBAPI(connection=con)

    def splink_settings(self, settings: Any) -> Any:
        return settings

    def portable_model(self, model: dict[str, Any]) -> dict[str, Any]:
        return model

    def identity_hash_sql(self, columns: Iterable[str]) -> str:
        """DuckDB's ``hash`` of the columns, as it always was (link/prepare.py)."""
        return f"hash({', '.join(columns)})"

    def fetch_df(self, con: Any, query: str, frames: Mapping[str, Any] | None = None) -> Any:
        """``query`` on ``con``, the pandas ``frames`` registered under their names meanwhile."""
        frames = dict(frames or {})
        for name, frame in frames.items():
            con.register(name, frame)
        try:
            return frame_like_df(con, con.sql(query).to_arrow_table())
        finally:
            for name in frames:
                con.unregister(name)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def close(self) -> None:
        """Nothing to release: every stage opens and closes its own connections."""

    def __repr__(self) -> str:
        return "DuckDBBackend()"


def frame_like_df(con: Any, table: Any) -> Any:
    """A query's Arrow result as the pandas frame DuckDB's ``.df()`` gives (same dtypes: a
    DATE as datetime64[us], an integer or boolean column with NULLs as pandas' nullable
    type), converted by Arrow: strings without a Python object each, about three times
    faster on a million rows. A column of any other type (decimal, interval, list, a time
    zone...) leaves the whole conversion to DuckDB."""
    import pandas as pd
    import pyarrow as pa

    table = table.combine_chunks()  # one chunk a column, as .df() gives (pa.array of a column is then an Array)
    simple = (pa.types.is_string, pa.types.is_large_string, pa.types.is_floating)
    cols: dict[str, Any] = {}
    for field, col in zip(table.schema, table.columns):
        t = field.type
        if pa.types.is_date32(t):
            cols[field.name] = col.cast(pa.timestamp("us")).to_pandas()
        elif (pa.types.is_signed_integer(t) or pa.types.is_boolean(t)) and col.null_count:
            values = col.fill_null(False if pa.types.is_boolean(t) else 0).to_numpy()
            mask = col.is_null().to_numpy(zero_copy_only=False)
            cols[field.name] = (pd.arrays.BooleanArray(values, mask) if pa.types.is_boolean(t)
                                else pd.arrays.IntegerArray(values, mask))
        elif (pa.types.is_signed_integer(t) or pa.types.is_boolean(t) or any(f(t) for f in simple)
              or (pa.types.is_timestamp(t) and t.tz is None)):
            cols[field.name] = col.to_pandas()
        else:
            return con.from_arrow(table).df()
    if not cols or len(cols) < table.num_columns:  # no column, or duplicate names: DuckDB's own
        return con.from_arrow(table).df()
    return pd.DataFrame(cols, index=pd.RangeIndex(table.num_rows))
