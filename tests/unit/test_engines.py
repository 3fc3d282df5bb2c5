"""The Engine protocol on each engine: the working tables of the link stage give the same
answers on DuckDB and on Spark (the SQL is written once, in DuckDB's dialect)."""

from __future__ import annotations

import duckdb

from vaxstudy.engines import Engine, WorkTables


def test_each_engine_keeps_the_protocol_and_its_working_tables_agree(engine):
    assert isinstance(engine, Engine) and isinstance(engine.tables, WorkTables)
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range AS x, range % 3 AS g FROM range(10)")
    w = engine.tables
    try:
        w.create_table(con, "a", "SELECT g, count(*) AS n, sum(x) AS s FROM t GROUP BY g ORDER BY g")
        w.insert(con, "a", "SELECT 9, 1, 100")
        assert w.fetch(con, "SELECT count(*), sum(n), sum(s) FROM a") == [(4, 11, 145)]
        assert w.to_duckdb(con, "a", "a_copy") == "a_copy"
        assert con.execute("SELECT g, n FROM a_copy ORDER BY g").fetchall() == [(0, 4), (1, 3), (2, 3), (9, 1)]
        assert engine.identity_hash_sql(["x"]).endswith(")")
        assert engine.describe()["name"] == engine.name
    finally:
        w.drop_tables(con)
        con.close()
