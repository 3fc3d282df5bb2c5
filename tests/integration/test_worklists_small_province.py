"""Worklists end to end on the small synthetic province: counts equal metrics.json's, the lines are
right by the simulation's truth, the workbooks read back, and re-running the pipeline on the
corrected copy brings the duplicate rates near zero without touching a true dose."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_worklists import dose_changes, make_run, truth_checks  # noqa: E402

FAST = dict(u_max_pairs=5e5, em_max_pairs=2e5, diagnostics=False)


# the first run is the session's linked small province (the same link settings as FAST):
# its group's worker has it built already
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("linked_small")]


@pytest.fixture(scope="module")
def loop(linked_small_province, tmp_path_factory):
    from vaxstudy.worklists import build_worklists
    from vaxstudy.worklists.apply import apply_corrections

    small_province, db, link_out, _ = linked_small_province
    base = tmp_path_factory.mktemp("worklists_small")
    run = make_run(small_province, base / "out", n_boot=20, linked=(db, link_out))
    wl = build_worklists(run, "40")
    res = apply_corrections(small_province, wl.corrections_file, base / "fixed", 0.99)
    run2 = make_run(base / "fixed", base / "out2", n_boot=20, model_path=run / "link_model.json", **FAST)
    return run, wl, res, run2, base


def test_written_under_the_restricted_folder(loop):
    run, wl, *_ = loop
    assert wl.out_dir == run.parent / "restricted" / run.name / "worklists"
    names = {p.name for p in wl.out_dir.iterdir()}
    assert {"README.md", "corrections.csv", "summary_40.xlsx"} <= names
    assert all(n.startswith("district_4") and n[9:12].isdigit() for n in names if n.startswith("district_"))
    assert "dữ liệu cá nhân" in (wl.out_dir / "README.md").read_text(encoding="utf-8")


def test_counts_reconcile_with_metrics(loop):
    run, wl, *_ = loop
    m = json.loads((run / "metrics.json").read_text())
    for name, from_metrics, from_lists in wl.reconciliation:
        assert from_metrics == pytest.approx(from_lists, abs=0.01), name
    assert wl.counts["worklist_merge_lines"] > 20 and wl.counts["worklist_dose_lines"] > 20
    assert wl.counts["n_records"] == m["n_records"]


def test_lines_right_by_the_truth(loop, small_province):
    from vaxstudy.worklists.corrections import read_corrections

    checks = truth_checks(small_province, read_corrections(loop[1].corrections_file))
    assert checks["delete_duplicate_dose"]["right"] >= 0.99
    assert checks["merge_subject"]["right"] >= 0.99


def test_district_workbook_reads_back(loop):
    from openpyxl import load_workbook

    wl = loop[1]
    d, path = max(wl.district_files.items(), key=lambda kv: kv[1].stat().st_size)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Hướng dẫn", "Trùng đối tượng", "Mũi tiêm nhập trùng", "Thiếu - sai định danh",
                             "Không có trong CSDL dân cư", "Liều chưa nhập"]
    ws = wb["Mũi tiêm nhập trùng"]
    assert ws.freeze_panes == "A4" and ws.cell(3, 1).value == "Mã mũi tiêm cần xoá"
    assert ws.column_dimensions["C"].width > 20
    if ws.max_row >= 4:
        assert ws.cell(4, 6).number_format == "DD/MM/YYYY"
    probs = [c.value for c in wb["Liều chưa nhập"]["I"][3:]]
    gaps = [c.value for c in wb["Liều chưa nhập"]["H"][3:]]
    assert gaps == sorted(gaps, reverse=True) and all(isinstance(p, (int, float)) and 0 <= p <= 1 for p in probs)


def test_corrected_copy_cleans_the_registry(loop, small_province):
    run, wl, res, run2, base = loop
    m1 = json.loads((run / "metrics.json").read_text())
    m2 = json.loads((run2 / "metrics.json").read_text())
    for r in ("duplicate_subject_rate", "duplicate_dose_rate"):
        assert m2[r] <= 0.1 * m1[r], r
    # every unlinked row here is truly outside the register: the corrections cannot (and must not)
    # link them; no row is unlinked by them either
    unl = [round(m["unlinked_record_rate"] * m["n_records"]) for m in (m1, m2)]
    assert unl[1] <= unl[0]
    doses = dose_changes(small_province, base / "fixed")
    assert doses["events_lost"] == 0 and doses["dose_fields_changed"] == 0
    assert doses["rows_deleted"] == res.applied["delete_duplicate_dose"] > 0
    # the corrections were applied to a copy: the original export still has every row
    assert len(pd.read_csv(small_province / "vaccinations.csv", usecols=["record_id"])) == m1["n_records"]
