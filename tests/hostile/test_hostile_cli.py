"""Hostile command-line arguments (issue 17): refused at the boundary with the option and the
value named, exit 2, and nothing written; unusable output folders without a traceback; a
province absent from the data; messages that hold square brackets."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import POP, PERIOD, SITES, run_cli

from vaxstudy.ingest import ingest

HOSTILE_PROVINCES = ["/some/dir/x", "../../etc", "40; DROP TABLE vaccinations", "99", "4O", "", "[spark]"]
PERIOD_ARG = f"{PERIOD[0]}:{PERIOD[1]}"


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """An ingested tiny province (province 40) with trivial links (each row its own person);
    built once for the module (the commands below only read it)."""
    from conftest import write_folder

    base = tmp_path_factory.mktemp("hostile_cli_db")
    path = base / "work" / "db.duckdb"
    ingest(write_folder(base / "data"), path)
    with duckdb.connect(str(path)) as con:
        con.execute("""CREATE TABLE record_links AS
            SELECT record_id, NULL::VARCHAR AS person_id, NULL::DOUBLE AS match_probability,
                   record_id AS person_key, false AS is_duplicate_dose FROM vaccinations""")
    return path


@pytest.mark.parametrize("value", HOSTILE_PROVINCES)
def test_hostile_province_is_refused_before_anything_is_written(folder, tmp_path, db, value):
    data = folder()
    before = _files(tmp_path)
    for cmd in (["report", "--data", data, "--province", value, "--period", PERIOD_ARG, "--out", tmp_path / "o1"],
                ["estimate", "--db", db, "--province", value, "--period", PERIOD_ARG, "--out", tmp_path / "o2"],
                ["synth", "--out", tmp_path / "o3", "--province", value, "--scale", "0.0001"],
                ["worklists", "--run", tmp_path, "--province", value, "--out", tmp_path / "o4"]):
        r = run_cli(*cmd)
        assert r.exit_code == 2, (cmd, r.output)
        assert "--province" in r.flat and (repr(value.strip()) in r.flat or "is not a GSO province code" in r.flat)
        assert "Traceback" not in r.output
    assert _files(tmp_path) == before  # no output folder, no database, no file outside --out
    assert not Path("/some/dir/x.duckdb").exists()


def test_province_codes_are_normalised_and_checked_against_the_gso_list():
    from vaxstudy import validate as v

    assert v.province(" 4") == "04" and v.province("40") == "40"
    with pytest.raises(v.ArgumentError, match="99 is not a GSO province code"):
        v.province("99")


@pytest.mark.parametrize("period, said", [
    ("2021-10-31:2021-03-08", "ends before it starts"),
    ("2021-03-08", "is not START:END"),
    ("2021-13-01:2021-12-31", "'2021-13-01' is not an ISO date"),
    ("a:b:c", "is not START:END"),
])
def test_bad_periods_are_refused(folder, tmp_path, db, period, said):
    r = run_cli("estimate", "--db", db, "--province", "40", "--period", period, "--out", tmp_path / "o")
    assert r.exit_code == 2 and said in r.flat and "--period" in r.flat
    r = run_cli("report", "--data", folder(), "--province", "40", "--period", period, "--out", tmp_path / "o")
    assert r.exit_code == 2 and said in r.flat
    assert not (tmp_path / "o").exists()


def test_out_that_is_a_file_is_refused_without_traceback(folder, tmp_path, db):
    f = tmp_path / "a_file"
    f.write_text("keep me")
    for cmd in (["report", "--data", folder(), "--province", "40", "--period", PERIOD_ARG, "--out", f],
                ["estimate", "--db", db, "--province", "40", "--period", PERIOD_ARG, "--out", f],
                ["link", "--db", db, "--out", f],
                ["synth", "--out", f, "--scale", "0.0001"],
                ["review", "sample", "--run", tmp_path, "--out", f],
                ["apply-corrections", "--data", folder(), "--corrections", f, "--out", f],
                ["report", "--data", folder(), "--province", "40", "--period", PERIOD_ARG, "--out", f / "sub"]):
        r = run_cli(*cmd)
        assert r.exit_code == 2, (cmd, r.output)
        assert "--out" in r.flat and "is a file" in r.flat and "Traceback" not in r.output
    assert f.read_text() == "keep me"


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs a read-only /sys")
def test_read_only_out_is_refused_without_traceback(folder, tmp_path, db):
    for out in ("/sys/vaxstudy-out", "/sys"):
        r = run_cli("estimate", "--db", db, "--province", "40", "--period", PERIOD_ARG, "--out", out)
        assert r.exit_code == 2, r.output
        assert f"{out}: cannot write there" in r.flat and "Traceback" not in r.output
    r = run_cli("ingest", "--data", folder(), "--db", "/sys/vaxstudy/db.duckdb")
    assert r.exit_code == 2 and "cannot write there" in r.flat


def test_data_folder_that_is_missing_or_a_file(tmp_path):
    r = run_cli("ingest", "--data", tmp_path / "nope", "--db", tmp_path / "db.duckdb")
    assert r.exit_code == 2 and "no such folder" in r.flat
    (tmp_path / "f.csv").write_text("x")
    r = run_cli("report", "--data", tmp_path / "f.csv", "--province", "40", "--period", PERIOD_ARG,
                "--out", tmp_path / "o")
    assert r.exit_code == 2 and "is a file; give the folder that holds the tables" in r.flat


# -- a province absent from the data ------------------------------------------------------------


def test_province_absent_from_the_data_stops_with_what_is_there(db, tmp_path):
    r = run_cli("estimate", "--db", db, "--province", "42", "--period", PERIOD_ARG, "--out", tmp_path / "o")
    assert r.exit_code == 1, r.output
    assert "province 42 (Hà Tĩnh) has no residents in population and no sites in sites" in r.flat
    assert "the register holds 40 (Nghệ An): 3 residents" in r.flat
    assert not (tmp_path / "o").exists()


def test_province_without_sites_warns(folder, tmp_path):
    db = tmp_path / "db.duckdb"
    ingest(folder(sites=[SITES[0], "S1,Trạm 1,42,436,18100", "S2,Trạm 2,42,436,18100"]), db)
    from vaxstudy.validate import EmptyScope, check_scope

    assert check_scope(db, "40") == ["province 40 (Nghệ An) has no sites in sites: "
                                     "the record and tally rates will be empty"]
    w = check_scope(db, "42")
    assert len(w) == 1 and w[0].startswith("province 42 (Hà Tĩnh) has no residents in population")
    with pytest.raises(EmptyScope):
        check_scope(db, "01")


def test_residents_without_a_province_code_count_through_their_district(folder, tmp_path):
    pop = [POP[0]] + [",".join(ln.split(",")[:4] + [""] + ln.split(",")[5:]) for ln in POP[1:]]
    db = tmp_path / "db.duckdb"
    ingest(folder(population=pop), db)
    from vaxstudy.validate import province_scope

    with duckdb.connect(str(db), read_only=True) as con:
        assert province_scope(con, "40") == (3, 2)


# -- messages ------------------------------------------------------------------------------------


def test_square_brackets_survive_in_messages(capsys):
    import typer

    from vaxstudy.engines import SPARK_INSTALL_HINT
    from vaxstudy.commands.output import fail, warn

    warn(f"the spark engine needs {SPARK_INSTALL_HINT}")
    with pytest.raises(typer.Exit) as e:
        fail("link", f"no pyspark: {SPARK_INSTALL_HINT} [/bold]")
    assert e.value.exit_code == 1
    err = capsys.readouterr().err
    assert "pip install 'vaxstudy[spark]'" in err and "[/bold]" in err
    assert err.count("vaxstudy[spark]") == 2


def test_standardize_with_no_valid_phone_does_not_crash(folder, tmp_path):
    from conftest import VAC

    pop = [POP[0]] + [",".join(ln.split(",")[:7]) + "," for ln in POP[1:]]  # no phone at all
    vac = [VAC[0]] + [ln.replace(",0912345678,", ",12,") for ln in VAC[1:]]  # none valid
    db = tmp_path / "db.duckdb"
    ingest(folder(population=pop, vaccinations=vac), db)
    r = run_cli("standardize", "--db", db)
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if "population_std" in ln)
    assert [c.strip() for c in line.split("│") if c.strip()][2:4] == ["3", "0"]


def test_number_formats_none_as_not_available():
    from vaxstudy.commands.output import number

    assert number(None) == "n/a" and number(float("nan"), ".3f") == "n/a" and number(1234) == "1,234"


@pytest.mark.parametrize("config, said", [
    ("out: {out_file}\nprovinces: [{{code: 40, data: {data}}}]\nperiods: ['{period}']\n",
     "out (in {cfg}): {out_file} is a file, not a folder"),
    ("provinces: [{{code: '../../etc', data: {data}}}]\nperiods: ['{period}']\n",
     "provinces.0.code: '../../etc' is not a province code"),
    ("provinces: [{{code: 40, data: {tmp}/nodata}}]\nperiods: ['{period}']\n",
     "provinces.40.data (in {cfg}): {tmp}/nodata: no such folder"),
])
def test_report_all_config_is_checked_before_anything_runs(folder, tmp_path, config, said):
    out_file = tmp_path / "a_file"
    out_file.write_text("x")
    cfg = tmp_path / "batch.yaml"
    fields = dict(out_file=out_file, data=folder(), period=PERIOD_ARG, tmp=tmp_path, cfg=cfg)
    cfg.write_text(config.format(**fields), encoding="utf-8")
    before = _files(tmp_path)
    r = run_cli("report-all", "--config", cfg)
    assert r.exit_code == 2, r.output
    assert said.format(**fields) in r.flat and "Traceback" not in r.output and "pydantic.dev" not in r.flat
    assert _files(tmp_path) == before


def test_a_data_file_or_another_file_is_never_taken_for_the_database(folder, tmp_path):
    data = folder()
    before = (data / "sites.csv").read_bytes()
    for cmd in (["ingest", "--data", data, "--db", data / "sites.csv"],
                ["standardize", "--db", data / "sites.csv"],
                ["link", "--db", data / "sites.csv", "--out", tmp_path / "o"]):
        r = run_cli(*cmd)
        assert r.exit_code == 2 and "is a .csv file, not a database" in r.flat, (cmd, r.output)
    (tmp_path / "notes.duckdb").write_text("my notes")
    r = run_cli("ingest", "--data", data, "--db", tmp_path / "notes.duckdb")
    assert r.exit_code == 2 and "exists and is not a DuckDB database" in r.flat
    assert (tmp_path / "notes.duckdb").read_text() == "my notes" and (data / "sites.csv").read_bytes() == before
    r = run_cli("ingest", "--data", data, "--db", tmp_path / "db.duckdb", "--quarantine", tmp_path / "q.csv")
    assert r.exit_code == 0 and (tmp_path / "q.csv").exists()


def test_report_for_a_province_absent_from_the_data_stops_after_ingest(folder, tmp_path):
    r = run_cli("report", "--data", folder(), "--province", "42", "--period", PERIOD_ARG, "--out", tmp_path / "o")
    assert r.exit_code == 1, r.output
    assert "province 42 (Hà Tĩnh) has no residents in population and no sites in sites" in r.flat
    assert "standardize" not in r.flat and "Traceback" not in r.output
