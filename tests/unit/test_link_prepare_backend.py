"""Identity preparation through the backend's working-table API (no Spark needed).

link/prepare.py writes its SQL once, in the DuckDB dialect, and hands it to
``Backend.create_table`` / ``fetch``; on Spark it is transpiled by ``duckdb_query_to_spark``.
Here: every query it sends (the collision fallback included) transpiles to Spark SQL with none
of DuckDB's own functions or syntax left; the string forms of the name keys equal DuckDB's list
forms; a forced hash collision numbers the same identities.
"""

from __future__ import annotations

import re

import duckdb
import pytest

from helpers.linkfake import make_std_db
from helpers.engines import RecordingEngine
from vaxstudy.engines.spark.transpile import duckdb_query_to_spark
from vaxstudy.link.prepare import _NAME_ASCII, open_work_connection, prepare_inputs


@pytest.fixture(scope="module")
def std_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("prep") / "p.duckdb"
    make_std_db(db, n_persons=120, seed=3)
    return db


def _tables(con):
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("link_reg", "link_rows", "link_vax")}


#: DuckDB-only spellings that must not reach Spark (list functions, slices, hash, DISTINCT ON)
DUCKDB_ONLY = re.compile(r"\b(list_\w+|string_split|array_to_string|hash|strpos)\s*\(|DISTINCT ON|\[\d*:\d*\]|::| EXCLUDE ",
                         re.I)


def test_every_prepare_query_transpiles_to_spark(std_db):
    import sqlglot

    rec = RecordingEngine()
    con = open_work_connection(std_db, read_only=True)
    try:
        prepare_inputs(con, rec)
        # the collision fallback too: a hash that collides on purpose
        coll = RecordingEngine(hash_sql="hash(birth_year)")
        prepare_inputs(con, coll)
    finally:
        con.close()
    queries = [q for _, q in rec.queries + coll.queries]
    assert any("dense_rank" in q for _, q in coll.queries) and not any("dense_rank" in q for _, q in rec.queries)
    assert len(rec.queries) >= 7
    for q in queries:
        out = duckdb_query_to_spark(q.replace("hash(", "xxhash64("))  # Spark's own hash: SparkBackend's
        assert not DUCKDB_ONLY.search(out) and '"' not in out, (q, out)
        assert "ARRAY_SORT(SPLIT(" in out or " AS name_key" not in q, out
        sqlglot.parse_one(out, read="spark")


def test_spark_identity_hash_sql_marks_nulls():
    """The Spark form hashes each column with its NULL flag (xxhash64 skips NULLs) and is
    passed through the transpiler unchanged; the backend is not started to build it."""
    from vaxstudy.engines.spark import SparkBackend

    sql = SparkBackend.identity_hash_sql(None, ["a", "b"])
    assert sql == "xxhash64(a IS NULL, a, b IS NULL, b)"
    assert "XXHASH64(a IS NULL, a, b IS NULL, b)" in duckdb_query_to_spark(f"SELECT {sql} FROM t")


def test_forced_collision_gives_the_same_identities(std_db):
    """With a hash that collides, identities are numbered by sorting: same grouping of the rows,
    same link_vax rows up to the ids, same link_reg."""
    con = open_work_connection(std_db, read_only=True)
    try:
        prepare_inputs(con)
        normal = _tables(con)
        con.execute("CREATE TABLE a_rows AS SELECT * FROM link_rows")
        con.execute("CREATE TABLE a_vax AS SELECT * FROM link_vax")
        prepare_inputs(con, RecordingEngine(hash_sql="hash(birth_year)"))
        assert _tables(con)["link_reg"] == normal["link_reg"]
        assert con.execute("SELECT count(*) FROM link_vax").fetchone()[0] == len(normal["link_vax"])
        # one-to-one between the two numberings, row by row
        n_pairs, n_a, n_b = con.execute(
            "SELECT count(DISTINCT (a.ident, b.ident)), count(DISTINCT a.ident), count(DISTINCT b.ident) "
            "FROM a_rows a JOIN link_rows b USING (record_id)").fetchone()
        assert n_pairs == n_a == n_b == len(normal["link_vax"])
        cols = [r[0] for r in con.execute("DESCRIBE link_vax").fetchall()][1:]
        diff = con.execute(
            f"SELECT count(*) FROM (SELECT {', '.join(cols)} FROM a_vax EXCEPT ALL "
            f"SELECT {', '.join(cols)} FROM link_vax)").fetchone()[0]
        assert diff == 0
        assert [r[0] for r in con.execute("DESCRIBE link_rows").fetchall()] == \
            [r[0] for r in con.execute("DESCRIBE a_rows").fetchall()]
    finally:
        con.close()


def test_name_keys_equal_duckdb_list_forms():
    """name_key and name_rot as prepare writes them equal DuckDB's list forms (sort the words;
    rotate them by one) on awkward spacing, one word, '' and NULL."""
    con = duckdb.connect()
    names = ["nguyen van an", " an", "an ", "an  van", "an", "", None, "  ", "le thi b c"]
    con.execute("CREATE TABLE t (name_ascii VARCHAR, surname_ascii VARCHAR, middle_name_ascii VARCHAR, "
                "given_name_ascii VARCHAR, dob DATE)")
    con.executemany("INSERT INTO t VALUES (?, NULL, NULL, NULL, NULL)", [[n] for n in names])
    from vaxstudy.link.prepare import _layered_select

    sql = _layered_select("t", {"name_ascii", "dob"}, register=False, extra=["rowid AS rid"])
    got = con.execute(f"SELECT name_key, name_rot FROM ({sql}) ORDER BY rid").fetchall()
    lists = con.execute(
        f"""SELECT array_to_string(list_sort(string_split({_NAME_ASCII}, ' ')), ' '),
                   CASE WHEN len(string_split({_NAME_ASCII}, ' ')) > 1 THEN array_to_string(list_concat(
                   string_split({_NAME_ASCII}, ' ')[2:], string_split({_NAME_ASCII}, ' ')[1:1]), ' ') END
            FROM (SELECT NULLIF(TRIM(name_ascii), '') AS name_ascii, NULL AS surname_ascii,
                         '' AS middle_name_ascii, NULL AS given_name_ascii FROM t ORDER BY rowid)""").fetchall()
    assert got == lists
    assert got[0] == ("an nguyen van", "van an nguyen")
