"""The pieces of the Spark backend that need no Spark: SQL translation of the link settings,
the Python sex rule against DuckDB's, backend selection. Milliseconds; always run."""

from __future__ import annotations

import re

import pytest

from helpers.sparkrules import _staged, _standardise_rules


def _all_link_sql():
    from vaxstudy.link.rules import TRAINING_BLOCKING_RULES, blocking_rules
    from vaxstudy.link.settings import build_settings

    d = build_settings().create_settings_dict("duckdb")
    conds = [lvl["sql_condition"] for c in d["comparisons"] for lvl in c["comparison_levels"]
             if lvl["sql_condition"].strip().upper() != "ELSE"]
    return conds + blocking_rules(dedupe=True) + list(TRAINING_BLOCKING_RULES)


def test_every_link_condition_translates_to_spark():
    from vaxstudy.engines.spark.transpile import duckdb_sql_to_spark

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
    from vaxstudy.engines.spark.transpile import duckdb_sql_to_spark

    assert duckdb_sql_to_spark('jaro_winkler_similarity("a_l", "a_r") >= 0.88') == \
        "JARO_WINKLER(`a_l`, `a_r`) >= 0.88"
    assert duckdb_sql_to_spark('(year("dob_l") = year("dob_r"))::INT = 1') == \
        "CAST((YEAR(`dob_l`) = YEAR(`dob_r`)) AS INT) = 1"
    assert duckdb_sql_to_spark("l.\"x\" = r.\"x\" AND l.\"y\" = 'text'") == "l.`x` = r.`x` AND l.`y` = 'text'"


def test_sex_rule_matches_duckdb():
    import duckdb

    from vaxstudy.engines.spark.standardize import sex_code
    from vaxstudy.standardize.sex import sex_sql

    values = ["Nam", "nam ", "NỮ", "Nữ", "nu", "nư", "F", "m", "Male", "female", "1", "0", "2", "trai",
              "Gái", "bà", "ông", "Giới tính: Nam", "giới tính nữ", "x", "", "  ", "đàn ông", "W", "3", None]
    con = duckdb.connect()
    con.execute("CREATE TABLE v (i INTEGER, raw VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?, ?)", list(enumerate(values)))
    duck = [r[0] for r in con.execute(f"SELECT {sex_sql('raw')} FROM v ORDER BY i").fetchall()]
    assert [sex_code(v) for v in values] == duck
    assert duck.count("M") >= 5 and duck.count("F") >= 5


def test_get_engine():
    from vaxstudy.engines import DuckDBBackend, Engine, get_engine

    assert isinstance(get_engine(None), DuckDBBackend)
    assert isinstance(get_engine("duckdb"), DuckDBBackend)
    b = DuckDBBackend()
    assert get_engine(b) is b and isinstance(b, Engine)
    with pytest.raises(ValueError, match="unknown backend"):
        get_engine("postgres")
    with pytest.raises(ValueError, match="--backend spark"):
        get_engine("duckdb", spark_master="local[2]")


def test_duckdb_engine_settings_pass_through():
    from vaxstudy.engines import DuckDBBackend

    b = DuckDBBackend()
    settings = {"a": 1}
    assert b.splink_settings(settings) is settings and b.portable_model(settings) is settings
    assert b.identity_hash_sql(["a", "b"]) == "hash(a, b)"


# ---- the standardise rules: written once in DuckDB SQL, transpiled for Spark ----------------------

def _std_queries_on_spark():
    from vaxstudy.engines.spark.standardize import spark_std_queries

    pop = ["person_id", "full_name", "date_of_birth", "sex", "province_code", "district_code",
           "commune_code", "phone", "_row", "_source"]
    vax = ["record_id", "subject_id", "full_name", "date_of_birth", "sex", "id_number", "phone",
           "province_code", "district_code", "commune_code", "vaccination_date", "dose_number",
           "vaccine", "site_id", "entered_date", "_row", "_source"]
    return spark_std_queries(pop, vax)


#: DuckDB-only spellings that must not reach Spark
DUCKDB_ONLY = ("regexp_matches", "regexp_full_match", "strip_accents", "exclude", "except", "array(",
               "list_", "strptime", "::", "//", "'g'")


def _string_literals(spark_sql):
    return [m.group(1) for m in re.finditer(r"'((?:[^'\\]|\\.)*)'", spark_sql)]


