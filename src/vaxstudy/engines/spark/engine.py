"""The Spark engine: Splink's Spark backend, the standardise stage and the estimate's queries
on Spark (local mode unless a master is given: ``--spark-master URL``, ``SPARK_MASTER`` or
``MASTER``). pyspark is imported lazily (``pip install 'vaxstudy[spark]'``). docs/spark.md.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from vaxstudy.engines.spark.session import create_spark_session, import_pyspark, spark_master
from vaxstudy.engines.spark.tables import SparkTables
from vaxstudy.engines.spark.transpile import (duckdb_query_to_spark, duckdb_sql_to_spark, make_spark_api_class,
                                              query_tables)
from vaxstudy.sql import as_query, file_key, path_literal

log = logging.getLogger(__name__)


class SparkBackend:
    """Spark (local mode by default) with Splink's Spark backend.

    ``work_dir`` holds the Parquet files exchanged between the DuckDB project database
    and Spark, and Splink's lineage-breaking checkpoints; on a cluster it must be
    storage every executor can read (a shared file system path). ``break_lineage_method``
    and ``num_partitions_on_repartition`` are passed to ``splink.SparkAPI`` (docs/spark.md).
    """

    name = "spark"

    def __init__(
        self,
        spark: Any = None,
        *,
        master: str | None = None,
        work_dir: str | Path | None = None,
        driver_memory: str | None = None,
        shuffle_partitions: int | None = None,
        break_lineage_method: str = "parquet",
        num_partitions_on_repartition: int | None = None,
        conf: dict[str, str] | None = None,
    ) -> None:
        import_pyspark()
        wd = work_dir or os.environ.get("VAXSTUDY_SPARK_WORK_DIR")
        self._own_work_dir = wd is None
        self.work_dir = Path(wd) if wd else Path(tempfile.mkdtemp(prefix="vaxstudy-spark-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._own_session = spark is None
        self._spark = spark
        self._session_args = dict(master=master, driver_memory=driver_memory,
                                  shuffle_partitions=shuffle_partitions, conf=conf)
        self.break_lineage_method = break_lineage_method
        self.num_partitions_on_repartition = num_partitions_on_repartition
        self._duckdb_template: dict[str, Any] | None = None
        self.tables = SparkTables(self)  # the link stage's working tables on Spark

    @property
    def session(self) -> Any:
        if self._spark is None:
            from pyspark.sql import SparkSession

            active = SparkSession.getActiveSession()
            if active is not None:  # e.g. a notebook's or a test's session: used, never stopped
                log.info("using the active SparkSession (%s); session arguments ignored",
                         active.sparkContext.master)
                self._spark, self._own_session = active, False
            else:
                self._spark = create_spark_session(checkpoint_dir=self.work_dir / "checkpoints",
                                                   **self._session_args)
        sc = self._spark.sparkContext
        if sc.getCheckpointDir() is None:
            (self.work_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
            sc.setCheckpointDir(str(self.work_dir / "checkpoints"))
        return self._spark

    @property
    def master(self) -> str:
        return self.session.sparkContext.master

    def scratch(self, stem: str) -> Path:
        return self.work_dir / f"{stem}_{uuid.uuid4().hex[:8]}"

    def duckdb_to_parquet(self, con: Any, query_or_table: str, stem: str = "t") -> Path:
        """A DuckDB table (or query) of ``con`` written as a Parquet folder in work_dir."""
        path = self.scratch(stem)
        path.mkdir(parents=True)
        con.execute(f"COPY (SELECT * FROM ({as_query(query_or_table)})) "
                    f"TO {path_literal(path / 'part-0.parquet')} (FORMAT PARQUET)")
        return path

    def standardize(self, db_path: str | Path, progress: Callable[[str], None] | None = None) -> None:
        from vaxstudy.engines.spark.standardize import standardize_db_spark

        standardize_db_spark(self, db_path, progress=progress)

    def splink_api(self, con: Any, tables: Iterable[str] = ()) -> Any:
        """A splink.SparkAPI in which each table of ``tables`` is a Spark view of the same name,
        so ``db_api.register("link_reg", ...)`` works unchanged: a working table made on Spark
        (:meth:`create_table`, :meth:`work_table`) is used as it is, a table of the DuckDB
        working connection ``con`` is copied over (once per connection)."""
        for t in tables:
            if self.tables._work_entry(con, t) is None:
                self.tables._import(con, t, t)
        cls = make_spark_api_class()
        kw: dict[str, Any] = {}
        if self.num_partitions_on_repartition:
            kw["num_partitions_on_repartition"] = self.num_partitions_on_repartition
        return cls(spark_session=self.session, break_lineage_method=self.break_lineage_method, **kw)

    def splink_settings(self, settings: Any) -> Any:
        """The settings (a SettingsCreator or a saved model dict, written for DuckDB) with every
        comparison-level condition and blocking rule transpiled to Spark SQL. The DuckDB form
        is kept as the template of :meth:`portable_model`."""
        from splink import SettingsCreator

        if isinstance(settings, SettingsCreator):
            d = settings.create_settings_dict("duckdb")
        else:
            d = copy.deepcopy(dict(settings))
        d["sql_dialect"] = "duckdb"
        self._duckdb_template = copy.deepcopy(d)
        d["sql_dialect"] = "spark"
        for comp in d.get("comparisons", []):
            for lvl in comp.get("comparison_levels", []):
                if lvl.get("sql_condition") and lvl["sql_condition"].strip().upper() != "ELSE":
                    lvl["sql_condition"] = duckdb_sql_to_spark(lvl["sql_condition"])
        rules = []
        for br in d.get("blocking_rules_to_generate_predictions", []):
            if isinstance(br, str):
                rules.append(duckdb_sql_to_spark(br))
            else:
                br = {k: v for k, v in br.items() if k != "sql_dialect"}
                br["blocking_rule"] = duckdb_sql_to_spark(br["blocking_rule"])
                rules.append(br)
        d["blocking_rules_to_generate_predictions"] = rules
        return d

    def portable_model(self, model: dict[str, Any]) -> dict[str, Any]:
        """The trained model on the DuckDB-dialect settings: every comparison level's m, u and
        term-frequency settings copied from the Spark model, level by level."""
        if self._duckdb_template is None:
            return model
        out = copy.deepcopy(self._duckdb_template)
        for k, v in model.items():
            if k not in ("comparisons", "blocking_rules_to_generate_predictions", "sql_dialect"):
                out[k] = v
        if len(out["comparisons"]) != len(model["comparisons"]):
            raise ValueError("model and settings template differ in their comparisons")
        for c_out, c_in in zip(out["comparisons"], model["comparisons"]):
            lv_out, lv_in = c_out["comparison_levels"], c_in["comparison_levels"]
            if len(lv_out) != len(lv_in):
                raise ValueError(f"comparison {c_in.get('output_column_name')}: levels differ")
            for a, b in zip(lv_out, lv_in):
                for key in ("m_probability", "u_probability", "tf_adjustment_column",
                            "tf_adjustment_weight", "tf_minimum_u_value", "fix_m_probability",
                            "fix_u_probability", "is_null_level", "label_for_charts"):
                    if key in b:
                        a[key] = b[key]
        out["sql_dialect"] = "duckdb"
        return out

    def identity_hash_sql(self, columns: Iterable[str]) -> str:
        """A 64-bit hash of ``columns`` naming a vaccination identity (link/prepare.py):
        Spark's ``xxhash64``, each column preceded by whether it is NULL (xxhash64 skips a NULL,
        so ``(NULL, 'a')`` and ``('a', NULL)`` would collide). Not DuckDB's ``hash``: the ids
        differ between engines; the identities (which rows share one) do not."""
        return "xxhash64(" + ", ".join(f"{c} IS NULL, {c}" for c in columns) + ")"

    def project_parquet(self, con: Any, table: str) -> Path:
        """Table ``table`` of the project database open on ``con`` as a Parquet folder in
        work_dir, exported once per state of the database file: the folder is named after the
        file and its size and modification time, so the periods of one province (report-all)
        reuse the same export, and a re-linked database gets a new one. An in-memory database
        is exported on every call."""
        key = file_key(con)
        if key is None:
            return self.duckdb_to_parquet(con, table, table)
        path = self.work_dir / "project" / key / table
        if (path / "part-0.parquet").exists():
            return path
        tmp = path.with_name(f".{table}-{uuid.uuid4().hex[:8]}")
        tmp.mkdir(parents=True)
        con.execute(f"COPY (SELECT * FROM {table}) TO {path_literal(tmp / 'part-0.parquet')} (FORMAT PARQUET)")
        try:
            os.replace(tmp, path)
        except OSError:  # exported meanwhile by someone else: theirs is as good
            shutil.rmtree(tmp, ignore_errors=True)
        return path

    def fetch_df(self, con: Any, query: str, frames: Mapping[str, Any] | None = None) -> Any:
        """Run ``query`` (DuckDB SQL over the project database open on ``con``) on Spark.

        Every table it reads becomes a Spark view over its Parquet export
        (:meth:`project_parquet`); each pandas frame of ``frames`` (small: e.g. a province's
        sites) goes through Parquet too. The views have names of their own (``vxp_<state of the
        database>_<table>``, ``vxf_<random>_<frame>``; the query is rewritten to read them, the
        table names staying as aliases), so no other view of the session is replaced. The query
        is transpiled (:func:`duckdb_query_to_spark`), run on the cluster, and only its result
        comes back to the driver, converted to pandas by DuckDB so the column types are exactly
        those the DuckDB backend gives."""
        import hashlib

        import duckdb
        import sqlglot
        from sqlglot import exp

        frames = dict(frames or {})
        local = duckdb.connect()
        try:
            state = hashlib.sha1(str(file_key(con) or uuid.uuid4().hex).encode()).hexdigest()[:10]
            views: dict[str, str] = {}
            for name in query_tables(query):
                if name in frames:
                    local.register("_frame", frames[name])
                    path = self.duckdb_to_parquet(local, "_frame", name)
                    local.unregister("_frame")
                    views[name] = f"vxf_{uuid.uuid4().hex[:8]}_{name}"
                else:
                    path = self.project_parquet(con, name)
                    views[name] = f"vxp_{state}_{name}"
                self.session.read.parquet(str(path)).createOrReplaceTempView(views[name])
            tree = sqlglot.parse_one(query, read="duckdb")
            ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
            for t in list(tree.find_all(exp.Table)):
                if t.name in views and not t.db and t.name not in ctes:
                    if not t.alias:
                        t.set("alias", exp.TableAlias(this=exp.to_identifier(t.name)))
                    t.set("this", exp.to_identifier(views[t.name]))
            result = self.session.sql(duckdb_query_to_spark(tree.sql(dialect="duckdb"))).toArrow()
            for name in frames:
                if name in views:
                    self.session.catalog.dropTempView(views[name])
            return local.from_arrow(result).df()
        finally:
            local.close()

    def describe(self) -> dict[str, Any]:
        """What manifest.json records about the engine: the master of the running session,
        else the one it would start with (never starts a session itself)."""
        master = (self._spark.sparkContext.master if self._spark is not None
                  else spark_master(self._session_args.get("master")))
        return {"name": self.name, "spark_master": master}

    def close(self) -> None:
        if self._own_session and self._spark is not None:
            self._spark.stop()
            self._spark = None
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"SparkBackend(master={self._session_args.get('master') or spark_master()!r}, work_dir={str(self.work_dir)!r})"
