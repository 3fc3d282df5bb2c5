"""The Spark backend against the DuckDB default on the small synthetic province.

standardise → link → estimate, once per backend, on the same ingested database:

* standardisation: every column of population_std and vaccinations_std identical;
* linkage trained on each backend: the model's u probabilities come from a random sample
  that Spark draws differently from DuckDB (same seed, other engine), so the weights differ
  slightly. Tolerance: ≥ 99.5 % of rows with the same person_id, the same person-key
  partition and duplicate flag; counts within 0.5 %; match probabilities within 0.02
  where both backends made the same link; headline figures within 1 % (relative) or 0.002;
* the same model on both: the model trained on Spark is saved in the DuckDB dialect;
  DuckDB reusing it gives identical record_links (links, person keys, duplicate-dose
  flags; match probabilities to 1e-9) and identical headline figures. Spark scores in two
  slices of the registry (n_chunks=2), DuckDB in one pass: the same pairs scored and kept.

Spark runs in local mode (local[2], 2 shuffle partitions, 2g driver), one session for all.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from vaxstudy.options import LinkOptions

# one Spark session for the module: under pytest-xdist keep its tests on one worker
# (`--dist loadgroup` or `--dist loadfile`; plain `--dist load` may split them)
pytestmark = [pytest.mark.spark, pytest.mark.integration, pytest.mark.xdist_group("spark")]

pytest.importorskip("pyspark", reason="pyspark not installed: pip install 'vaxstudy[spark]'")
if shutil.which("java") is None and not __import__("os").environ.get("JAVA_HOME"):
    pytest.skip("no Java runtime (Spark needs Java 17): install a JDK or set JAVA_HOME",
                allow_module_level=True)

PERIOD = ("2021-03-08", "2021-10-31")
# smaller training samples than the defaults, and the u sample counted in one query per
# comparison instead of a probe and four slices (Spark's cost is per query at this size),
# keep Spark's share of the test short; both backends get the same values
LINK_KW = dict(seed=1, u_max_pairs=3e5, em_max_pairs=1e5, u_chunks=1, diagnostics=False)
HEADLINE = ("n_records", "n_subjects", "n_persons_est", "duplicate_subject_rate", "duplicate_dose_rate",
            "unlinked_record_rate", "missing_entry_rate", "coverage_dose1", "coverage_dose2",
            "coverage_dose1_recorded", "coverage_dose2_recorded")


@pytest.fixture(scope="module")
def dbs(small_province, tmp_path_factory):
    """(DuckDB-standardised db, Spark-standardised db) from one ingest."""
    from vaxstudy.ingest import ingest

    base = tmp_path_factory.mktemp("spark_vs_duckdb")
    raw = base / "raw.duckdb"
    ingest(small_province, raw)
    duck, spark = base / "duck.duckdb", base / "spark.duckdb"
    shutil.copy(raw, duck)
    shutil.copy(raw, spark)
    return base, duck, spark


@pytest.fixture(scope="module")
def standardized(dbs, spark_backend):
    """DuckDB standardises one copy (default backend); `vaxstudy standardize --backend spark`
    the other (the CLI finds the session of spark_backend active and leaves it running)."""
    from typer.testing import CliRunner

    from vaxstudy.engines import DuckDBBackend
    from vaxstudy.cli import app

    base, duck, spark = dbs
    DuckDBBackend().standardize(duck)
    r = CliRunner().invoke(app, ["standardize", "--db", str(spark), "--backend", "spark"])
    assert r.exit_code == 0, r.output
    assert not spark_backend.session.sparkContext._jsc.sc().isStopped()
    return dbs


def _metrics(db, out):
    from vaxstudy.estimate import estimate_db

    return estimate_db(db, "40", PERIOD[0], PERIOD[1], out, seed=1, n_boot=20, audit=False)


@pytest.fixture(scope="module")
def duck_linked(standardized):
    from vaxstudy.link import link_db

    base, duck, _ = standardized
    out = base / "duck_out"
    res = link_db(duck, out, LinkOptions(**LINK_KW))
    return res, pd.read_parquet(out / "record_links.parquet"), _metrics(duck, out)


def _read(out):
    return pd.read_parquet(out / "record_links.parquet").set_index("record_id").sort_index()


def test_standardize_identical(standardized):
    import duckdb

    _, duck, spark = standardized
    con = duckdb.connect(str(spark), read_only=True)
    con.execute(f"ATTACH '{duck}' AS ref (READ_ONLY)")
    try:
        for t, key in (("population_std", "unique_id"), ("vaccinations_std", "_row")):
            cols = con.execute(f"SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'ref' "
                               f"AND table_name = '{t}' ORDER BY column_index").fetchall()
            mine = con.execute(f"SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = "
                               f"current_database() AND table_name = '{t}' ORDER BY column_index").fetchall()
            assert mine == cols, t
            n = con.execute(f"SELECT count(*) FROM ref.{t}").fetchone()[0]
            assert n > 1000 and con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == n
            for a, b in ((t, f"ref.{t}"), (f"ref.{t}", t)):
                diff = con.execute(f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})").fetchone()[0]
                assert diff == 0, (t, a, diff)
            # same row order as DuckDB leaves it
            assert con.execute(f"SELECT list({key} ORDER BY rowid) FROM {t}").fetchone() == \
                con.execute(f"SELECT list({key} ORDER BY rowid) FROM ref.{t}").fetchone()
        # the rules did something on this data (not two empty columns agreeing)
        filled = con.execute("SELECT count(name_norm), count(dob), count(phone), count(sex), "
                             "count_if(id_type = 'CMND'), count_if(dob_precision = 'year'), count_if(dob_ambiguous), "
                             "count_if(NOT id_consistent), count_if(NOT commune_valid), "
                             "count_if(name_norm <> name_ascii) FROM vaccinations_std").fetchone()
        assert all(v > 0 for v in filled), filled
    finally:
        con.close()


#: typed values that tell RE2 from Java regexes, DuckDB's trim from Spark's, CAST from TRY_CAST
TRICKY = ["012345678901", "12345678901", "123456789", "123456789.0", "040190001234\n", " 0401 9000 1234 ",
          "038301001234", "099101001234", "1234567890123", "", "   ", None, "0912345678", "+84 912 345 678",
          "84912345678", "0084912345678", "01621234567", "912345678", "2439123456", "0912345678\n",
          "0912345678.0", "\u00a0", "\u00a012\u00a0", "12.0", "1.0\n", "12\n", "123456", "abc", "1.5",
          "15/03/1985", "3/15/1985", "15/03/85", "01/02/03", "31/02/1980", "1980-02-31", "29/02/2000",
          "1985", "1985.0", "1985\n", "1985-03-15 00:00:00", "1985-03-15\r", "1985-03-15 12:00\r",
          "1985-03-15 12:00\n", "\u00a015/03/1985", "15-3-21", "15.3.22", "1899", "2022", "00/00/1980"]


def test_each_standardise_rule_spark_equals_duckdb(spark_backend):
    """Every standardise rule, transpiled, on a tiny Spark DataFrame = the DuckDB rule on the
    same tricky values (trailing newline, '.0', 9/11/12 digits, 2-digit years, '', NULL …)."""
    import duckdb
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType

    from helpers.sparkrules import _staged, _standardise_rules
    from vaxstudy.engines.spark.transpile import duckdb_rules_to_spark

    rows = [(i, v, ("M", "F", None)[i % 3], (1985, None, 2001, 1903)[i % 4], f"{i % 7:03d}", f"{i % 5:03d}")
            for i, v in enumerate(TRICKY)]
    con = duckdb.connect()
    con.execute("CREATE TABLE v (i INTEGER, x VARCHAR, sex VARCHAR, yr INTEGER, d VARCHAR, g VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?, ?, ?, ?, ?, ?)", rows)
    spark = spark_backend.session
    spark.createDataFrame(rows, StructType([StructField("i", IntegerType()), StructField("x", StringType()),
                                            StructField("sex", StringType()), StructField("yr", IntegerType()),
                                            StructField("d", StringType()), StructField("g", StringType())])) \
        .createOrReplaceTempView("v")
    rules = _standardise_rules()
    dob = rules.pop("dob_table")
    sel = ", ".join(f"{sql} AS c{k}" for k, sql in enumerate(rules.values()))
    # no ORDER BY on Spark: its sort would sample the (huge, interpreted) projection once more
    query = f"SELECT i, {sel} FROM {_staged('v')}"
    duck = sorted(con.execute(query).fetchall())
    got = sorted(tuple(r) for r in spark.sql(duckdb_rules_to_spark(query)).collect())
    for k, name in enumerate(rules, 1):
        assert [r[k] for r in got] == [r[k] for r in duck], name
    assert sum(r[1 + list(rules).index("id.id_type")] == "CCCD" for r in duck) >= 5
    duck = {r[0]: r[1:] for r in con.execute(dob).fetchall()}
    got = {r[0]: tuple(r[1:]) for r in spark.sql(duckdb_rules_to_spark(dob)).collect()}
    assert got == duck and sum(r[0] is not None for r in duck.values()) >= 8
    spark.catalog.dropTempView("v")


@pytest.fixture(scope="module")
def spark_trained(standardized, spark_backend):
    from vaxstudy.link import link_db

    base, _, spark = standardized
    out = base / "spark_trained"
    # scored in two slices of the registry (link_db's n_chunks): the DuckDB run with this model
    # scores in one pass, so test_same_model_identical_links_and_figures also checks the chunking
    return link_db(spark, out, LinkOptions(**LINK_KW, n_chunks=2), backend=spark_backend), out


@pytest.fixture(scope="module")
def spark_trained_metrics(standardized, spark_trained):
    """The headline figures (estimated in DuckDB) of the Spark-trained link's record_links:
    compared with the DuckDB-trained link's and with the same model's run on DuckDB."""
    _, _, spark = standardized
    return _metrics(spark, spark_trained[1])


def test_link_trained_on_spark_agrees(duck_linked, spark_trained, spark_trained_metrics):
    res_d, _, metrics_d = duck_linked
    res_s, out = spark_trained
    d, s = _read(res_d.out_dir), _read(out)
    assert list(d.index) == list(s.index)
    same_link = (d["person_id"].fillna("") == s["person_id"].fillna(""))
    assert same_link.mean() >= 0.995, same_link.mean()
    # person keys are labels: compare the partitions they induce
    pair = pd.DataFrame({"d": d["person_key"], "s": s["person_key"]})
    consistent = pair.groupby("d")["s"].transform("nunique").eq(1) & pair.groupby("s")["d"].transform("nunique").eq(1)
    assert consistent.mean() >= 0.995
    assert (d["is_duplicate_dose"] == s["is_duplicate_dose"]).mean() >= 0.995
    both = same_link & d["person_id"].notna()
    assert (d.loc[both, "match_probability"] - s.loc[both, "match_probability"]).abs().max() <= 0.02
    for a, b in ((res_s.n_linked_records, res_d.n_linked_records), (res_s.n_persons_est, res_d.n_persons_est)):
        assert abs(a - b) <= 0.005 * b
    for k in HEADLINE:
        assert spark_trained_metrics[k] == pytest.approx(metrics_d[k], rel=0.01, abs=0.002), k


#: what the DuckDB working connection may hold after a Spark link: the prepared inputs
#: (link/prepare.py runs there) and the 705-row district list of the wide pass
DRIVER_ONLY = {"link_reg", "link_rows", "link_vax", "wide_geo"}


def test_post_scoring_steps_ran_on_spark(duck_linked, spark_trained):
    """After scoring, the decisions (best candidates, prior, threshold), the wide pass, subject
    rescue, dedupe and clustering, and record_links ran on Spark: the DuckDB working
    connection ended with the prepared inputs only (no scored pairs, link_best, ident_link,
    dedupe tables or record_links), where a DuckDB run holds them all."""
    res_s, out = spark_trained
    eng = json.loads((out / "link_summary.json").read_text())["engines"]
    assert {eng[k] for k in ("scoring", "decisions", "wide_pass", "dedupe", "record_links")} == {"spark"}
    assert set(eng["driver_tables"]) <= DRIVER_ONLY, eng["driver_tables"]
    duck = json.loads((duck_linked[0].out_dir / "link_summary.json").read_text())["engines"]
    assert {"link_pairs", "link_best", "ident_link", "dedupe_pairs", "dedupe_clusters",
            "record_links"} <= set(duck["driver_tables"])
    assert any(t.startswith("__splink__df_predict") for t in duck["driver_tables"])


def test_spark_working_tables(spark_backend, tmp_path):
    """The working-table API on Spark: DuckDB SQL transpiled, DuckDB tables (also proj.*)
    copied over on first use, INSERT by position with the table's types, ORDER BY kept when
    copied back, empty tables keep their columns, drop_tables cleans up."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{tmp_path / 'p.duckdb'}' AS proj")
        con.execute("CREATE TABLE t AS SELECT range AS x, 'v' || range AS y FROM range(50)")
        con.execute("CREATE TABLE proj.sites AS SELECT range AS x, range % 3 AS g FROM range(50)")
        be = spark_backend
        be.tables.create_table(con, "a", "SELECT t.x, s.g, t.y::VARCHAR AS y FROM t JOIN proj.sites s USING (x) "
                                  "WHERE NOT EXISTS (SELECT 1 FROM t t2 WHERE t2.x = t.x + 10) ORDER BY t.x DESC")
        be.tables.insert(con, "a", "SELECT 100, 1.0, NULL")
        assert be.tables.fetch(con, "SELECT count(*), sum(x), count(*) FILTER (WHERE g = 1) FROM a") == [(11, 545, 5)]
        be.tables.create_table(con, "b", "SELECT x, y FROM a WHERE x < 100 ORDER BY x DESC NULLS LAST")
        assert be.tables.to_duckdb(con, "b", "proj.b") == "proj.b"
        assert con.execute("SELECT list(x ORDER BY rowid) FROM proj.b").fetchone()[0] == list(range(49, 39, -1))
        be.tables.create_table(con, "e", "SELECT CAST(NULL AS VARCHAR) AS ident, CAST(NULL AS DOUBLE) AS p LIMIT 0")
        be.tables.insert(con, "e", "SELECT 'a', 1")
        be.tables.to_duckdb(con, "e")
        assert con.execute("SELECT * FROM e").fetchall() == [("a", 1.0)]
        paths = [e.path for e in be.tables._work.values() if e.con is con and e.path is not None]
        assert paths and all(p.exists() for p in paths)
        be.tables.drop_tables(con)
        assert not any(p.exists() for p in paths)
        assert not any(be.session.catalog.tableExists(v) for v in ("a", "b", "e", "t", "proj__sites"))
    finally:
        con.close()


