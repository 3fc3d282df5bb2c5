"""The link run is a table: written once by link_db, read by the estimate (no JSON file beside it)."""

from __future__ import annotations

import json

import duckdb

from vaxstudy.estimate import estimate_db
from helpers.estimatedb import make_db
from vaxstudy.link.run import new_link_run, read_link_run, write_link_run

SITES = [dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="17000")]


def test_round_trip_and_absent():
    con = duckdb.connect()
    assert read_link_run(con) is None
    run = new_link_run(threshold=0.8, prior=1e-4, model={"b": 1, "a": [1.5]}, engine="duckdb",
                       options={"seed": 3, "model_reused": None})
    write_link_run(con, run)
    back = read_link_run(con)
    assert back == run
    other = new_link_run(threshold=0.8, prior=1e-4, model={"a": [1.5], "b": 2}, engine="duckdb", options={})
    assert other.model_sha256 != run.model_sha256  # the hash names the model


def test_estimate_reads_the_threshold_from_link_run(tmp_path):
    pop = [dict(person_id=f"P{i}", date_of_birth="1980-01-01") for i in range(1, 4)]
    v = [dict(record_id=f"r{i}", subject_id=f"s{i}", person=f"P{i}", dose_number=1) for i in range(1, 3)]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=2)]
    db = make_db(tmp_path / "e.duckdb", pop, v, SITES, tal)
    (tmp_path / "a").mkdir()
    # a stray link_summary.json beside the outputs is not read any more
    (tmp_path / "a" / "link_summary.json").write_text(json.dumps({"decision": {"threshold": 0.5}}))
    m0 = estimate_db(db, "40", "2021-08-01", "2021-08-31", tmp_path / "a", n_boot=20)
    assert any("no link_run table" in n for n in m0["method"]["notes"])
    con = duckdb.connect(str(db))
    write_link_run(con, new_link_run(threshold=0.77, prior=0.01, model={}, engine="duckdb", options={}))
    con.close()
    m1 = estimate_db(db, "40", "2021-08-01", "2021-08-31", tmp_path / "b", n_boot=20)
    assert m1["sensitivity"]["match_threshold"] == 0.77
    assert not any("no link_run table" in n for n in m1["method"]["notes"])
