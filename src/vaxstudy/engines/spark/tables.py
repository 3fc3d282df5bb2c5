"""The link stage's working tables on Spark.

SQL is written once, in the DuckDB dialect, as for DuckDB; here it is transpiled
(:func:`~vaxstudy.engines.spark.transpile.duckdb_query_to_spark`) and run on Spark. A table
it reads that is not a working table yet but a table of the DuckDB working connection
(link_rows, a lookup, proj.sites) is copied over through Parquet on first use. Each result
is materialised the way Splink breaks lineage (``break_lineage_method``: Parquet files in
``work_dir/tables`` by default, else persist or checkpoint), so a chain of fixed-point steps
and inserts never recomputes its inputs.
"""

from __future__ import annotations

import logging
import re
import shutil
import uuid
from pathlib import Path
from typing import Any, Iterable

from vaxstudy.engines.spark.transpile import duckdb_query_to_spark
from vaxstudy.sql import has_table, path_literal

log = logging.getLogger(__name__)

#: the hidden column that keeps the order of a working table made by a query with ORDER BY
ORDER_COLUMN = "__vaxstudy_order"


class _WorkTable:
    """A working table: its DataFrame and what to release when it goes."""

    def __init__(self, con: Any, df: Any, path: Path | None = None, *, ordered: bool = False,
                 imported: bool = False, owned: bool = True) -> None:
        self.con, self.df, self.path = con, df, path  # con: the DuckDB working connection
        self.ordered, self.imported, self.owned = ordered, imported, owned
        self.name: str | None = None

    def release(self) -> None:
        if not self.owned:
            return
        try:
            self.df.unpersist()
        except Exception:  # pragma: no cover - the session may be gone
            pass
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)