def test_same_model_identical_links_and_figures(standardized, spark_trained, spark_trained_metrics):
    """Spark scoring = DuckDB scoring: the model trained on Spark (saved in the DuckDB
    dialect) reused by DuckDB gives the same record_links and the same headline figures.
    Spark scored in two slices of the registry side (its predictions unioned on Spark), DuckDB
    in one pass: the same comparisons scored, so chunking loses and doubles no pair."""
    from vaxstudy.link import link_db

    base, duck, spark = standardized
    res_s, out_s = spark_trained
    model = json.loads(res_s.model_path.read_text())
    assert model["sql_dialect"] == "duckdb"
    assert all(lvl.get("m_probability") is not None for c in model["comparisons"]
               for lvl in c["comparison_levels"] if not lvl.get("is_null_level"))
    out = base / "duck_with_spark_model"
    res_d = link_db(duck, out, LinkOptions(model_path=res_s.model_path, **LINK_KW))
    a, b = _read(out_s), _read(out)
    assert list(a.index) == list(b.index) and len(a) > 1000
    for col in ("person_id", "person_key", "is_duplicate_dose"):
        pd.testing.assert_series_equal(a[col], b[col])
    pd.testing.assert_series_equal(a["match_probability"], b["match_probability"], atol=1e-9, rtol=0)
    chunks = [json.loads((o / "link_summary.json").read_text())["comparisons"]["register_link_chunks"]
              for o in (out_s, out)]
    assert chunks == [2, 1]
    for k in ("register_link_scored", "register_link_pairs_kept"):
        assert res_s.comparisons[k] == res_d.comparisons[k] > 0, k
    assert (res_s.n_linked_records, res_s.n_persons_est, res_s.n_duplicate_doses, res_s.threshold) == \
        (res_d.n_linked_records, res_d.n_persons_est, res_d.n_duplicate_doses, res_d.threshold)
    assert res_s.n_linked_records > 0.8 * res_s.n_records and res_s.n_duplicate_doses > 0
    metrics_s, metrics_d = spark_trained_metrics, _metrics(duck, out)
    for k in HEADLINE:
        assert metrics_s[k] == pytest.approx(metrics_d[k], abs=1e-12), k


