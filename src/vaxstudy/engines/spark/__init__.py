"""The Spark engine (pyspark needed): session, DuckDB → Spark SQL, the standardise stage on
Spark, the link stage's working tables. Only :func:`vaxstudy.engines.get_engine` and the
tests import this package; it imports nothing of the stages but the standardise rules."""

from vaxstudy.engines.spark.engine import SparkBackend

__all__ = ["SparkBackend"]
