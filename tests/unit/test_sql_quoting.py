"""Values reach SQL only through vaxstudy.sql: quoting works, and no SQL string in src/ pastes a
value between quotes by hand (an f-string like ``'{path}'`` or a ``.format`` template ``'{p}'``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb

from vaxstudy import sql

SRC = Path(__file__).resolve().parents[2] / "src" / "vaxstudy"
SQL_WORDS = re.compile(r"\b(SELECT|FROM|WHERE|COPY|ATTACH|SET|WHEN|INSERT|CREATE|DATE|IN|read_parquet|read_csv)\b")


def test_literal_doubles_quotes_and_round_trips():
    con = duckdb.connect()
    for v in ["plain", "o'brien", "'; DROP TABLE t; --", "a\\b", "Nghệ An"]:
        assert con.execute(f"SELECT {sql.literal(v)}").fetchone()[0] == v
    assert sql.literal(None) == "NULL"
    assert sql.ident('we"ird') == '"we""ird"'
    name = sql.ident('we"ird')
    assert con.execute(f"SELECT 1 AS {name}").df().columns[0] == 'we"ird'
    assert sql.date_literal("2021-03-08") == "DATE '2021-03-08'"


def test_paths_with_quotes_work_for_copy_and_attach(tmp_path):
    d = tmp_path / "o'brien's folder"
    d.mkdir()
    con = duckdb.connect()
    sql.copy_to_parquet(con, "SELECT 42 AS x", d / "t.parquet")
    assert con.execute(f"SELECT x FROM {sql.parquet_source(d)}").fetchone()[0] == 42
    db = d / "p'1.duckdb"
    duckdb.connect(str(db)).execute("CREATE TABLE t AS SELECT 1 AS a").close()
    sql.attach(con, db, "proj", read_only=True)
    assert sql.has_table(con, "t", "proj") and sql.table_columns(con, "t", "proj") == ["a"]


def _hand_quoted(tree: ast.AST) -> list[int]:
    """Lines of SQL-looking strings that put a value between single quotes themselves."""
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = node.values
            text = "".join(p.value for p in parts if isinstance(p, ast.Constant))
            if not SQL_WORDS.search(text):
                continue
            for i, p in enumerate(parts):
                if (isinstance(p, ast.FormattedValue) and 0 < i < len(parts) - 1
                        and isinstance(parts[i - 1], ast.Constant) and str(parts[i - 1].value).endswith("'")
                        and isinstance(parts[i + 1], ast.Constant) and str(parts[i + 1].value).startswith("'")):
                    bad.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.search(r"'\{\w*\}'", node.value) and SQL_WORDS.search(node.value + " IN"):
                bad.append(node.lineno)
    return bad


def test_the_scan_catches_hand_quoting():
    assert _hand_quoted(ast.parse('''x = f"ATTACH '{path}' AS proj"''')) == [1]
    assert _hand_quoted(ast.parse('''x = "read_parquet('{p}')".format(p=1)''')) == [1]
    assert _hand_quoted(ast.parse('''x = f"ATTACH {literal(path)} AS proj"''')) == []
    assert _hand_quoted(ast.parse('''x = f"stage '{name}' failed"''')) == []


def test_no_sql_string_pastes_a_raw_value():
    found = {}
    for f in sorted(SRC.rglob("*.py")):
        if f.name == "sql.py" and f.parent == SRC:
            continue
        lines = _hand_quoted(ast.parse(f.read_text(encoding="utf-8")))
        if lines:
            found[str(f.relative_to(SRC))] = lines
    assert not found, f"values quoted by hand in SQL (use vaxstudy.sql.literal / path_literal): {found}"