def test_cli_backend_options(standardized, tmp_path):
    from typer.testing import CliRunner

    from vaxstudy.cli import app

    _, duck, _ = standardized
    runner = CliRunner()
    r = runner.invoke(app, ["link", "--db", str(duck), "--out", str(tmp_path / "o"), "--backend", "nope"])
    assert r.exit_code == 2 and "unknown backend" in r.output
    r = runner.invoke(app, ["link", "--db", str(duck), "--out", str(tmp_path / "o"), "--spark-master", "local[1]"])
    assert r.exit_code == 2 and "--backend spark" in r.output
    for cmd in ("report", "link", "standardize"):
        out = runner.invoke(app, [cmd, "--help"]).output
        assert "--backend" in out and "--spark-master" in out, cmd


def test_waterfall_with_a_spark_linker(standardized, spark_trained, spark_backend, tmp_path):
    """The borderline waterfall is drawn in DuckDB from the portable (DuckDB-dialect) model,
    so it works when the live linker runs on Spark; the Spark linker's own model (Spark SQL)
    cannot be. Every best candidate is made borderline so the sample is full."""
    from splink import Linker

    from vaxstudy.link.core import _load_model
    from vaxstudy.link.diagnostics import write_diagnostics
    from vaxstudy.link.prepare import open_work_connection, prepare_inputs

    _, _, spark = standardized
    res_s, out_s = spark_trained
    model = json.loads(res_s.model_path.read_text())
    con = open_work_connection(spark, read_only=True)
    try:
        prepare_inputs(con)
        con.execute("""CREATE TABLE link_best AS
            SELECT r.ident, min(l.person_id) AS person_id, 0.0 AS bf, 0.0 AS second_bf, 1 AS n_candidates
            FROM link_rows r JOIN proj.record_links l USING (record_id)
            WHERE l.person_id IS NOT NULL GROUP BY r.ident""")
        api = spark_backend.splink_api(con, ("link_reg", "link_vax"))
        linker = Linker([api.register("link_reg", dataset_display_name="register"),
                         api.register("link_vax", dataset_display_name="vaccinations")],
                        spark_backend.splink_settings(_load_model(res_s.model_path)), log_level=None)
        kw = dict(lam=model["probability_two_random_records_match"], threshold=0.5, p_expr="0.5", n_review=10)
        done = write_diagnostics(linker, con, tmp_path / "d", model=model, **kw)
        assert done["waterfall_borderline"] == 12, done
        assert (tmp_path / "d" / "waterfall_borderline.json").exists()
        old = write_diagnostics(linker, con, tmp_path / "old", **kw)  # the Spark linker's own model
        assert str(old["waterfall_borderline"]).startswith("failed"), old
    finally:
        con.close()


