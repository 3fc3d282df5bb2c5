"""The pieces of the Spark backend that need no Spark: SQL translation of the link settings,
the Python sex rule against DuckDB's, backend selection. Milliseconds; always run."""

from __future__ import annotations

import re

import pytest


def _all_link_sql():
    from vaxstudy.link.settings import TRAINING_BLOCKING_RULES, blocking_rules, build_settings

    d = build_settings().create_settings_dict("duckdb")
    conds = [lvl["sql_condition"] for c in d["comparisons"] for lvl in c["comparison_levels"]
             if lvl["sql_condition"].strip().upper() != "ELSE"]
    return conds + blocking_rules(dedupe=True) + list(TRAINING_BLOCKING_RULES)


def test_every_link_condition_translates_to_spark():
    from vaxstudy.backend import duckdb_sql_to_spark

    sqls = _all_link_sql()
    assert len(sqls) > 30
    for sql in sqls:
        out = duckdb_sql_to_spark(sql)
        # no double-quoted token survives: Spark would read it as a string literal
        assert '"' not in out, (sql, out)
        assert "::" not in out and "jaro_winkler_similarity" not in out.lower(), out
        # every column the DuckDB form names is still referenced, now as an identifier
        for col in re.findall(r'"(\w+)"', sql):
            assert f"`{col}`" in out, (col, out)


def test_translation_examples():
    from vaxstudy.backend import duckdb_sql_to_spark

    assert duckdb_sql_to_spark('jaro_winkler_similarity("a_l", "a_r") >= 0.88') == \
        "JARO_WINKLER(`a_l`, `a_r`) >= 0.88"
    assert duckdb_sql_to_spark('(year("dob_l") = year("dob_r"))::INT = 1') == \
        "CAST((YEAR(`dob_l`) = YEAR(`dob_r`)) AS INT) = 1"
    assert duckdb_sql_to_spark("l.\"x\" = r.\"x\" AND l.\"y\" = 'text'") == "l.`x` = r.`x` AND l.`y` = 'text'"


def test_sex_rule_matches_duckdb():
    import duckdb

    from vaxstudy.spark.standardize import sex_code
    from vaxstudy.standardize.sex import sex_sql

    values = ["Nam", "nam ", "NỮ", "Nữ", "nu", "nư", "F", "m", "Male", "female", "1", "0", "2", "trai",
              "Gái", "bà", "ông", "Giới tính: Nam", "giới tính nữ", "x", "", "  ", "đàn ông", "W", "3", None]
    con = duckdb.connect()
    con.execute("CREATE TABLE v (i INTEGER, raw VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?, ?)", list(enumerate(values)))
    duck = [r[0] for r in con.execute(f"SELECT {sex_sql('raw')} FROM v ORDER BY i").fetchall()]
    assert [sex_code(v) for v in values] == duck
    assert duck.count("M") >= 5 and duck.count("F") >= 5


def test_get_backend():
    from vaxstudy.backend import Backend, DuckDBBackend, get_backend

    assert isinstance(get_backend(None), DuckDBBackend)
    assert isinstance(get_backend("duckdb"), DuckDBBackend)
    b = DuckDBBackend()
    assert get_backend(b) is b and isinstance(b, Backend)
    with pytest.raises(ValueError, match="unknown backend"):
        get_backend("postgres")
    with pytest.raises(ValueError, match="--backend spark"):
        get_backend("duckdb", spark_master="local[2]")


def test_duckdb_backend_parquet_round_trip(tmp_path):
    from vaxstudy.backend import DuckDBBackend

    b = DuckDBBackend()
    try:
        b.sql("CREATE TABLE t AS SELECT range AS i, 'x' || range AS s FROM range(5)")
        p = b.write_parquet("t", tmp_path / "t.parquet")
        assert b.read_parquet(p).fetchall() == b.sql("SELECT * FROM t").fetchall()
        settings = {"a": 1}
        assert b.splink_settings(settings) is settings and b.portable_model(settings) is settings
    finally:
        b.close()
