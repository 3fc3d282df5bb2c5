"""`vaxstudy link --update` on the small synthetic province: the export as it stood on
2021-10-10, linked in full, then updated twice as rows entered up to 10-20 and 10-31 are
appended. The result must equal a full re-link with the first run's frozen parameters (model,
term frequencies, priors, threshold), row for row; and refuse when a full re-link is needed."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

pytestmark = pytest.mark.integration

COLUMNS = ("record_id", "person_id", "match_probability", "person_key", "is_duplicate_dose",
           "best_person_id", "best_match_probability", "in_register_probability")


def _links(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"SELECT {', '.join(COLUMNS)} FROM record_links ORDER BY record_id").fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def updated(small_province, tmp_path_factory):
    """Linked in full on 10-10, updated to 10-20 then to 10-31; the reference decides every
    identity of the 10-31 export with the first run's frozen parameters."""
    from vaxstudy.options import LinkOptions
    from vaxstudy.study import Study
    from vaxstudy.synth.snapshots import snapshots

    base = tmp_path_factory.mktemp("link_update")
    first, mid, late = snapshots(small_province, base / "exports", ["2021-10-10", "2021-10-20", "2021-10-31"])
    work, ref = base / "work", base / "ref"
    work.mkdir()
    with Study(work / "p.duckdb", link_dir=work / "link") as st:
        st.ingest(first)
        st.standardize()
        st.link(LinkOptions(seed=1, diagnostics=False, u_max_pairs=1e5, em_max_pairs=3e4))
        before = _links(work / "p.duckdb")
        st.ingest(mid, fresh=False)
        st.standardize()
        res_mid = st.update_link()
        st.ingest(late, fresh=False)
        st.standardize()
        shutil.copytree(work, ref)
        res = st.update_link()
    con = duckdb.connect(str(ref / "p.duckdb"))  # the reference counts the term frequencies again
    for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, 'link_prep_')"
                            ).fetchall():
        con.execute(f"DROP TABLE {t}")
    con.close()
    with Study(ref / "p.duckdb", link_dir=ref / "link") as st:
        full = st.update_link(full=True)
    return dict(base=base, late=late, work=work, ref=ref, before=before, res=res, res_mid=res_mid, full=full)


def test_update_equals_full_relink_with_the_same_parameters(updated):
    res, full = updated["res"], updated["full"]
    got, want = _links(updated["work"] / "p.duckdb"), _links(updated["ref"] / "p.duckdb")
    n_late = sum(1 for _ in open(updated["late"] / "vaccinations.csv", encoding="utf-8")) - 1
    assert len(got) == len(want) == n_late  # nothing missed, nothing counted twice
    assert len({r[0] for r in got}) == n_late
    assert updated["res_mid"].n_new_records + res.n_new_records == n_late - len(updated["before"])
    assert updated["res_mid"].n_new_records > 0 and res.n_new_records > 0
    # the updates reused the term frequencies the full run kept, the reference counted them
    assert updated["res_mid"].reused_prepared and res.reused_prepared and not full.reused_prepared
    # the update decided and re-clustered only a part; the result is the same, row for row
    assert res.n_identities_decided < full.n_identities_decided
    assert res.n_dedupe_nodes < full.n_dedupe_nodes
    assert [r[:2] + r[3:5] for r in got] == [r[:2] + r[3:5] for r in want]
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            assert a == b or (isinstance(a, float) and abs(a - b) < 1e-9), (g, w)
    # the frozen re-link keeps the first run's decisions on the earlier rows
    before = {r[0]: r[1] for r in updated["before"]}
    assert all(before[r[0]] == r[1] for r in want if r[0] in before)
    summary = json.loads((updated["work"] / "link" / "link_update.json").read_text(encoding="utf-8"))
    assert summary["n_new_records"] == res.n_new_records and summary["full"] is False


def test_a_second_update_with_nothing_new_changes_nothing(updated):
    from vaxstudy.link.update import update_links

    work = updated["work"]
    before = _links(work / "p.duckdb")
    res = update_links(work / "p.duckdb", work / "link")
    assert res.n_new_records == 0 and res.n_identities_decided == 0
    assert _links(work / "p.duckdb") == before
    from typer.testing import CliRunner

    from vaxstudy.cli import app

    r = CliRunner().invoke(app, ["link", "--update", "--db", str(work / "p.duckdb"), "--out", str(work / "link")])
    assert r.exit_code == 0, r.output
    assert "rows added since the previous run: 0" in r.output
    r = CliRunner().invoke(app, ["link", "--update", "--threshold", "0.9", "--db", str(work / "p.duckdb"),
                                 "--out", str(work / "link")])
    assert r.exit_code != 0 and "--update reuses" in r.output


def test_update_refuses_when_a_full_relink_is_needed(updated):
    from vaxstudy.link.update import UpdateRefused, update_links

    db, link = updated["ref"] / "p.duckdb", updated["ref"] / "link"
    con = duckdb.connect(str(db))
    rid = con.execute("SELECT min(record_id) FROM vaccinations_std").fetchall()[0][0]
    con.execute("UPDATE vaccinations_std SET given_name_ascii = 'changed' WHERE record_id = ?", [rid])
    con.close()
    with pytest.raises(UpdateRefused, match=rf"1 rows of the previous link run changed.*{rid}"):
        update_links(db, link)
    model = link / "link_model.json"
    model.rename(link / "moved.json")
    with pytest.raises(UpdateRefused, match="link_model.json is not in"):
        update_links(db, link)
    (link / "moved.json").rename(model)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM population_std WHERE rowid = 0")
    con.close()
    with pytest.raises(UpdateRefused, match="person register"):
        update_links(db, link)
