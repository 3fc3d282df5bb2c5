"""The estimate stage on a backend, without Spark (fast; always run).

Every query ``estimate_db`` sends to the engine (``Backend.fetch_df``) is recorded on
hand-made databases covering the schema variants the queries depend on (sites table or
not, best-candidate columns or not, standardised table or not), and must transpile to
Spark SQL; the DuckDB backend, by name or as an object, gives the same metrics as the
default. tests/integration/test_spark_backend.py runs the same queries on Spark.
"""

from __future__ import annotations

import duckdb
import pytest
import sqlglot

from helpers.engines import RecordingEngine
from vaxstudy.engines import DuckDBBackend
from vaxstudy.sql import file_key
from vaxstudy.engines.spark.transpile import duckdb_query_to_spark, query_tables
from vaxstudy.estimate import estimate_db
from helpers.estimatedb import make_db

START, END = "2021-03-08", "2021-10-31"
SITES = [
    dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="17000"),
    dict(site_id="S2", site_name="b", province_code="40", district_code="413", commune_code="17100"),
    dict(site_id="S9", site_name="c", province_code="42", district_code="436", commune_code="18000"),
]


def _vax(rid, person, dose, day, site="S1", **kw):
    return dict(record_id=rid, subject_id=f"s-{person}", person=person, dose_number=dose,
                vaccination_date=day, entered_date=day, site_id=site, **kw)


def _db(path, *, candidates: bool, sites: bool, std: bool):
    pop = [dict(person_id=f"P{i}", province_code=None if i == 3 else "40") for i in range(1, 6)]
    v = [_vax("r1", "P1", 1, "2021-08-01"), _vax("r2", "P1", 2, "2021-09-01"),
         _vax("r3", "P2", 1, "2021-08-02", site="S2"), _vax("r4", None, 1, "2021-08-03"),
         _vax("r5", "P3", 1, "2021-08-04", site="S9"), _vax("r6", "P4", 1, "2021-11-04")]
    if candidates:
        v[3].update(cand="P5", cand_q=0.3)
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=3),
           dict(site_id="S2", vaccination_date="2021-08-02", dose_number=1, doses_administered=1)]
    std_rows = [dict(unique_id=r["record_id"], record_id=r["record_id"], id_type="CCCD", id_consistent=True,
                     phone_valid=True, commune_valid=True, commune_code="17000", birth_year=1980,
                     province_code="40", district_code="412", sex="M", dob="1980-01-01", dob_precision="day")
                for r in v]
    db = make_db(path, pop, v, SITES, tal, vaccinations_std=std_rows if std else None)
    if not sites:
        con = duckdb.connect(str(db))
        con.execute("DROP TABLE sites")
        con.close()
    return db


