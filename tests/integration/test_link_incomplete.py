"""Register persons without a date of birth as candidates of the rows left unlinked
(vaxstudy.link.incomplete): on a copy of the small province's database, a few residents with
records are moved from population_std to population_incomplete_std (no date of birth), and a
namesake without a date of birth is added beside one resident who stays. Linked again with the
saved model (no training): the moved residents' rows find them in the new column, never in
person_id; the resident with a complete entry keeps his link."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from vaxstudy.link import link_db
from vaxstudy.options import LinkOptions

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("linked_small")]


@pytest.fixture(scope="module")
def moved(linked_small_province, tmp_path_factory):
    data, db0, out0, _ = linked_small_province
    base = tmp_path_factory.mktemp("incomplete")
    db = base / "db.duckdb"
    shutil.copy(db0, db)
    con = duckdb.connect(str(db))
    try:
        # residents whose every row the first run linked to them, with an ID typed on a row
        people = [r[0] for r in con.execute("""
            SELECT l.person_id FROM record_links l JOIN truth t USING (record_id)
            GROUP BY l.person_id HAVING bool_and(l.person_id = t.true_person_id) AND count(*) >= 2
            ORDER BY hash(l.person_id) LIMIT 6""").fetchall()]
        gone, stays = people[:5], people[5]
        ids = ", ".join(f"'{p}'" for p in gone)
        con.execute("CREATE OR REPLACE TABLE population_incomplete_std AS SELECT * REPLACE "
                    "(NULL::DATE AS dob, NULL::INTEGER AS birth_year, NULL::VARCHAR AS dob_precision, "
                    f"NULL::BOOLEAN AS dob_ambiguous) FROM population_std WHERE unique_id IN ({ids})")
        # a namesake of `stays` without a date of birth, ID or phone, in the same commune
        con.execute("INSERT INTO population_incomplete_std SELECT * REPLACE ('X' || unique_id AS unique_id, "
                    "NULL::DATE AS dob, NULL::INTEGER AS birth_year, NULL::VARCHAR AS dob_precision, "
                    "NULL::BOOLEAN AS dob_ambiguous, NULL AS id_number, NULL AS phone) "
                    f"FROM population_std WHERE unique_id = '{stays}'")
        con.execute(f"DELETE FROM population_std WHERE unique_id IN ({ids})")
    finally:
        con.close()
    link_db(db, base / "out", LinkOptions(seed=1, model_path=out0 / "link_model.json", diagnostics=False))
    con = duckdb.connect(str(db), read_only=True)
    links = con.execute("SELECT l.*, t.true_person_id FROM record_links l JOIN truth t USING (record_id)").df()
    con.close()
    summary = json.loads((base / "out" / "link_summary.json").read_text(encoding="utf-8"))
    return links, gone, stays, summary


def test_rows_of_a_person_without_dob_carry_them_in_the_new_column_not_in_person_id(moved):
    links, gone, _, summary = moved
    theirs = links[links["true_person_id"].isin(gone)]
    assert len(theirs) >= 10
    assert theirs["person_id"].isna().all()  # no person_id outside the register (the denominator)
    found = theirs["incomplete_register_person_id"]
    assert (found == theirs["true_person_id"]).mean() >= 0.9
    assert (found.isna() | (found == theirs["true_person_id"])).all()
    assert theirs.loc[found.notna(), "incomplete_register_match_probability"].between(0.5, 1).all()
    assert summary["results"]["n_unlinked_in_register_incomplete"] == int(links["incomplete_register_person_id"].notna().sum())


def test_a_resident_with_a_complete_entry_keeps_his_link_despite_a_namesake_without_dob(moved):
    links, _, stays, _ = moved
    his = links[links["true_person_id"] == stays]
    assert len(his) >= 2 and (his["person_id"] == stays).all()
    assert his["incomplete_register_person_id"].isna().all()
    # the new column only on unlinked rows, and never naming a register person
    assert links.loc[links["person_id"].notna(), "incomplete_register_person_id"].isna().all()
    assert not links["incomplete_register_person_id"].dropna().str.startswith("X").any()