class SparkTables:
    """Working tables on the Spark session of ``engine`` (a SparkBackend), per DuckDB connection."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._work: dict[str, _WorkTable] = {}

    @property
    def session(self) -> Any:
        return self.engine.session

    def _work_entry(self, con: Any, name: str) -> "_WorkTable | None":
        e = self._work.get(name.lower())
        return e if e is not None and e.con is con else None

    def _register(self, con: Any, name: str, entry: "_WorkTable") -> None:
        old = self._work.get(name.lower())
        entry.name = name
        self._work[name.lower()] = entry
        if entry.owned:
            (entry.df.drop(ORDER_COLUMN) if entry.ordered else entry.df).createOrReplaceTempView(name)
        if old is not None and old is not entry:
            old.release()

    def _import(self, con: Any, table: str, view: str) -> None:
        """Copy ``table`` of the DuckDB connection ``con`` to Spark as working table ``view``."""
        path = self.engine.duckdb_to_parquet(con, table, re.sub(r"\W", "_", view)[-40:])
        self._register(con, view, _WorkTable(con, self.session.read.parquet(str(path)), path, imported=True))

    def _engine_sql(self, con: Any, query: str) -> str:
        """``query`` (DuckDB dialect) as Spark SQL, every table it reads available on Spark;
        ``db.table`` (e.g. proj.sites) is read from the view ``db__table``."""
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(query, read="duckdb")
        ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
        for t in list(tree.find_all(exp.Table)):
            if not t.name or (not t.db and t.name.lower() in ctes):
                continue
            view = f"{t.db}__{t.name}" if t.db else t.name
            if self._work_entry(con, view) is None and has_table(con, t.name, t.db or None):
                self._import(con, f"{t.db}.{t.name}" if t.db else t.name, view)
            if t.db:
                if not t.alias:
                    t.set("alias", exp.TableAlias(this=exp.to_identifier(t.name)))
                t.set("db", None)
                t.set("this", exp.to_identifier(view))
        return duckdb_query_to_spark(tree.sql(dialect="duckdb"))

    def _materialise(self, df: Any, name: str) -> tuple[Any, Path | None]:
        if self.engine.break_lineage_method == "persist":
            df = df.persist()
            df.count()
            return df, None
        if self.engine.break_lineage_method == "checkpoint":
            return df.checkpoint(eager=True), None
        stem = re.sub(r"\W", "_", name)[-40:]
        path = self.engine.work_dir / "tables" / f"{stem}_{uuid.uuid4().hex[:8]}"
        df.write.mode("overwrite").parquet(str(path))
        # read back (the lineage ends at the files) and kept in executor memory/disk once read:
        # the fixed points and the threshold curve read the same table many times
        return self.session.read.schema(df.schema).parquet(str(path)).persist(), path

    def create_table(self, con: Any, name: str, query: str) -> str:
        """Working table ``name`` := ``query`` (DuckDB SQL), computed and materialised on Spark.
        A query ending in ORDER BY keeps its order for :meth:`to_duckdb` (a hidden column)."""
        import sqlglot

        ordered = sqlglot.parse_one(query, read="duckdb").args.get("order") is not None
        df = self.session.sql(self._engine_sql(con, query))
        df = _no_void_columns(df)
        if ordered:
            from pyspark.sql import functions as F

            df = df.withColumn(ORDER_COLUMN, F.monotonically_increasing_id())
        df, path = self._materialise(df, name)
        self._register(con, name, _WorkTable(con, df, path, ordered=ordered))
        return name

    def insert(self, con: Any, name: str, query: str) -> None:
        """Append the rows of ``query`` to working table ``name`` (columns by position, cast
        to the table's types, as INSERT does)."""
        from pyspark.sql import functions as F

        old = self.session.table(name)
        new = self.session.sql(self._engine_sql(con, query)).toDF(*old.columns)
        new = new.select([F.col(f"`{f.name}`").cast(f.dataType) for f in old.schema.fields])
        df, path = self._materialise(old.unionByName(new), name)
        self._register(con, name, _WorkTable(con, df, path))

    def fetch(self, con: Any, query: str) -> list[tuple]:
        """The rows of ``query`` computed on Spark, collected to the driver (small results)."""
        return [tuple(r) for r in self.session.sql(self._engine_sql(con, query)).collect()]

    def to_duckdb(self, con: Any, name: str, target: str | None = None) -> str:
        """Working table ``name`` copied from Spark into the DuckDB connection ``con`` as
        ``target`` (default: the same name), through Parquet, in its order if it has one."""
        target = target or name
        e = self._work_entry(con, name)
        df = e.df if e is not None else self.session.table(name)
        ordered = e is not None and e.ordered
        path = self.engine.scratch(re.sub(r"\W", "_", target)[-40:])
        df.write.mode("overwrite").parquet(str(path))
        try:
            if sorted(path.glob("*.parquet")):
                src = f"read_parquet({path_literal(path / '*.parquet')})"
                sel = (f"SELECT * EXCLUDE ({ORDER_COLUMN}) FROM {src} ORDER BY {ORDER_COLUMN}" if ordered
                       else f"SELECT * FROM {src}")
            else:  # Spark writes no part file for an empty frame with zero partitions
                sel = "SELECT " + ", ".join(f"CAST(NULL AS {_duck_type(f.dataType)}) AS \"{f.name}\""
                                            for f in df.schema.fields if f.name != ORDER_COLUMN) + " LIMIT 0"
            con.execute(f"CREATE OR REPLACE TABLE {target} AS {sel}")
        finally:
            shutil.rmtree(path, ignore_errors=True)
        return target

    def work_table(self, con: Any, splink_df: Any) -> str:
        """A Splink result (predictions, term frequencies, clusters) as a working table: it
        stays on Spark under its physical name, where the SQL of :meth:`create_table` and
        :meth:`fetch` reads it. Splink owns it (it is never dropped from here)."""
        name = splink_df.physical_name
        self._register(con, name, _WorkTable(con, splink_df.as_spark_dataframe(), owned=False))
        return name

    def count_rows(self, con: Any, splink_df: Any) -> int:
        """Rows of a Splink result, counted where it lives (blocked pairs stay on Spark)."""
        return int(splink_df.as_spark_dataframe().count())

    def duckdb_views(self, con: Any, names: Iterable[str]) -> None:
        """Each working table of ``names`` readable by DuckDB on ``con`` under its name, as a
        view over its Parquet files (nothing is copied; a table kept in executor memory is
        written out first): for what must stay in DuckDB, the borderline waterfall's DuckDB
        linker (link/diagnostics.py), which reads only while the working tables live."""
        for name in names:
            e = self._work_entry(con, name)
            if e is None:
                raise KeyError(f"no working table {name!r} for this connection")
            if e.path is None:
                e.path = self.engine.scratch(re.sub(r"\W", "_", name)[-40:])
                e.df.write.mode("overwrite").parquet(str(e.path))
            if not any(e.path.glob("*.parquet")):  # an empty table: nothing to read
                log.warning("working table %s is empty: no DuckDB view of it", name)
                continue
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "
                        f"read_parquet({path_literal(e.path / '*.parquet')})")

    def drop_tables(self, con: Any) -> None:
        """Drop the working tables made for ``con`` (views, cached data, Parquet files);
        Splink's own tables are left to Splink."""
        for key, e in list(self._work.items()):
            if e.con is con:
                del self._work[key]
                if e.owned:
                    self.session.catalog.dropTempView(e.name or key)
                    e.release()


def _no_void_columns(df: Any) -> Any:
    """``df`` with its all-NULL untyped columns (``NULL AS c``: Spark's void type, which Parquet
    cannot store; DuckDB keeps a "NULL" column) typed as strings."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import NullType, StringType

    if not any(isinstance(f.dataType, NullType) for f in df.schema.fields):
        return df
    return df.select([F.col(f"`{f.name}`").cast(StringType()).alias(f.name) if isinstance(f.dataType, NullType)
                      else F.col(f"`{f.name}`") for f in df.schema.fields])


def _duck_type(spark_type: Any) -> str:
    name = type(spark_type).__name__
    return {"StringType": "VARCHAR", "IntegerType": "INTEGER", "LongType": "BIGINT",
            "DoubleType": "DOUBLE", "FloatType": "FLOAT", "BooleanType": "BOOLEAN",
            "DateType": "DATE", "TimestampType": "TIMESTAMP"}.get(name, "VARCHAR")