def test_estimate_on_spark_identical(standardized, duck_linked, spark_backend, tmp_path):
    """The estimate stage's queries on Spark (estimate_db(backend=...), `vaxstudy estimate
    --backend spark`) give byte-identical outputs to DuckDB on the same record_links:
    metrics.json (intervals included: the bootstrap runs on the same frames) and every
    data-quality table (Parquet and CSV)."""
    from typer.testing import CliRunner

    from vaxstudy.cli import app
    from vaxstudy.estimate import estimate_db

    _, duck, _ = standardized
    res_d, _, _ = duck_linked
    outs = {}
    for name, b in (("duckdb", None), ("spark", spark_backend)):
        outs[name] = o = tmp_path / name
        o.mkdir()
        shutil.copy(res_d.out_dir / "link_summary.json", o)  # the threshold of the sensitivity block
        estimate_db(duck, "40", PERIOD[0], PERIOD[1], o, seed=1, n_boot=50, backend=b)
    a = (outs["duckdb"] / "metrics.json").read_bytes()
    assert a == (outs["spark"] / "metrics.json").read_bytes()
    m = json.loads(a)
    assert m["n_records"] > 1000 and m["data_quality"]["worst_sites"] and "linkage" in m
    files = sorted(p.name for p in (outs["duckdb"] / "data_quality").iterdir())
    assert len(files) == 14
    for f in files:
        assert (outs["duckdb"] / "data_quality" / f).read_bytes() == (outs["spark"] / "data_quality" / f).read_bytes(), f
    # the project tables were exported once for this state of the database file, and are reused
    import duckdb

    con = duckdb.connect(str(duck), read_only=True)
    try:
        p = spark_backend.project_parquet(con, "vaccinations")
        before = (p / "part-0.parquet").stat().st_mtime_ns
        assert spark_backend.project_parquet(con, "vaccinations") == p
        assert (p / "part-0.parquet").stat().st_mtime_ns == before
    finally:
        con.close()
    # (truth is read by the truth check on the driver, in DuckDB: not exported)
    assert {d.name for d in p.parent.iterdir()} == {"population_std", "vaccinations", "record_links", "sites",
                                                    "tallies", "vaccinations_std"}
    # the CLI, another period (the CLI's backend finds the test's session and leaves it running)
    runner = CliRunner()
    for name in ("duckdb", "spark"):
        r = runner.invoke(app, ["estimate", "--db", str(duck), "--province", "40", "--period",
                                "2021-08-01:2021-08-31", "--n-boot", "20", "--no-audit",
                                "--out", str(tmp_path / f"cli_{name}"), "--backend", name])
        assert r.exit_code == 0, r.output
    assert (tmp_path / "cli_duckdb" / "metrics.json").read_bytes() == \
        (tmp_path / "cli_spark" / "metrics.json").read_bytes()
    assert not spark_backend.session.sparkContext._jsc.sc().isStopped()


