"""DuckDB SQL → Spark SQL: the link settings' fragments, the estimate's and link stage's
queries, and the standardise rules (same results on both engines, tested rule by rule)."""

from __future__ import annotations

import re
from typing import Any, Iterable

from vaxstudy.sql import DUCKDB_TRIM_CHARS

__all__ = ["SPARK_FUNCTION_NAMES", "duckdb_sql_to_spark", "duckdb_query_to_spark", "query_tables",
           "make_spark_api_class", "re2_to_java", "duckdb_rules_to_spark", "DUCKDB_TRIM_CHARS"]


def _spark_dq_dialect():
    """sqlglot's Spark dialect, but reading "x" as an identifier (as DuckDB and the SQL
    standard do). The link settings are written for DuckDB (double-quoted columns); Splink's
    own Spark SQL quotes with backticks and its strings with single quotes, so one reader
    serves both."""
    from sqlglot.dialects.spark import Spark

    class SparkDQ(Spark):
        class Tokenizer(Spark.Tokenizer):
            QUOTES = ["'"]
            IDENTIFIERS = ["`", '"']

    return SparkDQ


#: DuckDB function names used by the link settings → the names of the same functions in Spark
#: (Splink's similarity jar registers jaro_winkler and damerau_levenshtein).
SPARK_FUNCTION_NAMES = {"jaro_winkler_similarity": "jaro_winkler"}


def duckdb_sql_to_spark(sql: str, write: str = "spark") -> str:
    """Transpile a DuckDB-flavoured SQL fragment (as in link/settings.py) to Spark SQL."""
    import sqlglot

    for a, b in SPARK_FUNCTION_NAMES.items():
        sql = re.sub(rf"\b{a}\s*\(", f"{b}(", sql, flags=re.I)
    return sqlglot.transpile(sql, read=_spark_dq_dialect(), write=write)[0]


def duckdb_query_to_spark(query: str) -> str:
    """Transpile a whole query written for DuckDB (the estimate stage's SQL: ``::`` casts,
    ``GROUP BY ALL``, ``list_contains``, ``mode``, DuckDB's NULLS LAST default) to Spark SQL.
    Read with sqlglot's DuckDB dialect, unlike :func:`duckdb_sql_to_spark`, which reads the
    link settings' fragments."""
    import sqlglot
    from sqlglot import exp

    for a, b in SPARK_FUNCTION_NAMES.items():
        query = re.sub(rf"\b{a}\s*\(", f"{b}(", query, flags=re.I)
    tree = sqlglot.parse_one(query, read="duckdb")
    for node in list(tree.find_all(exp.RegexpFullMatch)):  # Spark has no regexp_full_match
        node.replace(_anchored_rlike(node))
    return tree.sql(dialect="spark")


def _anchored_rlike(node: Any) -> Any:
    """``regexp_full_match(s, p)`` as Spark's ``s RLIKE '^(?:p)\\z'`` with ``p`` in Java's syntax."""
    from sqlglot import exp

    p = node.expression
    if not (isinstance(p, exp.Literal) and p.is_string):
        raise ValueError(f"a regex must be a string literal to be translated: {node.sql('duckdb')}")
    return exp.RegexpLike(this=node.this, expression=exp.Literal.string(f"^(?:{re2_to_java(p.this)})\\z"))


