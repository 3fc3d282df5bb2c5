"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config):
    """Under `--dist loadgroup` the groups are handed out in the order of the collection below
    (the longest first), not by their number of tests."""
    if config.getoption("dist", None) == "loadgroup":
        config.option.loadscopereorder = False


def _rank(item) -> int:
    """Spark first (one worker owns its session for minutes), then the other integration
    modules (whole runs in module fixtures), then the rest: the two workers finish together."""
    group = item.get_closest_marker("xdist_group")
    if group is not None and "spark" in group.args:
        return 0
    return 1 if item.get_closest_marker("integration") else 2


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under `--dist loadgroup` (make test-suite) a test not in a named group joins its
    module's group: a module's tests stay on one worker, so its module-scoped fixtures (a
    whole report run, the worklists loop …) are built once, not once per worker; and the
    longest groups are collected first. tests/unit/test_xdist_groups.py checks the groups."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
    items.sort(key=_rank)


@pytest.fixture(scope="session")
def small_province(tmp_path_factory) -> Path:
    """A small synthetic Nghệ An (scale 0.003 ≈ 10k residents, seed 7, CSV, default period), generated once.

    Returns the data folder (population, vaccinations, sites, tallies, truth,
    truth_summary.json and the hidden truth parquet files). Treat it as read-only.
    """
    from vaxstudy.synth import generate

    out = tmp_path_factory.mktemp("small_province")
    return generate(out, province="40", scale=0.003, seed=7, period=("2021-03-08", "2021-10-31"), fmt="csv")


@pytest.fixture(scope="session")
def linked_small_province(small_province, tmp_path_factory):
    """The small province ingested, standardised and linked once (seed 1, training samples of
    5e5 / 2e5 pairs, diagnostics written): (data folder, database, link output folder,
    LinkResult). The linkage and estimate integration tests share it (one xdist group, so one
    worker builds it); the estimate writes metrics.json beside the link outputs, as a run does.
    Treat the link outputs as read-only."""
    from vaxstudy.ingest import ingest
    from vaxstudy.link import link_db
    from vaxstudy.options import LinkOptions
    from vaxstudy.standardize import standardize_db

    base = tmp_path_factory.mktemp("linked_small")
    db = base / "small.duckdb"
    ingest(small_province, db)
    standardize_db(db)
    res = link_db(db, base / "out", LinkOptions(seed=1, u_max_pairs=5e5, em_max_pairs=2e5))
    return small_province, db, base / "out", res


@pytest.fixture(scope="session")
def spark_backend(tmp_path_factory):
    """One Spark engine (local mode, tuned for tiny data) for the whole session; skipped, with
    the reason shown, where pyspark or Java is missing."""
    pytest.importorskip("pyspark", reason="pyspark not installed: pip install 'vaxstudy[spark]'")
    from vaxstudy.engines import BackendUnavailable
    from vaxstudy.engines.spark import SparkBackend

    try:
        # tiny data: interpreted expressions and no adaptive re-planning beat code generation
        # (docs/spark.md keeps both on for national runs). A JVM that lives a few minutes
        # spends much of its CPU in the optimising JIT compiler and G1's threads: the quick
        # compiler alone and the serial collector cut the JVM's CPU seconds by ~40% here
        # (start, standardise, identity preparation: 51 -> 28 CPU-s); what Spark computes is
        # the same.
        b = SparkBackend(master="local[2]", shuffle_partitions=2, driver_memory="2g",
                         work_dir=tmp_path_factory.mktemp("spark_work"),
                         conf={"spark.sql.codegen.wholeStage": "false", "spark.sql.adaptive.enabled": "false",
                               "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"})
        b.session
    except BackendUnavailable as exc:
        pytest.skip(f"Spark cannot start here (Java?): {exc}")
    yield b
    b.close()


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.xdist_group("spark")])])
def engine(request):
    """Each engine in turn: DuckDB, then Spark (marked ``spark``; skipped with the reason where
    it cannot run). Tests that take it hold for both."""
    if request.param == "spark":
        return request.getfixturevalue("spark_backend")
    from vaxstudy.engines import get_engine

    return get_engine("duckdb")
