"""The engines the stages run on: DuckDB (default, in process) or Spark (the spark extra).

``get_engine('duckdb' | 'spark' | an engine)`` gives one; the protocol the stages use is
:class:`vaxstudy.engines.base.Engine` (and its :class:`~vaxstudy.engines.base.WorkTables`).
"""

from __future__ import annotations

from typing import Any

from vaxstudy.engines.base import ENGINES, SPARK_INSTALL_HINT, BackendUnavailable, Engine, WorkTables
from vaxstudy.engines.duckdb import DuckDBBackend

__all__ = ["ENGINES", "SPARK_INSTALL_HINT", "BackendUnavailable", "Engine", "WorkTables", "DuckDBBackend",
           "get_engine"]


def get_engine(engine: "str | Engine | None" = None, *, spark_master: str | None = None, **kw: Any) -> Engine:
    """An engine from its name ('duckdb' default, 'spark'), or the object itself."""
    if engine is None or engine == "duckdb":
        if spark_master:
            raise ValueError("--spark-master needs --backend spark")
        return DuckDBBackend()
    if engine == "spark":
        from vaxstudy.engines.spark import SparkBackend

        return SparkBackend(master=spark_master, **kw)
    if isinstance(engine, str):
        raise ValueError(f"unknown backend {engine!r}: one of {', '.join(ENGINES)}")
    return engine