def _prepared_on_both(db, spark_backend):
    """prepare_inputs on DuckDB and on Spark over the same project file; the Spark tables
    copied back as s_<table> next to the DuckDB ones. Returns (con, DuckDB counts, Spark counts,
    the DuckDB tables con held after the Spark preparation)."""
    from vaxstudy.link.prepare import open_work_connection, prepare_inputs

    con = open_work_connection(db, read_only=True)
    n_s = prepare_inputs(con, spark_backend)
    held = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() "
                                      "WHERE database_name = current_database()").fetchall()}
    for t in ("link_reg", "link_rows", "link_vax"):
        spark_backend.tables.to_duckdb(con, t, f"s_{t}")
    spark_backend.tables.drop_tables(con)
    con.execute("DROP VIEW IF EXISTS link_reg; DROP VIEW IF EXISTS link_vax")
    n_d = prepare_inputs(con)
    return con, n_d, n_s, held


def _assert_same_prepared(con, n_d, n_s):
    """Same columns and types, same rows; identity ids differ between engines (DuckDB's hash,
    Spark's xxhash64) but group the rows the same: a one-to-one map between them makes link_vax
    equal too."""
    assert n_d == n_s
    for t in ("link_reg", "link_rows", "link_vax"):
        # a column the standardised tables lack is an untyped NULL column in DuckDB, a string
        # column on Spark (Parquet cannot store Spark's void type)
        d = [(c, "VARCHAR" if k == '"NULL"' else k) for c, k, *_ in con.execute(f"DESCRIBE {t}").fetchall()]
        assert d == [tuple(r[:2]) for r in con.execute(f"DESCRIBE s_{t}").fetchall()], t
    def except_both(a, b):
        return [con.execute(f"SELECT count(*) FROM (SELECT * FROM {x} EXCEPT ALL SELECT * FROM {y})").fetchone()[0]
                for x, y in ((a, b), (b, a))]
    assert except_both("link_reg", "s_link_reg") == [0, 0]
    n_pairs, n_d_id, n_s_id = con.execute(
        "SELECT count(DISTINCT (d.ident, s.ident)), count(DISTINCT d.ident), count(DISTINCT s.ident) "
        "FROM link_rows d JOIN s_link_rows s USING (record_id)").fetchone()
    assert n_pairs == n_d_id == n_s_id == n_d["link_vax"]
    con.execute("CREATE TEMP TABLE id_map AS SELECT DISTINCT d.ident AS d_id, s.ident AS s_id "
                "FROM link_rows d JOIN s_link_rows s USING (record_id)")
    assert except_both("link_rows",
                       "(SELECT s.* EXCLUDE (ident), m.d_id AS ident FROM s_link_rows s JOIN id_map m ON m.s_id = s.ident)") == [0, 0]
    assert except_both("link_vax",
                       "(SELECT m.d_id AS unique_id, s.* EXCLUDE (unique_id) FROM s_link_vax s "
                       "JOIN id_map m ON m.s_id = s.unique_id)") == [0, 0]


