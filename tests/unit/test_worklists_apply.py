"""corrections.csv and apply-corrections on a hand-made export: what changes, what is refused."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from vaxstudy.cli import app
from vaxstudy.report.manifest import sha256_file
from vaxstudy.worklists.apply import apply_corrections
from vaxstudy.worklists.corrections import COLUMNS, CorrectionsError, read_corrections, write_corrections

VAX = pd.DataFrame({
    "record_id": ["r1", "r2", "r3", "r4", "r5"],
    "subject_id": ["A1", "A2", "B1", "B1", "C1"],
    "full_name": ["Nguyen Van An", "Nguyễn Văn An", "Lê Thị Hoa", "Lê Thị Hoa", "Trần Bình"],
    "date_of_birth": ["02/01/1980", "01/01/1980", "1975", "1975", "03/03/1990"],
    "sex": ["", "Nam", "Nữ", "Nữ", "Nam"],
    "id_number": ["", "040080000001", "", "", "040090000005"],
    "vaccination_date": ["2021-08-01", "2021-09-01", "2021-08-02", "2021-08-02", "2021-08-03"],
    "dose_number": ["1", "2", "1", "1", "1"],
    "site_id": ["S1"] * 5,
})


def line(action, record_id="", subject_id="", field="", current="", proposed="", target="", p="1"):
    return dict(zip(COLUMNS, (action, record_id, subject_id, field, current, proposed, target, p)))


GOOD = [
    line("merge_subject", subject_id="A1", target="A2", p="0.995"),
    line("delete_duplicate_dose", "r4", "B1", target="r3"),
    line("set_field", "r3", "B1", "date_of_birth", "1975", "1975-06-30", p="0.999"),
    line("set_field", "r1", "A1", "sex", "", "M", p="0.5"),  # below 0.99: left alone
    line("check_residence", "r5", "C1", p="0.9"),
    line("enter_missing_doses", field="2021-08-01", current="1", proposed="2", target="S1"),
]


@pytest.fixture()
def export(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    VAX.to_csv(d / "vaccinations.csv", index=False)
    (d / "sites.csv").write_text("site_id\nS1\n", encoding="utf-8")
    return d


def _corr(tmp_path, lines, name="corrections.csv"):
    return write_corrections(pd.DataFrame(lines, columns=list(COLUMNS)), tmp_path / name)


def test_apply_writes_a_corrected_copy_and_leaves_the_original(tmp_path, export):
    before = sha256_file(export / "vaccinations.csv")
    res = apply_corrections(export, _corr(tmp_path, GOOD), tmp_path / "fixed", 0.99)
    assert sha256_file(export / "vaccinations.csv") == before
    out = pd.read_csv(tmp_path / "fixed" / "vaccinations.csv", dtype=str, keep_default_na=False)
    assert list(out["record_id"]) == ["r1", "r2", "r3", "r5"]  # r4 deleted
    r1 = out.set_index("record_id").loc["r1"]
    # merged into A2: the row takes the kept profile's person fields
    assert (r1["subject_id"], r1["full_name"], r1["id_number"], r1["sex"]) == ("A2", "Nguyễn Văn An",
                                                                              "040080000001", "Nam")
    assert out.set_index("record_id").loc["r3", "date_of_birth"] == "1975-06-30"
    assert (tmp_path / "fixed" / "sites.csv").exists()
    assert res.applied == {"set_field": 1, "merge_subject": 1, "delete_duplicate_dose": 1}
    assert res.below_threshold["set_field"] == 1
    assert res.not_applicable == {"check_residence": 1, "enter_missing_doses": 1}


def test_sex_written_in_the_columns_style(tmp_path, export):
    apply_corrections(export, _corr(tmp_path, [line("set_field", "r1", "A1", "sex", "", "M")]), tmp_path / "f")
    out = pd.read_csv(tmp_path / "f" / "vaccinations.csv", dtype=str, keep_default_na=False)
    assert out.loc[0, "sex"] == "Nam"


@pytest.mark.parametrize("out", ["data", "data/fixed"])
def test_refuses_out_equal_to_or_inside_data(tmp_path, export, out):
    with pytest.raises(CorrectionsError, match="inside"):
        apply_corrections(export, _corr(tmp_path, GOOD), tmp_path / out)


@pytest.mark.parametrize("bad, match", [
    (line("delete_duplicate_dose", "r99", target="r3"), "unknown delete_duplicate_dose record_id"),
    (line("merge_subject", subject_id="A1", target="Z9"), "unknown merge_subject subject_id"),
    (line("set_field", "r3", "B1", "date_of_birth", "1976", "1975-06-30"), "current value is not the export"),
])
def test_refuses_unknown_ids_and_stale_values(tmp_path, export, bad, match):
    with pytest.raises(CorrectionsError, match=match):
        apply_corrections(export, _corr(tmp_path, [bad]), tmp_path / "fixed")
    assert not (tmp_path / "fixed").exists()


@pytest.mark.parametrize("bad, match", [
    (line("rename_everything", "r1"), "unknown action"),
    (line("set_field", "r1", "A1", "vaccine", "", "x"), "unknown field"),
    (line("set_field", "r1", "A1", "sex", "", "M", p="1.5"), "probability"),
])
def test_read_corrections_refuses_bad_lines(tmp_path, bad, match):
    with pytest.raises(CorrectionsError, match=match):
        read_corrections(_corr(tmp_path, [bad]))


def test_refuses_corrections_made_from_another_export(tmp_path, export):
    corr = _corr(tmp_path, GOOD)
    (tmp_path / "corrections_source.json").write_text(json.dumps(
        {"run": "42_2021-03-08_2021-10-31", "province": "42", "ingest_sha256": {"vaccinations.csv": "0" * 64}}))
    with pytest.raises(CorrectionsError, match="another province's export, or one changed since"):
        apply_corrections(export, corr, tmp_path / "fixed")


def test_cli_refuses_with_a_clear_message(tmp_path, export):
    corr = _corr(tmp_path, [line("rename_everything", "r1")])
    r = CliRunner().invoke(app, ["apply-corrections", "--data", str(export), "--corrections", str(corr),
                                 "--out", str(tmp_path / "fixed")])
    assert r.exit_code == 1 and "unknown action" in r.output


def test_parquet_export_round_trip(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    VAX.to_parquet(d / "vaccinations.parquet", index=False)
    apply_corrections(d, _corr(tmp_path, GOOD), tmp_path / "fixed")
    out = pd.read_parquet(tmp_path / "fixed" / "vaccinations.parquet")
    assert list(out["record_id"]) == ["r1", "r2", "r3", "r5"]


def test_cli_worklists_refuses_another_provinces_run(tmp_path):
    run = tmp_path / "out" / "40_2021-03-08_2021-10-31"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text('{"province_code": "40"}')
    (run / "manifest.json").write_text("{}")
    (tmp_path / "out" / "restricted" / "work").mkdir(parents=True)
    (tmp_path / "out" / "restricted" / "work" / "40.duckdb").write_bytes(b"")
    r = CliRunner().invoke(app, ["worklists", "--run", str(run), "--province", "42"])
    assert r.exit_code == 1 and "is a run of province 40, not 42" in r.output
    r = CliRunner().invoke(app, ["worklists", "--run", str(run), "--province", "4x"])
    assert r.exit_code == 2


def test_xlsx_export_with_a_title_row_and_renamed_columns(tmp_path):
    from openpyxl import Workbook, load_workbook

    d = tmp_path / "data"
    d.mkdir()
    wb = Workbook()
    ws = wb.active
    ws.append(["Danh sách tiêm chủng tỉnh 40"])  # a title row above the header
    ws.append(["Ma mui", *VAX.columns[1:]])
    for row in VAX.itertuples(index=False):
        ws.append(list(row))
    wb.save(d / "vaccinations.xlsx")
    (d / "columns.yaml").write_text("vaccinations:\n  columns:\n    Ma mui: record_id\n", encoding="utf-8")
    apply_corrections(d, _corr(tmp_path, GOOD), tmp_path / "fixed")
    out = load_workbook(tmp_path / "fixed" / "vaccinations.xlsx").active
    rows = list(out.iter_rows(values_only=True))
    assert rows[0][0] == "Danh sách tiêm chủng tỉnh 40" and rows[1][0] == "Ma mui"
    assert [r[0] for r in rows[2:]] == ["r1", "r2", "r3", "r5"]
    assert rows[2][1] == "A2"  # r1 merged into A2


def test_windows_1258_export_with_decomposed_tones(tmp_path):
    """A cp1258 file spells tones as combining marks; the corrections (from the database) hold
    them composed: the same value, not a stale one. The copy keeps the file's encoding."""
    d = tmp_path / "data"
    d.mkdir()
    from vaxstudy.worklists.apply import cp1258_form

    VAX.map(cp1258_form).to_csv(d / "vaccinations.csv", index=False, encoding="cp1258")
    name = "Lê Thị Hoa"  # composed, as the database holds it
    lines = [line("set_field", "r3", "B1", "full_name", name, "Lê Thị Hoà")]
    apply_corrections(d, _corr(tmp_path, lines), tmp_path / "fixed")
    raw = (tmp_path / "fixed" / "vaccinations.csv").read_bytes()
    out = pd.read_csv(tmp_path / "fixed" / "vaccinations.csv", dtype=str, keep_default_na=False, encoding="cp1258")
    import unicodedata

    assert unicodedata.normalize("NFC", out.loc[2, "full_name"]) == "Lê Thị Hoà"
    assert unicodedata.normalize("NFC", out.loc[1, "full_name"]) == "Nguyễn Văn An"  # untouched row
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    from vaxstudy.ingest import detect_encoding

    assert detect_encoding(tmp_path / "fixed" / "vaccinations.csv") == "cp1258"  # ingest reads it back
