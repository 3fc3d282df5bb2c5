"""The one place that knows DuckDB from Spark (the way Splink hides it behind its database API).

A :class:`Backend` gives the stages what they need without them branching on it:

* a session (DuckDB connection / SparkSession), Parquet in and out, SQL;
* ``standardize(db_path)``: the standardise stage on this engine, writing
  ``population_std`` / ``vaccinations_std`` into the project database;
* the Splink side of the link stage: ``splink_api`` (a ``splink.DuckDBAPI`` or a
  ``splink.SparkAPI`` that sees the working tables under the same names),
  ``splink_settings`` (settings the engine can run), ``work_table`` (a Splink
  result as a table of the DuckDB working connection) and ``portable_model``
  (the trained model in the DuckDB dialect, so a model trained on a cluster
  can be reused anywhere, and the other way round);
* ``fetch_df(con, query, frames)``: a query written in the DuckDB dialect over the tables of
  the project database open on ``con`` (the estimate stage's record-level SQL), run on the
  engine, its result (one province's slice or aggregates) returned as pandas.

:class:`DuckDBBackend` is the default and reproduces the behaviour the stages
had before backends existed, call for call. :class:`SparkBackend` runs Spark in
local mode unless a master is given (``--spark-master URL``, ``SPARK_MASTER``
or ``MASTER``); pyspark is imported lazily and only needed for it
(``pip install 'vaxstudy[spark]'``). See docs/spark.md.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, runtime_checkable

log = logging.getLogger(__name__)

BACKENDS = ("duckdb", "spark")
SPARK_INSTALL_HINT = "pip install 'vaxstudy[spark]'"


class BackendUnavailable(RuntimeError):
    """The backend's engine is not installed or cannot start (pyspark, Java)."""