def query_tables(query: str) -> list[str]:
    """The tables a DuckDB-dialect query reads, each once (CTE names left out)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(query, read="duckdb")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    out: list[str] = []
    for t in tree.find_all(exp.Table):
        if t.name and t.name not in ctes and t.name not in out:
            out.append(t.name)
    return out


def make_spark_api_class():
    from splink import SparkAPI

    class VaxSparkAPI(SparkAPI):
        """splink.SparkAPI that also runs SQL written for DuckDB (double-quoted identifiers,
        ``::`` casts, DuckDB function names), so the link settings need no Spark copy."""

        def _setup_for_execute_sql(self, sql: str, physical_name: str) -> str:
            import splink.internals.spark.spark_helpers.custom_spark_dialect  # noqa: F401  registers customspark

            return duckdb_sql_to_spark(sql, write="customspark")

    return VaxSparkAPI



def re2_to_java(pattern: str) -> str:
    """A DuckDB (RE2) regular expression rewritten for Spark (java.util.regex), same matches:
    ``$`` → ``\\z`` (Java's ``$`` also matches before a final line terminator), ``.`` →
    ``[^\\n]`` (Java's also stops at \\r, \\u0085, \\u2028, \\u2029), ``\\s`` → RE2's
    ``[\\t\\n\\f\\r ]`` (Java's adds \\x0B), ``(?P<n>`` → ``(?<n>``, and ``[`` / ``&`` inside a
    class escaped (Java nests and intersects classes). What it cannot translate raises ValueError."""
    out, i, body = [], 0, None  # body: where the open character class's body starts
    while i < len(pattern):
        c, two = pattern[i], pattern[i:i + 2]
        if c == "\\":
            if two == "\\s":
                out.append("\\t\\n\\f\\r " if body is not None else "[\\t\\n\\f\\r ]")
            elif two == "\\S" and body is None:
                out.append("[^\\t\\n\\f\\r ]")
            elif two in ("\\S", "\\C", "\\Q", "\\E", "\\p", "\\P"):
                raise ValueError(f"regex {pattern!r}: {two} is not translated to Java")
            else:
                out.append(two)
            i += 2
            continue
        if body is not None:
            if c == "]" and i > body:
                body = None
            elif two == "[:":
                raise ValueError(f"regex {pattern!r}: POSIX classes are not translated to Java")
            elif c in "[&":
                c = "\\" + c
            out.append(c)
        elif c == "[":
            out.append(c)
            body = i + 1 + (pattern[i + 1:i + 2] == "^")  # a ']' first in the class is literal
        elif pattern.startswith("(?P<", i):
            out.append("(?<")
            i += 4
            continue
        else:
            out.append({"$": "\\z", ".": "[^\\n]"}.get(c, c))
        i += 1
    return "".join(out)


def duckdb_rules_to_spark(sql: str, star_columns: dict[str, Iterable[str]] | None = None) -> str:
    """Transpile DuckDB SQL (the standardise rules of ``vaxstudy.standardize``: an expression
    or a query) to Spark SQL giving the same results, ANSI mode on or off. On top of sqlglot's
    DuckDB → Spark translation: regex literals go through :func:`re2_to_java`;
    ``regexp_full_match`` becomes an anchored ``RLIKE``; ``regexp_replace`` is accepted only
    where Spark's replace-all equals DuckDB's (flag 'g', or a pattern anchored by ``^``/``$``);
    ``regexp_extract(s, p, ['a', 'b'])`` becomes ``named_struct('a', regexp_extract(s, p, 1), …)``
    (same ``.a`` access); a one-argument ``trim`` strips DuckDB's characters
    (:data:`DUCKDB_TRIM_CHARS`); ``printf`` is NULL when an argument is (Java prints "null");
    ``t.* EXCLUDE (c)`` is expanded from ``star_columns`` (``{"t": columns}``; Spark 3.5 has
    no ``* EXCEPT``). What cannot be kept equal raises ValueError."""
    import sqlglot
    from sqlglot import exp

    def regex(node: Any) -> str:
        if not (isinstance(node, exp.Literal) and node.is_string):
            raise ValueError(f"a regex must be a string literal to be translated: {node.sql('duckdb')}")
        return re2_to_java(node.this)

    def fix(node: Any) -> Any:
        if isinstance(node, (exp.RegexpLike, exp.RegexpFullMatch, exp.RegexpExtract)):
            if any(node.args.get(k) is not None for k in ("flag", "parameters", "modifiers")):
                raise ValueError(f"regex options are not translated: {node.sql('duckdb')}")
            p = regex(node.expression)
            group = node.args.get("group")
            if isinstance(node, exp.RegexpFullMatch):
                return _anchored_rlike(node)
            if isinstance(group, exp.Array):
                fields: list[Any] = []
                for k, name in enumerate(group.expressions, 1):
                    fields += [name.copy(), exp.RegexpExtract(this=node.this.copy(), expression=exp.Literal.string(p),
                                                              group=exp.Literal.number(k))]
                return exp.Anonymous(this="named_struct", expressions=fields)
            node.set("expression", exp.Literal.string(p))
        elif isinstance(node, exp.RegexpReplace):
            pat, rep, mods = node.expression, node.args.get("replacement"), node.args.get("modifiers")
            mods = "" if mods is None else mods.this if isinstance(mods, exp.Literal) else "?"
            raw = pat.this if isinstance(pat, exp.Literal) else ""
            anchored = raw.startswith("^") or (raw.endswith("$") and not raw.endswith("\\$"))
            if set(mods) - {"g"} or ("g" not in mods and not anchored):
                raise ValueError(f"regexp_replace: Spark replaces every match: {node.sql('duckdb')}")
            if not isinstance(rep, exp.Literal) or set(rep.this) & {"\\", "$"}:
                raise ValueError(f"regexp_replace: back-references are not translated: {node.sql('duckdb')}")
            node.set("expression", exp.Literal.string(regex(pat)))
            node.set("modifiers", None)
        elif isinstance(node, exp.Trim) and node.args.get("expression") is None:
            node.set("expression", exp.Literal.string(DUCKDB_TRIM_CHARS))
            node.set("position", node.args.get("position") or "BOTH")
        elif isinstance(node, exp.Anonymous) and node.name.lower() == "printf" and len(node.expressions) > 1:
            null = exp.or_(*(exp.Is(this=a.copy(), expression=exp.Null()) for a in node.expressions[1:]))
            return exp.Case(ifs=[exp.If(this=null, true=exp.Null())], default=node.copy())
        elif isinstance(node, exp.Select):
            for e in list(node.expressions):
                star = e.this if isinstance(e, exp.Column) else e
                drop = (star.args.get("except_") or star.args.get("except")) if isinstance(star, exp.Star) else None
                if drop:
                    table = e.table if isinstance(e, exp.Column) else ""
                    if table not in (star_columns or {}):
                        raise ValueError(f"{e.sql('duckdb')}: star_columns must give the columns of {table or '*'}")
                    gone = {d.name for d in drop}
                    at = node.expressions.index(e)
                    node.set("expressions", node.expressions[:at] + [
                        exp.column(c, table=table or None, quoted=True) for c in star_columns[table] if c not in gone
                    ] + node.expressions[at + 1:])
        return node

    tree = sqlglot.parse_one(sql, read="duckdb")
    for node in reversed(list(tree.walk())):  # children first: each node is fixed once
        new = fix(node)
        if new is not node:
            tree = new if node is tree else tree
            node.replace(new)
    return tree.sql(dialect="spark")

