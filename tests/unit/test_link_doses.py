"""is_duplicate_dose and the record_links layout (CONTRACT section 2)."""

from __future__ import annotations

import duckdb

from vaxstudy.link.doses import build_record_links


def test_duplicate_dose_follows_entry_order_whatever_the_date():
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE k AS SELECT * FROM (VALUES
        ('r1', 'P1', 1, 3, 'P1', 0.99),
        ('r2', 'P1', 1, 1, 'P1', 0.99),   -- entered first: the kept one
        ('r3', 'P1', 2, 2, 'P1', 0.99),
        ('r4', NULL, 1, 4, 'Ur4', NULL),
        ('r5', NULL, 1, 5, 'Ur4', NULL),  -- same unlinked person, dose 1 again
        ('r6', 'P2', NULL, 6, 'P2', 0.9), -- no dose number: never a duplicate
        ('r7', 'P2', NULL, 7, 'P2', 0.9)
        ) t(record_id, person_id, dose_number, _row, person_key, match_probability)"""
    )
    build_record_links(con, "k")
    cols = [r[0] for r in con.execute("DESCRIBE record_links").fetchall()]
    assert cols == ["record_id", "person_id", "match_probability", "person_key", "is_duplicate_dose"]
    flags = dict(con.execute("SELECT record_id, is_duplicate_dose FROM record_links").fetchall())
    assert flags == {"r1": True, "r2": False, "r3": False, "r4": False, "r5": True,
                     "r6": False, "r7": False}
    order = [r[0] for r in con.execute("SELECT record_id FROM record_links").fetchall()]
    assert order == ["r2", "r3", "r1", "r4", "r5", "r6", "r7"]
