"""is_duplicate_dose and the record_links layout (CONTRACT section 2)."""

from __future__ import annotations

import duckdb

from vaxstudy.link.doses import build_record_links, key_rows, links_join_on


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
    assert cols == ["record_id", "person_id", "match_probability", "person_key", "is_duplicate_dose", "_row"]
    assert dict(con.execute("SELECT record_id, _row FROM record_links").fetchall())["r1"] == 3
    flags = dict(con.execute("SELECT record_id, is_duplicate_dose FROM record_links").fetchall())
    assert flags == {"r1": True, "r2": False, "r3": False, "r4": False, "r5": True,
                     "r6": False, "r7": False}
    order = [r[0] for r in con.execute("SELECT record_id FROM record_links").fetchall()]
    assert order == ["r2", "r3", "r1", "r4", "r5", "r6", "r7"]


def _rows_and_links(con, links_row: bool = True, null_row: bool = False):
    """Rows whose ``_row`` order is not their record_id order, and their links."""
    con.execute("""CREATE OR REPLACE TABLE vaccinations AS SELECT * FROM (VALUES
        ('10', 3), ('9', 1), ('x', 2)) t(record_id, _row)""")
    key = ", CASE WHEN r = '9' AND $n THEN NULL ELSE w END AS _row" if links_row else ""
    con.execute(f"""CREATE OR REPLACE TABLE record_links AS SELECT r AS record_id, p AS person_id{key}
        FROM (VALUES ('9', 'P9', 1), ('x', 'PX', 2), ('10', 'P10', 3)) t(r, p, w)""",
                {"n": null_row} if links_row else None)


def _joined(con) -> list:
    return con.execute(f"""SELECT CAST(v.record_id AS VARCHAR), l.person_id FROM vaccinations v
        LEFT JOIN record_links l ON {links_join_on(con, 'vaccinations')} ORDER BY 1""").fetchall()


def test_rows_join_their_links_on_the_integer_row_key():
    con = duckdb.connect()
    _rows_and_links(con)
    assert links_join_on(con, "vaccinations") == "l._row = v._row"
    assert _joined(con) == [("10", "P10"), ("9", "P9"), ("x", "PX")]


def test_links_without_the_row_key_join_on_record_id():
    """A work database linked before record_links kept ``_row`` (or a link without one) still
    joins every row to its link, on the text of record_id."""
    con = duckdb.connect()
    for links_row, null_row in ((False, False), (True, True)):
        _rows_and_links(con, links_row, null_row)
        assert "record_id" in links_join_on(con, "vaccinations")
        assert _joined(con) == [("10", "P10"), ("9", "P9"), ("x", "PX")]


def test_an_unlinked_row_carries_its_best_candidate_and_the_runner_up_into_record_links():
    con = duckdb.connect()
    con.execute("""CREATE TABLE link_rows AS SELECT * FROM (VALUES
        ('r1', 'i1', 1, 1), ('r2', 'i2', 1, 2)) t(record_id, ident, dose_number, _row)""")
    con.execute("CREATE TABLE ident_link AS SELECT 'i1' AS ident, 'P1' AS person_id, 0.99 AS match_probability")
    con.execute("CREATE TABLE dedupe_clusters AS SELECT * FROM (VALUES ('i1', 'c1'), ('i2', 'c2')) t(ident, cluster)")
    con.execute("""CREATE TABLE ident_candidate AS SELECT * FROM (VALUES
        ('i1', 'P7', 0.3, 0.5, 'P8', 0.1), ('i2', 'P5', 0.4, 0.9, 'P6', 0.3))
        t(ident, best_person_id, best_match_probability, in_register_probability,
          second_person_id, second_match_probability)""")
    key_rows(con)
    build_record_links(con, "link_rows_keyed", candidates=True)
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT record_id, best_person_id, second_person_id, second_match_probability FROM record_links").fetchall()}
    assert got == {"r1": (None, None, None), "r2": ("P5", "P6", 0.3)}  # a linked row keeps none


def test_an_update_reads_the_runner_up_of_an_older_record_links_as_none():
    """link --update over a record_links linked before the runner-up columns existed: the earlier
    identities' decisions are read with the runner-up NULL (link/update.py), not refused."""
    from vaxstudy.link.update import STATE_TABLE, _old_decisions

    for with_second in (False, True):
        con = duckdb.connect()
        con.execute("ATTACH ':memory:' AS proj")
        second = ", 'P6' AS second_person_id, 0.3::DOUBLE AS second_match_probability" if with_second else ""
        con.execute(f"""CREATE TABLE proj.record_links AS SELECT 'r1' AS record_id, NULL::VARCHAR AS person_id,
            NULL::DOUBLE AS match_probability, 'Ur1' AS person_key, 'P5' AS best_person_id,
            0.4 AS best_match_probability, 0.9 AS in_register_probability{second}""")
        con.execute(f"CREATE TABLE proj.{STATE_TABLE} AS SELECT 'r1' AS record_id")
        con.execute("CREATE TABLE link_rows AS SELECT 'r1' AS record_id, 'i1' AS ident")
        con.execute("CREATE TABLE upd_new AS SELECT 'x' AS record_id")
        _old_decisions(con)
        got = con.execute("SELECT best_person_id, second_person_id, second_match_probability FROM upd_old").fetchall()
        assert got == [("P5", "P6", 0.3) if with_second else ("P5", None, None)]
