"""Every standardise rule builder's SQL over a staged test table (Spark translation tests)."""

from __future__ import annotations


def _standardise_rules():
    """{name: DuckDB SQL} of every standardise rule builder, over the columns of
    :func:`_staged`: x (typed value), sex, yr, d, g, and, staged as in the pipeline, dx (ID
    digits of x), nx (national phone digits of x), cx (nx converted)."""
    from vaxstudy.standardize.admin import WIDTH, code_sql, commune_valid_sql
    from vaxstudy.standardize.dates import dob_table_sql
    from vaxstudy.standardize.ids import id_digits_sql, id_fields_sql
    from vaxstudy.standardize.phones import phone_convert_sql, phone_fields_sql, phone_national_sql

    rules = {"id_digits": id_digits_sql("x"),
             **{f"id.{k}": v for k, v in id_fields_sql("dx", "sex", "yr").items()},
             "phone_national": phone_national_sql("x"),
             "phone_convert": phone_convert_sql("nx"),
             **{f"phone.{k}": v for k, v in phone_fields_sql("cx", "x").items()},
             **{f"code.{k}": code_sql("x", w) for k, w in WIDTH.items()},
             "commune_valid": commune_valid_sql("x", "d", "g"),
             "dob_table": dob_table_sql("SELECT x AS raw FROM v")}
    return rules


def _staged(table: str = "v") -> str:
    """FROM clause (DuckDB SQL) adding dx, nx, cx to ``table``, one stage each, as the pipeline does."""
    from vaxstudy.standardize.ids import id_digits_sql
    from vaxstudy.standardize.phones import phone_convert_sql, phone_national_sql

    return (f"(SELECT *, {phone_convert_sql('nx')} AS cx FROM (SELECT *, {id_digits_sql('x')} AS dx, "
            f"{phone_national_sql('x')} AS nx FROM {table}))")
