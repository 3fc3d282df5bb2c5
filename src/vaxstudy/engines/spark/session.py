"""The SparkSession: local mode by default, or the master given; Splink's similarity jar on it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from vaxstudy.engines.base import SPARK_INSTALL_HINT, BackendUnavailable


def import_pyspark():
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
    import_pyspark()
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

