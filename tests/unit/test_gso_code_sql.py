"""gso_code_sql (a value already written as the code is taken as it is, anything else goes
through the regular expressions) gives what the regular expressions alone gave, and what its
Python twin gives, value by value."""

from __future__ import annotations

import duckdb
import pytest

from vaxstudy.codes import gso_code, gso_code_sql

VALUES = ["40", "4", "040", " 40", "40 ", "40.0", "4.0", "40.00", ".0", "a0", "4a", "4O", "+4", "-4", "00",
          "", "  ", "1", "٤٠", "４０", "4\u00a0", None]


def _regex_only(expr: str, width: int) -> str:
    """The expression before the shortcut (the reference)."""
    d = f"regexp_replace(trim(CAST({expr} AS VARCHAR)), '\\.0$', '')"
    return f"CASE WHEN regexp_full_match({d}, '[0-9]{{1,{width}}}') THEN lpad({d}, {width}, '0') END"


@pytest.mark.parametrize("width", [2, 3])
def test_sql_equals_the_regular_expressions_and_the_python_twin(width):
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES " + ", ".join(
        "(NULL)" if v is None else "('" + v + "')" for v in VALUES) + ") v(x)")
    got = [r[0] for r in con.execute(f"SELECT {gso_code_sql('x', width)} FROM t").fetchall()]
    assert got == [r[0] for r in con.execute(f"SELECT {_regex_only('x', width)} FROM t").fetchall()]
    want = [gso_code(v, width) for v in VALUES]
    # the twin strips ASCII spaces only; SQL's trim() also a no-break space (as before)
    assert [g for g, v in zip(got, VALUES) if v != "4\u00a0"] == [w for w, v in zip(want, VALUES) if v != "4\u00a0"]
    assert want.count(None) < len(VALUES) - 3  # both paths taken: codes as written and normalised
    con.close()