VARIANTS = {
    "full": dict(candidates=True, sites=True, std=True),
    "bare": dict(candidates=False, sites=False, std=False),
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = {}
    for name, kw in VARIANTS.items():
        d = tmp_path_factory.mktemp(f"est_backend_{name}")
        db = _db(d / "e.duckdb", **kw)
        rec = RecordingEngine()
        m = estimate_db(db, "40", START, END, d / "rec", n_boot=20, backend=rec)
        out[name] = (db, d, rec.fetched, m)
    return out


def kw_std(name: str) -> bool:
    return VARIANTS[name]["std"]


def test_every_estimate_query_transpiles_to_spark(recorded):
    seen = 0
    for name, (db, _, queries, _) in recorded.items():
        # sites, pop, the register's size, rows, tallies, (the unlinked rows' typed fields, with
        # vaccinations_std); the audit's vaccine names, site counts, lag/dose/day counts,
        # identifying fields left empty
        assert len(queries) == (10 if kw_std(name) else 9), (name, [q[:60] for q, _ in queries])
        con = duckdb.connect(str(db), read_only=True)
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        con.close()
        for q, frames in queries:
            out = duckdb_query_to_spark(q)
            sqlglot.parse_one(out, read="spark")  # Spark's grammar reads it back
            assert "::" not in out and '"' not in out, out
            assert "list_contains" not in out.lower(), out
            assert "regexp_full_match" not in out.lower(), out  # no such function in Spark
            if "ORDER BY" in q:
                assert "NULLS LAST" in out, out  # DuckDB's default null order made explicit
            assert set(query_tables(q)) <= tables | set(frames), (query_tables(q), tables, frames)
            seen += 1
    assert seen == 19
    # the rows' frames (which rows can touch the province, each site's position), the unlinked rows', and the audit's:
    # the province's sites (and the minimum dose interval of each vaccine name); in any order:
    # the audit's queries run beside the inputs'
    assert sorted(sorted(f) for _, f in recorded["full"][2]) == sorted([
        [], [], [], ["_province_residents", "_province_sites", "_site_index"], [], ["_unlinked"], [], ["_dq_sites", "_dq_vaccines"],
        ["_dq_sites"], ["_dq_sites"]])


def test_literals_transpile():
    q = ("SELECT 1 FROM population WHERE nullif(lpad(trim(CAST(p AS VARCHAR)), 2, '0'), '00') = '4''0' "
         "OR list_contains(['401', '402'], d) AND v <= DATE '2021-10-31' GROUP BY ALL ORDER BY 1")
    out = duckdb_query_to_spark(q)
    assert "ARRAY_CONTAINS(ARRAY('401', '402'), d)" in out and "CAST('2021-10-31' AS DATE)" in out
    assert "'4''0'" in out or "'4\\'0'" in out
    assert "GROUP BY ALL" in out and "ORDER BY 1 NULLS LAST" in out


def test_query_tables_leaves_out_ctes():
    q = "WITH a AS (SELECT * FROM vaccinations), b AS (SELECT * FROM a JOIN tallies USING (x)) SELECT * FROM b, sites"
    assert sorted(query_tables(q)) == ["sites", "tallies", "vaccinations"]


def test_duckdb_backend_gives_the_default_bytes(recorded, tmp_path):
    """estimate_db(backend=None | 'duckdb' | DuckDBBackend()) write the same metrics.json."""
    for name, (db, d, _, m) in recorded.items():
        outs = []
        for i, b in enumerate((None, "duckdb", DuckDBBackend())):
            o = tmp_path / f"{name}{i}"
            estimate_db(db, "40", START, END, o, n_boot=20, backend=b)
            outs.append((o / "metrics.json").read_bytes())
        assert outs[0] == outs[1] == outs[2] == (d / "rec" / "metrics.json").read_bytes(), name
    m = recorded["full"][3]
    assert m["n_records"] == 4  # r1-r4: in the period, at the province's sites (not S9, not r6)
    # a resident without a province code is found by the district list (P3, 412)
    assert m["n_population"] == 5


def test_database_key_follows_the_file(tmp_path):
    db = tmp_path / "k.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT 1 AS a")
    con.close()
    con = duckdb.connect(str(db), read_only=True)
    k1 = file_key(con)
    assert k1 == file_key(con) and k1.startswith("k-")
    con.close()
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO t VALUES (2)")
    con.execute("CHECKPOINT")
    k2 = file_key(con)
    con.close()
    assert k2 != k1
    assert file_key(duckdb.connect()) is None


def test_estimate_cli_backend_options(tmp_path):
    from typer.testing import CliRunner

    from vaxstudy.cli import app

    db = tmp_path / "x.duckdb"
    db.touch()
    args = ["estimate", "--db", str(db), "--province", "40", "--period", f"{START}:{END}", "--out", str(tmp_path)]
    runner = CliRunner()
    r = runner.invoke(app, [*args, "--backend", "nope"])
    assert r.exit_code == 2 and "unknown backend" in r.output
    r = runner.invoke(app, [*args, "--spark-master", "local[1]"])
    assert r.exit_code == 2 and "--backend spark" in r.output
