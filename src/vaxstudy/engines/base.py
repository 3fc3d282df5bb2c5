"""What the stages may ask of an engine (DuckDB or Spark), in two small protocols.

:class:`Engine` is the engine itself: the standardise stage, the Splink side of the link
stage, the estimate's record-level queries, and what the manifest records. Its
:attr:`Engine.tables` is a :class:`WorkTables`: the link stage's working tables, made by
SQL written once in the DuckDB dialect (tables of the working DuckDB connection on DuckDB,
materialised tables on the cluster on Spark). Nothing here imports an engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, runtime_checkable

ENGINES = ("duckdb", "spark")
SPARK_INSTALL_HINT = "pip install 'vaxstudy[spark]'"


class BackendUnavailable(RuntimeError):
    """The engine is not installed or cannot start (pyspark, Java)."""


@runtime_checkable
class WorkTables(Protocol):
    """The link stage's working tables, for the DuckDB working connection ``con``."""

    def create_table(self, con: Any, name: str, query: str) -> str:
        """``CREATE OR REPLACE TABLE name AS query`` (DuckDB SQL), on the engine."""

    def insert(self, con: Any, name: str, query: str) -> None:
        """``INSERT INTO name query`` (columns by position)."""

    def fetch(self, con: Any, query: str) -> list[tuple]:
        """The rows of ``query`` (small results: counts, sums, a curve)."""

    def to_duckdb(self, con: Any, name: str, target: str | None = None) -> str:
        """Working table ``name`` as table ``target`` of ``con`` (in its row order)."""

    def work_table(self, con: Any, splink_df: Any) -> str:
        """A Splink result (predictions, clusters) usable by name in the SQL above."""

    def count_rows(self, con: Any, splink_df: Any) -> int:
        """Rows of a Splink result, counted where it lives."""

    def duckdb_views(self, con: Any, names: Iterable[str]) -> None:
        """Each working table of ``names`` readable by DuckDB on ``con`` under its name."""

    def drop_tables(self, con: Any) -> None:
        """Release the working tables made for ``con``."""


@runtime_checkable
class Engine(Protocol):
    """An engine: ``name`` ('duckdb' or 'spark') and ``tables`` (its :class:`WorkTables`)."""

    name: str
    tables: WorkTables

    def standardize(self, db_path: str | Path, progress: Callable[[str], None] | None = None) -> None:
        """Write ``population_std`` / ``vaccinations_std`` into the project database."""

    def splink_api(self, con: Any, tables: Iterable[str] = ()) -> Any:
        """A Splink database API that sees ``tables`` (working tables or tables of ``con``)."""

    def splink_settings(self, settings: Any) -> Any:
        """Settings (written for DuckDB) in the form this engine's Splink runs."""

    def portable_model(self, model: dict[str, Any]) -> dict[str, Any]:
        """The trained model in the DuckDB dialect (reusable on any engine)."""

    def identity_hash_sql(self, columns: Iterable[str]) -> str:
        """SQL (DuckDB dialect, run on the engine) of a 64-bit hash of ``columns``."""

    def fetch_df(self, con: Any, query: str, frames: Mapping[str, Any] | None = None) -> Any:
        """``query`` (DuckDB SQL over the project database open on ``con``) as pandas."""

    def describe(self) -> dict[str, Any]:
        """What manifest.json records about the engine."""

    def close(self) -> None:
        """Release what the engine started (a session, its scratch files)."""