def test_prepare_identical_on_spark(dbs, spark_backend, tmp_path):
    """Identity preparation on Spark (the standardised tables copied over, SQL transpiled)
    equals DuckDB's on the small province and on hand-made awkward rows: same columns, types
    and rows; the same identities (ids aside); nothing prepared left in the DuckDB connection."""
    from vaxstudy.engines import DuckDBBackend

    base, _, _ = dbs
    db = tmp_path / "std.duckdb"
    shutil.copy(base / "raw.duckdb", db)
    DuckDBBackend().standardize(db)
    con, n_d, n_s, held = _prepared_on_both(db, spark_backend)
    try:
        assert not held & {"link_reg", "link_rows", "link_vax"}, held
        assert n_d["link_rows"] > 2500 and n_d["link_vax"] < n_d["link_rows"]
        _assert_same_prepared(con, n_d, n_s)
    finally:
        con.close()

    # NULL against '' in every position (xxhash64 skips NULLs: the NULL flags keep these apart),
    # padding of Unicode spaces, double spaces, one-word names, a column the tables lack (phone)
    import duckdb

    odd = tmp_path / "odd.duckdb"
    c = duckdb.connect(str(odd))
    c.execute("""CREATE TABLE population_std AS SELECT * FROM (VALUES
        ('040180123456', 'nguyen', 'van', 'an', DATE '1980-03-07', 1980, 'M', '412'),
        ('040180123457', 'an', NULL, 'nguyen', NULL, 1980, NULL, NULL))
        t(unique_id, surname_ascii, middle_name_ascii, given_name_ascii, dob, birth_year, sex, district_code)""")
    c.execute("""CREATE TABLE vaccinations_std AS SELECT *, surname_ascii AS surname, given_name_ascii AS given_name
        FROM (VALUES
        ('R1', 'S1', 'nguyen', NULL, 'an', DATE '1980-03-07', NULL, 'M', 1, 1),
        ('R2', 'S1', NULL, 'nguyen', 'an', DATE '1980-03-07', NULL, 'M', 2, 2),
        ('R3', 'S2', 'nguyen', 'an', NULL, DATE '1980-03-07', NULL, 'M', 1, 3),
        ('R4', 'S3', '\u00a0nguyen  van ', '', 'an', NULL, 1980, 'F', 1, 4),
        ('R5', 'S3', 'nguyen van', NULL, 'an', NULL, 1980, 'F', 2, 5),
        ('R6', 'S4', 'an', NULL, NULL, NULL, NULL, NULL, 1, 6),
        ('R7', 'S4', NULL, NULL, 'an', NULL, NULL, NULL, 1, 7),
        ('R8', 'S5', NULL, NULL, NULL, NULL, NULL, NULL, 1, 8),
        ('R9', 'S5', '', '', '', NULL, NULL, '', 1, 9))
        t(record_id, subject_id, surname_ascii, middle_name_ascii, given_name_ascii, dob, birth_year, sex,
          dose_number, _row)""")
    c.close()
    con, n_d, n_s, _ = _prepared_on_both(odd, spark_backend)
    try:
        # R1/R2/R3 differ only by where the NULL is, R4/R5 by a double space; R8 = R9 once cleaned
        assert n_d["link_vax"] == 8
        assert con.execute("SELECT count(DISTINCT ident) FROM s_link_rows WHERE record_id IN ('R8', 'R9')").fetchone()[0] == 1
        _assert_same_prepared(con, n_d, n_s)
    finally:
        con.close()


def test_link_prepare_ran_on_spark(spark_trained):
    """link_summary.json: identity preparation ran on Spark, and the DuckDB working connection
    ended without the prepared inputs (only the wide pass's district list may be there)."""
    _, out = spark_trained
    eng = json.loads((out / "link_summary.json").read_text())["engines"]
    assert eng["prepare"] == "spark"
    assert not {"link_reg", "link_rows", "link_vax"} & set(eng["driver_tables"]), eng["driver_tables"]
