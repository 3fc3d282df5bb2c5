"""Spark helpers of the Spark backend (see vaxstudy.backend and docs/spark.md).

Only :mod:`vaxstudy.backend` and the tests import this package; pyspark is needed.
"""