def test_every_standardise_rule_transpiles():
    import sqlglot

    from vaxstudy.engines.spark.transpile import duckdb_rules_to_spark

    outs = {k: duckdb_rules_to_spark(v) for k, v in _standardise_rules().items()}
    outs.update({f"query.{k}": v for k, v in _std_queries_on_spark().items()})
    assert len(outs) >= 14
    for name, out in outs.items():
        assert '"' not in out, (name, out)  # Spark reads "x" as a string
        low = out.lower()
        for word in DUCKDB_ONLY:
            assert word not in low, (name, word)
        for lit in _string_literals(out):  # RE2's end-of-text is Java's \z; Java's $ also matches before \n
            assert "$" not in lit, (name, lit)
        assert re.search(r"\bTRIM\((?!BOTH )", out) is None, name  # every trim strips DuckDB's characters
        sqlglot.parse_one(out, read="spark")  # valid Spark SQL
    assert "RLIKE" in outs["phone.phone"] and "RLIKE" in outs["code.commune_code"]
    assert "NAMED_STRUCT" in outs["dob_table"] and "TRY_CAST" in outs["dob_table"]
    q = outs["query.population_std"]
    assert "`t`.`sex`" not in q and "_x.sex AS sex" in q  # t.* EXCLUDE (sex) expanded, sex from the lookup


def test_std_queries_single_source():
    """The Spark queries are the DuckDB ones: same CTEs and output columns, in the same order."""
    import sqlglot

    from vaxstudy.standardize import PERSON_COLUMNS, VACCINATION_EXTRA, std_queries

    duck, spark = std_queries(), _std_queries_on_spark()
    assert set(duck) == set(spark) == {"_vdob", "population_std", "vaccinations_std"}
    for k in duck:
        a, b = sqlglot.parse_one(duck[k], read="duckdb"), sqlglot.parse_one(spark[k], read="spark")
        assert a.named_selects == b.named_selects, k
        assert [c.alias for c in a.find_all(sqlglot.exp.CTE)] == [c.alias for c in b.find_all(sqlglot.exp.CTE)]
    assert tuple(sqlglot.parse_one(spark["vaccinations_std"], read="spark").named_selects) == \
        PERSON_COLUMNS + VACCINATION_EXTRA


def test_re2_to_java():
    from vaxstudy.engines.spark.transpile import re2_to_java

    assert re2_to_java(r"\.0$") == r"\.0\z"
    assert re2_to_java(r"^(\d{4})([ T].*)?$") == r"^(\d{4})([ T][^\n]*)?\z"
    assert re2_to_java(r"[$.]a\$") == r"[$.]a\$"  # literal inside a class or escaped
    assert re2_to_java(r"[]a[&&]\s") == r"[]a\[\&\&][\t\n\f\r ]"
    assert re2_to_java(r"[^\s]+") == r"[^\t\n\f\r ]+"
    assert re2_to_java(r"(?P<y>\d+)") == r"(?<y>\d+)"
    for bad in (r"[[:alpha:]]", r"\pL", r"\C"):
        with pytest.raises(ValueError):
            re2_to_java(bad)


def test_transpiler_refuses_what_would_differ():
    from vaxstudy.engines.spark.transpile import duckdb_rules_to_spark

    # DuckDB replaces the first match only without 'g'; Spark every match
    with pytest.raises(ValueError, match="every match"):
        duckdb_rules_to_spark("regexp_replace(x, 'a', 'b')")
    assert "REGEXP_REPLACE(x, '^a', 'b')" == duckdb_rules_to_spark("regexp_replace(x, '^a', 'b')")
    with pytest.raises(ValueError, match="back-references"):
        duckdb_rules_to_spark(r"regexp_replace(x, '(a)', '\1', 'g')")
    with pytest.raises(ValueError, match="options"):
        duckdb_rules_to_spark("regexp_matches(x, 'a', 'i')")
    with pytest.raises(ValueError, match="string literal"):
        duckdb_rules_to_spark("regexp_matches(x, y)")
    with pytest.raises(ValueError, match="star_columns"):
        duckdb_rules_to_spark("SELECT t.* EXCLUDE (a) FROM t")
    assert duckdb_rules_to_spark("SELECT t.* EXCLUDE (a), 1 AS b FROM t", star_columns={"t": ["a", "c"]}) == \
        "SELECT `t`.`c`, 1 AS b FROM t"
    assert duckdb_rules_to_spark("printf('%d-%d', a, 1)") == \
        "CASE WHEN a IS NULL OR 1 IS NULL THEN NULL ELSE PRINTF('%d-%d', a, 1) END"


def test_duckdb_trim_chars():
    """DUCKDB_TRIM_CHARS is exactly what DuckDB's trim() strips (the Unicode spaces, no controls)."""
    import unicodedata

    import duckdb

    from vaxstudy.sql import DUCKDB_TRIM_CHARS

    candidates = [chr(c) for c in range(0x3001) if unicodedata.category(chr(c)) in ("Zs", "Cc", "Cf", "Zl", "Zp")]
    candidates += ["\u3000", "\ufeff", "\u200b"]
    con = duckdb.connect()
    stripped = {c for c in candidates if con.execute("SELECT trim(?) = ''", [c]).fetchone()[0]}
    assert stripped == set(DUCKDB_TRIM_CHARS)
