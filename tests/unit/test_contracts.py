"""The table contracts: a table as link_db writes it passes; each kind of breach is named."""

from __future__ import annotations

import duckdb
import pytest

from vaxstudy.contracts import CONTRACTS, ContractError, check, problems

GOOD_LINKS = """CREATE OR REPLACE TABLE record_links AS SELECT * FROM (VALUES
    ('r1', 'P1', 0.99::DOUBLE, 'P1', false, NULL, NULL::DOUBLE, NULL::DOUBLE),
    ('r2', NULL, NULL, 'Ur2', false, 'P2', 0.2::DOUBLE, 0.3::DOUBLE)) t(record_id, person_id, match_probability, person_key,
    is_duplicate_dose, best_person_id, best_match_probability, in_register_probability)"""


def test_a_good_table_passes_and_optional_columns_may_be_absent():
    con = duckdb.connect()
    con.execute(GOOD_LINKS)
    check(con, "record_links")
    con.execute("ALTER TABLE record_links DROP COLUMN in_register_probability")
    assert problems(con, "record_links") == []


@pytest.mark.parametrize("breach, expected", [
    ("UPDATE record_links SET person_key = NULL WHERE record_id = 'r1'", "person_key: NULL values (1 rows)"),
    ("UPDATE record_links SET record_id = 'r1'", "record_id: duplicate values (1 rows)"),
    ("UPDATE record_links SET match_probability = 1.5 WHERE record_id = 'r1'", "match_probability: outside [0, 1]"),
    ("ALTER TABLE record_links DROP COLUMN is_duplicate_dose", "is_duplicate_dose: missing"),
    ("ALTER TABLE record_links ALTER match_probability TYPE VARCHAR", "match_probability: type VARCHAR"),
    ("DROP TABLE record_links", "table record_links is missing"),
])
def test_each_breach_is_named(breach, expected):
    con = duckdb.connect()
    con.execute(GOOD_LINKS)
    con.execute(breach)
    with pytest.raises(ContractError, match=expected.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                       .replace(")", r"\)")):
        check(con, "record_links")


def test_sex_values_of_the_standardised_tables():
    con = duckdb.connect()
    cols = ", ".join(f"CAST(NULL AS {c.type}) AS {c.name}" for c in CONTRACTS["population_std"] if c.name != "unique_id")
    con.execute(f"CREATE TABLE population_std AS SELECT 'P1' AS unique_id, {cols}")
    assert problems(con, "population_std") == []
    con.execute("UPDATE population_std SET sex = 'Nam'")
    assert problems(con, "population_std") == ["population_std.sex: values outside ('M', 'F') (1 rows)"]
