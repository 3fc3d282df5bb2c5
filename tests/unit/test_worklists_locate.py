"""Finding a run's files, and refusing a run of another province or a stale one."""

from __future__ import annotations

import json

import pytest

from vaxstudy.report.manifest import sha256_file
from vaxstudy.worklists.locate import RunError, check_fresh, check_province, link_threshold, run_files, worklists_dir

NAME = "40_2021-03-08_2021-10-31"


@pytest.fixture()
def run(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "vaccinations.csv").write_text("record_id\nr1\n", encoding="utf-8")
    out = tmp_path / "out"
    shared = out / NAME
    shared.mkdir(parents=True)
    (shared / "metrics.json").write_text(json.dumps({"province_code": "40"}))
    (shared / "manifest.json").write_text(json.dumps({"inputs": {
        "data_dir": str(data), "sha256": {"vaccinations.csv": sha256_file(data / "vaccinations.csv")}}}))
    (shared / "link_summary.json").write_text(json.dumps({"decision": {"threshold": 0.7}}))
    (out / "restricted" / "work").mkdir(parents=True)
    (out / "restricted" / "work" / "40.duckdb").write_bytes(b"")
    return out, data


def test_run_files_from_either_folder(run):
    out, _ = run
    for d in (out / NAME, out / "restricted" / NAME):
        f = run_files(d)
        assert f.db == out / "restricted" / "work" / "40.duckdb"
        assert worklists_dir(f) == out / "restricted" / NAME / "worklists"
        assert link_threshold(f) == 0.7


def test_a_run_of_the_old_layout_is_refused_with_where_it_looked(run):
    out, _ = run
    (out / "restricted" / "work" / "40.duckdb").unlink()
    (out / ".work").mkdir()
    (out / ".work" / "40.duckdb").write_bytes(b"")  # the layout before restricted/: not read
    with pytest.raises(RunError, match=r"no working database .*restricted.*work.*40\.duckdb.*make the run"):
        run_files(out / NAME)
    with pytest.raises(RunError, match="no run 40_2021-03-08_2021-10-31 under"):
        run_files(out / "elsewhere" / NAME)


def test_other_province_refused(run):
    out, _ = run
    with pytest.raises(RunError, match="is a run of province 40, not 42"):
        check_province(run_files(out / NAME), "42")
    check_province(run_files(out / NAME), "40")


def test_stale_run_refused(run):
    out, data = run
    f = run_files(out / NAME)
    assert check_fresh(f, [("vaccinations.csv", sha256_file(data / "vaccinations.csv"))]) == []
    with pytest.raises(RunError, match="ingested from other data"):
        check_fresh(f, [("vaccinations.csv", "0" * 64)])
    (data / "vaccinations.csv").write_text("record_id\nr1\nr2\n", encoding="utf-8")
    with pytest.raises(RunError, match=r"stale: vaccinations.csv \(changed since the run\)"):
        check_fresh(f, [])


def test_not_a_run_folder(tmp_path):
    with pytest.raises(RunError, match="not a run folder"):
        run_files(tmp_path / "somewhere")


def test_threshold_from_the_databases_link_run_first(run, tmp_path):
    import duckdb

    from vaxstudy.link.run import new_link_run, write_link_run

    out, _ = run
    f = run_files(out / NAME)
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    try:
        assert link_threshold(f, con) == 0.7  # no link_run table: link_summary.json
        write_link_run(con, new_link_run(threshold=0.9, prior=1e-6, model={}, engine="duckdb", options={}))
        assert link_threshold(f, con) == 0.9
    finally:
        con.close()