@runtime_checkable
class Backend(Protocol):
    """What the stages may ask of an engine."""

    name: str

    def read_parquet(self, path: str | Path) -> Any: ...
    def write_parquet(self, table: Any, path: str | Path) -> Path: ...
    def sql(self, query: str) -> Any: ...
    def standardize(self, db_path: str | Path, progress: Callable[[str], None] | None = None) -> None: ...
    def splink_api(self, con: Any, tables: Iterable[str]) -> Any: ...
    def splink_settings(self, settings: Any) -> Any: ...
    def work_table(self, con: Any, splink_df: Any) -> str: ...
    def count_rows(self, con: Any, splink_df: Any) -> int: ...
    def portable_model(self, model: dict[str, Any]) -> dict[str, Any]: ...
    def create_table(self, con: Any, name: str, query: str) -> str: ...
    def insert(self, con: Any, name: str, query: str) -> None: ...
    def fetch(self, con: Any, query: str) -> list[tuple]: ...
    def to_duckdb(self, con: Any, name: str, target: str | None = None) -> str: ...
    def drop_tables(self, con: Any) -> None: ...
    def identity_hash_sql(self, columns: Iterable[str]) -> str: ...
    def duckdb_views(self, con: Any, names: Iterable[str]) -> None: ...
    def fetch_df(self, con: Any, query: str, frames: Mapping[str, Any] | None = None) -> Any: ...
    def describe(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


# --------------------------------------------------------------------------------------------
# DuckDB


class DuckDBBackend:
    """DuckDB, in process: what every stage did before backends existed."""

    name = "duckdb"

    def __init__(self, connection: Any = None) -> None:
        self._con = connection

    @property
    def session(self) -> Any:
        if self._con is None:
            import duckdb

            self._con = duckdb.connect()
        return self._con

    def read_parquet(self, path: str | Path) -> Any:
        return self.session.sql(f"SELECT * FROM read_parquet('{_parquet_glob(path)}')")

    def write_parquet(self, table: Any, path: str | Path) -> Path:
        """``table``: a table name or a DuckDB relation."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        src = table if isinstance(table, str) else table.sql_query()
        self.session.execute(f"COPY (SELECT * FROM ({_as_query(src)})) TO '{path.as_posix()}' (FORMAT PARQUET)")
        return path

    def sql(self, query: str) -> Any:
        return self.session.sql(query)

    def standardize(self, db_path: str | Path, progress: Callable[[str], None] | None = None) -> None:
        from vaxstudy.standardize import standardize_db

        standardize_db(db_path, progress=progress)

    def splink_api(self, con: Any, tables: Iterable[str] = ()) -> Any:
        from splink import DuckDBAPI

        return DuckDBAPI(connection=con)

    def splink_settings(self, settings: Any) -> Any:
        return settings

    def work_table(self, con: Any, splink_df: Any) -> str:
        return splink_df.physical_name

    def count_rows(self, con: Any, splink_df: Any) -> int:
        return int(con.execute(f"SELECT count(*) FROM {splink_df.physical_name}").fetchall()[0][0])

    def portable_model(self, model: dict[str, Any]) -> dict[str, Any]:
        return model

    # -- working tables of the link stage (SQL in the DuckDB dialect) ---------------------------
    def create_table(self, con: Any, name: str, query: str) -> str:
        """``CREATE OR REPLACE TABLE name AS query`` on the working connection ``con``."""
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {query}")
        return name

    def insert(self, con: Any, name: str, query: str) -> None:
        """``INSERT INTO name query`` (columns by position)."""
        con.execute(f"INSERT INTO {name} {query}")

    def fetch(self, con: Any, query: str) -> list[tuple]:
        """The rows of ``query`` (small results: counts, sums, a curve)."""
        return con.execute(query).fetchall()

    def to_duckdb(self, con: Any, name: str, target: str | None = None) -> str:
        """Working table ``name`` as a table of the DuckDB connection ``con``: itself, or
        copied to ``target`` (e.g. ``proj.record_links``) in its row order."""
        if target is None or target == name:
            return name
        con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {name}")
        return target

    def drop_tables(self, con: Any) -> None:
        """Nothing to do: the working tables live and die with the connection."""

    def identity_hash_sql(self, columns: Iterable[str]) -> str:
        """A 64-bit hash of ``columns`` (SQL, DuckDB dialect) naming a vaccination identity
        (link/prepare.py): DuckDB's ``hash``, as it always was."""
        return f"hash({', '.join(columns)})"

    def duckdb_views(self, con: Any, names: Iterable[str]) -> None:
        """Nothing to do: the working tables are tables of ``con``."""

    def fetch_df(self, con: Any, query: str, frames: Mapping[str, Any] | None = None) -> Any:
        """Run ``query`` (DuckDB SQL) on the project database connection ``con``, the pandas
        ``frames`` registered under their names for the query's duration; a pandas DataFrame."""
        frames = dict(frames or {})
        for name, frame in frames.items():
            con.register(name, frame)
        try:
            return con.execute(query).df()
        finally:
            for name in frames:
                con.unregister(name)

    def describe(self) -> dict[str, Any]:
        """What manifest.json records about the engine."""
        return {"name": self.name}

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __repr__(self) -> str:
        return "DuckDBBackend()"


# --------------------------------------------------------------------------------------------
# Spark


def _spark_dq_dialect():
    """sqlglot's Spark dialect, but reading "x" as an identifier (as DuckDB and the SQL
    standard do). The link settings are written for DuckDB (double-quoted columns); Splink's
    own Spark SQL quotes with backticks and its strings with single quotes, so one reader
    serves both."""
    from sqlglot.dialects.spark import Spark

    class SparkDQ(Spark):
        class Tokenizer(Spark.Tokenizer):
            QUOTES = ["'"]
            IDENTIFIERS = ["`", '"']

    return SparkDQ


#: DuckDB function names used by the link settings → the names of the same functions in Spark
#: (Splink's similarity jar registers jaro_winkler and damerau_levenshtein).
SPARK_FUNCTION_NAMES = {"jaro_winkler_similarity": "jaro_winkler"}


def duckdb_sql_to_spark(sql: str, write: str = "spark") -> str:
    """Transpile a DuckDB-flavoured SQL fragment (as in link/settings.py) to Spark SQL."""
    import sqlglot

    for a, b in SPARK_FUNCTION_NAMES.items():
        sql = re.sub(rf"\b{a}\s*\(", f"{b}(", sql, flags=re.I)
    return sqlglot.transpile(sql, read=_spark_dq_dialect(), write=write)[0]


def duckdb_query_to_spark(query: str) -> str:
    """Transpile a whole query written for DuckDB (the estimate stage's SQL: ``::`` casts,
    ``GROUP BY ALL``, ``list_contains``, ``mode``, DuckDB's NULLS LAST default) to Spark SQL.
    Read with sqlglot's DuckDB dialect, unlike :func:`duckdb_sql_to_spark`, which reads the
    link settings' fragments."""
    import sqlglot

    for a, b in SPARK_FUNCTION_NAMES.items():
        query = re.sub(rf"\b{a}\s*\(", f"{b}(", query, flags=re.I)
    return sqlglot.transpile(query, read="duckdb", write="spark")[0]


def query_tables(query: str) -> list[str]:
    """The tables a DuckDB-dialect query reads, each once (CTE names left out)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(query, read="duckdb")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    out: list[str] = []
    for t in tree.find_all(exp.Table):
        if t.name and t.name not in ctes and t.name not in out:
            out.append(t.name)
    return out


def _make_spark_api_class():
    from splink import SparkAPI

    class VaxSparkAPI(SparkAPI):
        """splink.SparkAPI that also runs SQL written for DuckDB (double-quoted identifiers,
        ``::`` casts, DuckDB function names), so the link settings need no Spark copy."""

        def _setup_for_execute_sql(self, sql: str, physical_name: str) -> str:
            import splink.internals.spark.spark_helpers.custom_spark_dialect  # noqa: F401  registers customspark

            return duckdb_sql_to_spark(sql, write="customspark")

    return VaxSparkAPI


#: What DuckDB's one-argument trim() strips: Unicode category Zs (Spark's trim strips ' ' only).
DUCKDB_TRIM_CHARS = " \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"


def re2_to_java(pattern: str) -> str:
    """A DuckDB (RE2) regular expression rewritten for Spark (java.util.regex), same matches:
    ``$`` → ``\\z`` (Java's ``$`` also matches before a final line terminator), ``.`` →
    ``[^\\n]`` (Java's also stops at \\r, \\u0085, \\u2028, \\u2029), ``\\s`` → RE2's
    ``[\\t\\n\\f\\r ]`` (Java's adds \\x0B), ``(?P<n>`` → ``(?<n>``, and ``[`` / ``&`` inside a
    class escaped (Java nests and intersects classes). What it cannot translate raises ValueError."""
    out, i, body = [], 0, None  # body: where the open character class's body starts
    while i < len(pattern):
        c, two = pattern[i], pattern[i:i + 2]
        if c == "\\":
            if two == "\\s":
                out.append("\\t\\n\\f\\r " if body is not None else "[\\t\\n\\f\\r ]")
            elif two == "\\S" and body is None:
                out.append("[^\\t\\n\\f\\r ]")
            elif two in ("\\S", "\\C", "\\Q", "\\E", "\\p", "\\P"):
                raise ValueError(f"regex {pattern!r}: {two} is not translated to Java")
            else:
                out.append(two)
            i += 2
            continue
        if body is not None:
            if c == "]" and i > body:
                body = None
            elif two == "[:":
                raise ValueError(f"regex {pattern!r}: POSIX classes are not translated to Java")
            elif c in "[&":
                c = "\\" + c
            out.append(c)
        elif c == "[":
            out.append(c)
            body = i + 1 + (pattern[i + 1:i + 2] == "^")  # a ']' first in the class is literal
        elif pattern.startswith("(?P<", i):
            out.append("(?<")
            i += 4
            continue
        else:
            out.append({"$": "\\z", ".": "[^\\n]"}.get(c, c))
        i += 1
    return "".join(out)


def duckdb_rules_to_spark(sql: str, star_columns: dict[str, Iterable[str]] | None = None) -> str:
    """Transpile DuckDB SQL (the standardise rules of ``vaxstudy.standardize``: an expression
    or a query) to Spark SQL giving the same results, ANSI mode on or off. On top of sqlglot's
    DuckDB → Spark translation: regex literals go through :func:`re2_to_java`;
    ``regexp_full_match`` becomes an anchored ``RLIKE``; ``regexp_replace`` is accepted only
    where Spark's replace-all equals DuckDB's (flag 'g', or a pattern anchored by ``^``/``$``);
    ``regexp_extract(s, p, ['a', 'b'])`` becomes ``named_struct('a', regexp_extract(s, p, 1), …)``
    (same ``.a`` access); a one-argument ``trim`` strips DuckDB's characters
    (:data:`DUCKDB_TRIM_CHARS`); ``printf`` is NULL when an argument is (Java prints "null");
    ``t.* EXCLUDE (c)`` is expanded from ``star_columns`` (``{"t": columns}``; Spark 3.5 has
    no ``* EXCEPT``). What cannot be kept equal raises ValueError."""
    import sqlglot
    from sqlglot import exp

    def regex(node: Any) -> str:
        if not (isinstance(node, exp.Literal) and node.is_string):
            raise ValueError(f"a regex must be a string literal to be translated: {node.sql('duckdb')}")
        return re2_to_java(node.this)

    def fix(node: Any) -> Any:
        if isinstance(node, (exp.RegexpLike, exp.RegexpFullMatch, exp.RegexpExtract)):
            if any(node.args.get(k) is not None for k in ("flag", "parameters", "modifiers")):
                raise ValueError(f"regex options are not translated: {node.sql('duckdb')}")
            p = regex(node.expression)
            group = node.args.get("group")
            if isinstance(node, exp.RegexpFullMatch):
                return exp.RegexpLike(this=node.this, expression=exp.Literal.string(f"^(?:{p})\\z"))
            if isinstance(group, exp.Array):
                fields: list[Any] = []
                for k, name in enumerate(group.expressions, 1):
                    fields += [name.copy(), exp.RegexpExtract(this=node.this.copy(), expression=exp.Literal.string(p),
                                                              group=exp.Literal.number(k))]
                return exp.Anonymous(this="named_struct", expressions=fields)
            node.set("expression", exp.Literal.string(p))
        elif isinstance(node, exp.RegexpReplace):
            pat, rep, mods = node.expression, node.args.get("replacement"), node.args.get("modifiers")
            mods = "" if mods is None else mods.this if isinstance(mods, exp.Literal) else "?"
            raw = pat.this if isinstance(pat, exp.Literal) else ""
            anchored = raw.startswith("^") or (raw.endswith("$") and not raw.endswith("\\$"))
            if set(mods) - {"g"} or ("g" not in mods and not anchored):
                raise ValueError(f"regexp_replace: Spark replaces every match: {node.sql('duckdb')}")
            if not isinstance(rep, exp.Literal) or set(rep.this) & {"\\", "$"}:
                raise ValueError(f"regexp_replace: back-references are not translated: {node.sql('duckdb')}")
            node.set("expression", exp.Literal.string(regex(pat)))
            node.set("modifiers", None)
        elif isinstance(node, exp.Trim) and node.args.get("expression") is None:
            node.set("expression", exp.Literal.string(DUCKDB_TRIM_CHARS))
            node.set("position", node.args.get("position") or "BOTH")
        elif isinstance(node, exp.Anonymous) and node.name.lower() == "printf" and len(node.expressions) > 1:
            null = exp.or_(*(exp.Is(this=a.copy(), expression=exp.Null()) for a in node.expressions[1:]))
            return exp.Case(ifs=[exp.If(this=null, true=exp.Null())], default=node.copy())
        elif isinstance(node, exp.Select):
            for e in list(node.expressions):
                star = e.this if isinstance(e, exp.Column) else e
                drop = (star.args.get("except_") or star.args.get("except")) if isinstance(star, exp.Star) else None
                if drop:
                    table = e.table if isinstance(e, exp.Column) else ""
                    if table not in (star_columns or {}):
                        raise ValueError(f"{e.sql('duckdb')}: star_columns must give the columns of {table or '*'}")
                    gone = {d.name for d in drop}
                    at = node.expressions.index(e)
                    node.set("expressions", node.expressions[:at] + [
                        exp.column(c, table=table or None, quoted=True) for c in star_columns[table] if c not in gone
                    ] + node.expressions[at + 1:])
        return node

    tree = sqlglot.parse_one(sql, read="duckdb")
    for node in reversed(list(tree.walk())):  # children first: each node is fixed once
        new = fix(node)
        if new is not node:
            tree = new if node is tree else tree
            node.replace(new)
    return tree.sql(dialect="spark")


def _import_pyspark():
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BackendUnavailable(
            f"the Spark backend needs pyspark: {SPARK_INSTALL_HINT} (and Java 17)"
        ) from exc
    return pyspark


def spark_master(master: str | None = None) -> str:
    """--spark-master, else SPARK_MASTER / MASTER, else local mode on 2 cores."""
    return master or os.environ.get("SPARK_MASTER") or os.environ.get("MASTER") or "local[2]"


def create_spark_session(
    master: str | None = None,
    *,
    app_name: str = "vaxstudy",
    driver_memory: str | None = None,
    shuffle_partitions: int | None = None,
    checkpoint_dir: str | Path | None = None,
    conf: dict[str, str] | None = None,
) -> Any:
    """A SparkSession with Splink's similarity UDF jar on the class path.

    Settings come from, in order of precedence: ``conf`` (any Spark key), the arguments,
    the environment (``SPARK_MASTER``, ``SPARK_DRIVER_MEMORY``, ``SPARK_SHUFFLE_PARTITIONS``),
    then small local-mode defaults; Spark itself also reads
    ``SPARK_CONF_DIR/spark-defaults.conf``. Executors run the standardisation's Python
    (names): they need vaxstudy installed in the same Python version.
    """
    _import_pyspark()
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    master = spark_master(master)
    local = master.startswith("local")
    driver_memory = driver_memory or os.environ.get("SPARK_DRIVER_MEMORY") or "2g"
    if shuffle_partitions is None:
        env = os.environ.get("SPARK_SHUFFLE_PARTITIONS")
        shuffle_partitions = int(env) if env else (8 if local else 800)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if local:
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    b = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(shuffle_partitions))
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if local:
        b = b.config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
    for k, v in (conf or {}).items():
        b = b.config(k, v)
    try:
        spark = b.getOrCreate()
    except Exception as exc:  # Java missing, bad master URL …
        raise BackendUnavailable(f"cannot start Spark ({master}): {exc}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    if checkpoint_dir is not None:
        if "://" not in str(checkpoint_dir):  # a local or mounted path (not hdfs://, s3a://)
            Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
        spark.sparkContext.setCheckpointDir(str(checkpoint_dir))
    return spark


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
        _import_pyspark()
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
        self._work: dict[str, _WorkTable] = {}  # the link stage's working tables on Spark

    # -- session, Parquet, SQL ----------------------------------------------------------------
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

    def read_parquet(self, path: str | Path) -> Any:
        return self.session.read.parquet(str(path))

    def write_parquet(self, table: Any, path: str | Path) -> Path:
        """``table``: a Spark DataFrame or the name of a table/view. Writes a Parquet folder."""
        df = self.session.table(table) if isinstance(table, str) else table
        df.write.mode("overwrite").parquet(str(path))
        return Path(path)

    def sql(self, query: str) -> Any:
        return self.session.sql(query)

    def _scratch(self, stem: str) -> Path:
        return self.work_dir / f"{stem}_{uuid.uuid4().hex[:8]}"

    def duckdb_to_parquet(self, con: Any, query_or_table: str, stem: str = "t") -> Path:
        """A DuckDB table (or query) of ``con`` written as a Parquet folder in work_dir."""
        path = self._scratch(stem)
        path.mkdir(parents=True)
        con.execute(f"COPY (SELECT * FROM ({_as_query(query_or_table)})) "
                    f"TO '{(path / 'part-0.parquet').as_posix()}' (FORMAT PARQUET)")
        return path

    def duckdb_to_spark(self, con: Any, query_or_table: str, view: str | None = None) -> Any:
        """A DuckDB table (or query) of ``con`` as a Spark DataFrame, through Parquet in work_dir."""
        path = self.duckdb_to_parquet(con, query_or_table, view or "t")
        df = self.session.read.parquet(str(path))
        if view:
            df.createOrReplaceTempView(view)
        return df

    def spark_to_duckdb(self, con: Any, df: Any, table: str, order_by: str | None = None) -> str:
        """A Spark DataFrame as table ``table`` of the DuckDB connection ``con`` (via Parquet)."""
        path = self._scratch(re.sub(r"\W", "_", table)[-40:])
        df.write.mode("overwrite").parquet(str(path))
        files = sorted(path.glob("*.parquet"))
        if files:
            order = f" ORDER BY {order_by}" if order_by else ""
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM "
                        f"read_parquet('{(path / '*.parquet').as_posix()}'){order}")
        else:  # Spark writes no part file for an empty frame with zero partitions
            cols = ", ".join(f"CAST(NULL AS {_duck_type(f.dataType)}) AS \"{f.name}\"" for f in df.schema.fields)
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {cols} LIMIT 0")
        return table

    # -- stages ---------------------------------------------------------------------------------
    def standardize(self, db_path: str | Path, progress: Callable[[str], None] | None = None) -> None:
        from vaxstudy.spark.standardize import standardize_db_spark

        standardize_db_spark(self, db_path, progress=progress)

    def splink_api(self, con: Any, tables: Iterable[str] = ()) -> Any:
        """A splink.SparkAPI in which each table of ``tables`` is a Spark view of the same name,
        so ``db_api.register("link_reg", ...)`` works unchanged: a working table made on Spark
        (:meth:`create_table`, :meth:`work_table`) is used as it is, a table of the DuckDB
        working connection ``con`` is copied over (once per connection)."""
        for t in tables:
            if self._work_entry(con, t) is None:
                self._import(con, t, t)
        cls = _make_spark_api_class()
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

    # -- working tables of the link stage ---------------------------------------------------------
    # SQL is written once, in the DuckDB dialect, as on DuckDBBackend; here it is transpiled
    # (duckdb_query_to_spark) and run on Spark. A table it reads that is not a working table yet
    # but a table of the DuckDB working connection (link_rows, a lookup, proj.sites) is copied
    # over through Parquet on first use. Each result is materialised the way Splink breaks
    # lineage (break_lineage_method: Parquet files in work_dir/tables by default, else persist
    # or checkpoint), so a chain of fixed-point steps and inserts never recomputes its inputs.

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
        path = self.duckdb_to_parquet(con, table, re.sub(r"\W", "_", view)[-40:])
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
            if self._work_entry(con, view) is None and _duckdb_has_table(con, t.name, t.db or None):
                self._import(con, f"{t.db}.{t.name}" if t.db else t.name, view)
            if t.db:
                if not t.alias:
                    t.set("alias", exp.TableAlias(this=exp.to_identifier(t.name)))
                t.set("db", None)
                t.set("this", exp.to_identifier(view))
        return duckdb_query_to_spark(tree.sql(dialect="duckdb"))

    def _materialise(self, df: Any, name: str) -> tuple[Any, Path | None]:
        if self.break_lineage_method == "persist":
            df = df.persist()
            df.count()
            return df, None
        if self.break_lineage_method == "checkpoint":
            return df.checkpoint(eager=True), None
        stem = re.sub(r"\W", "_", name)[-40:]
        path = self.work_dir / "tables" / f"{stem}_{uuid.uuid4().hex[:8]}"
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
        path = self._scratch(re.sub(r"\W", "_", target)[-40:])
        df.write.mode("overwrite").parquet(str(path))
        try:
            if sorted(path.glob("*.parquet")):
                src = f"read_parquet('{(path / '*.parquet').as_posix()}')"
                sel = (f"SELECT * EXCLUDE ({ORDER_COLUMN}) FROM {src} ORDER BY {ORDER_COLUMN}" if ordered
                       else f"SELECT * FROM {src}")
            else:  # Spark writes no part file for an empty frame with zero partitions
                sel = "SELECT " + ", ".join(f"CAST(NULL AS {_duck_type(f.dataType)}) AS \"{f.name}\""
                                            for f in df.schema.fields if f.name != ORDER_COLUMN) + " LIMIT 0"
            con.execute(f"CREATE OR REPLACE TABLE {target} AS {sel}")
        finally:
            shutil.rmtree(path, ignore_errors=True)
        return target

    def identity_hash_sql(self, columns: Iterable[str]) -> str:
        """A 64-bit hash of ``columns`` naming a vaccination identity (link/prepare.py):
        Spark's ``xxhash64``, each column preceded by whether it is NULL (xxhash64 skips a NULL,
        so ``(NULL, 'a')`` and ``('a', NULL)`` would collide). Not DuckDB's ``hash``: the ids
        differ between engines; the identities (which rows share one) do not."""
        return "xxhash64(" + ", ".join(f"{c} IS NULL, {c}" for c in columns) + ")"

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
                e.path = self._scratch(re.sub(r"\W", "_", name)[-40:])
                e.df.write.mode("overwrite").parquet(str(e.path))
            if not any(e.path.glob("*.parquet")):  # an empty table: nothing to read
                log.warning("working table %s is empty: no DuckDB view of it", name)
                continue
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "
                        f"read_parquet('{(e.path / '*.parquet').as_posix()}')")

    def drop_tables(self, con: Any) -> None:
        """Drop the working tables made for ``con`` (views, cached data, Parquet files);
        Splink's own tables are left to Splink."""
        for key, e in list(self._work.items()):
            if e.con is con:
                del self._work[key]
                if e.owned:
                    self.session.catalog.dropTempView(e.name or key)
                    e.release()

    # -- the project database's tables on Spark (estimate stage) --------------------------------
    def project_parquet(self, con: Any, table: str) -> Path:
        """Table ``table`` of the project database open on ``con`` as a Parquet folder in
        work_dir, exported once per state of the database file: the folder is named after the
        file and its size and modification time, so the periods of one province (report-all)
        reuse the same export, and a re-linked database gets a new one. An in-memory database
        is exported on every call."""
        key = _duckdb_file_key(con)
        if key is None:
            return self.duckdb_to_parquet(con, table, table)
        path = self.work_dir / "project" / key / table
        if (path / "part-0.parquet").exists():
            return path
        tmp = path.with_name(f".{table}-{uuid.uuid4().hex[:8]}")
        tmp.mkdir(parents=True)
        con.execute(f"COPY (SELECT * FROM {table}) TO '{(tmp / 'part-0.parquet').as_posix()}' (FORMAT PARQUET)")
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
            state = hashlib.sha1(str(_duckdb_file_key(con) or uuid.uuid4().hex).encode()).hexdigest()[:10]
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


# --------------------------------------------------------------------------------------------


#: the hidden column that keeps the order of a working table made by a query with ORDER BY
ORDER_COLUMN = "__vaxstudy_order"


class _WorkTable:
    """A working table of SparkBackend: its DataFrame and what to release when it goes."""

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


def _no_void_columns(df: Any) -> Any:
    """``df`` with its all-NULL untyped columns (``NULL AS c``: Spark's void type, which Parquet
    cannot store; DuckDB keeps a "NULL" column) typed as strings."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import NullType, StringType

    if not any(isinstance(f.dataType, NullType) for f in df.schema.fields):
        return df
    return df.select([F.col(f"`{f.name}`").cast(StringType()).alias(f.name) if isinstance(f.dataType, NullType)
                      else F.col(f"`{f.name}`") for f in df.schema.fields])


def _duckdb_has_table(con: Any, name: str, database: str | None = None) -> bool:
    """Whether the DuckDB connection ``con`` has table or view ``name`` (in ``database``, else
    in its current database)."""
    row = con.execute(
        "SELECT count(*) FROM (SELECT database_name, table_name FROM duckdb_tables() UNION ALL "
        "SELECT database_name, view_name FROM duckdb_views() WHERE NOT internal) "
        "WHERE lower(table_name) = lower(?) AND database_name = coalesce(?, current_database())",
        [name, database]).fetchone()
    return bool(row and row[0])


def get_backend(backend: "str | Backend | None" = None, *, spark_master: str | None = None, **kw: Any) -> Backend:
    """A backend from its name ('duckdb' default, 'spark'), or the object itself."""
    if backend is None or backend == "duckdb":
        if spark_master:
            raise ValueError("--spark-master needs --backend spark")
        return DuckDBBackend()
    if backend == "spark":
        return SparkBackend(master=spark_master, **kw)
    if isinstance(backend, str):
        raise ValueError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")
    return backend


def _duckdb_file_key(con: Any) -> str | None:
    """A folder name for the current state of the database file open on ``con`` (file name,
    then a hash of its path, size and modification time, and of its WAL's); None in memory."""
    import hashlib

    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
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


def _as_query(src: str) -> str:
    s = src.strip()
    return s if re.match(r"(?is)^(select|with|from)\b", s) else f"SELECT * FROM {s}"


def _parquet_glob(path: str | Path) -> str:
    p = Path(path)
    return (p / "*.parquet").as_posix() if p.is_dir() else p.as_posix()


def _duck_type(spark_type: Any) -> str:
    name = type(spark_type).__name__
    return {"StringType": "VARCHAR", "IntegerType": "INTEGER", "LongType": "BIGINT",
            "DoubleType": "DOUBLE", "FloatType": "FLOAT", "BooleanType": "BOOLEAN",
            "DateType": "DATE", "TimestampType": "TIMESTAMP"}.get(name, "VARCHAR")
