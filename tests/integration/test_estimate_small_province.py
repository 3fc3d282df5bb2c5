"""Estimates end to end on the small synthetic province, against its truth_summary.json.

The province is tiny (scale 0.003, ~5k rows), so the checks use tolerances this
scale supports; the calibration over 20 provinces and the 0.5-point accuracy
target at scale 0.1 are measured by benchmarks/bench_calibration.py.
"""

from __future__ import annotations

import json
import shutil

import pytest

# the linked province is shared with test_link_small_province: one worker builds it
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("linked_small")]

PERIOD = ("2021-03-08", "2021-10-31")
RECORD_RATES = ("duplicate_subject_rate", "duplicate_dose_rate", "unlinked_record_rate", "missing_entry_rate")


@pytest.fixture(scope="module")
def estimated(linked_small_province):
    """The estimate over the linked small province (its link run: conftest.py), beside the link outputs."""
    from vaxstudy.estimate import estimate_db

    small_province, db, out, _ = linked_small_province
    m = estimate_db(db, "40", *PERIOD, out, seed=1, n_boot=400)
    truth = json.loads((small_province / "truth_summary.json").read_text(encoding="utf-8"))
    return m, truth, db, out


def test_headline_figures_near_the_truth(estimated):
    m, truth, _, _ = estimated
    assert m["n_records"] == truth["n_records"] and m["n_subjects"] == truth["n_subjects"]
    assert abs(m["n_persons_est"] - truth["n_persons_est"]) <= 0.01 * truth["n_persons_est"]
    for r in RECORD_RATES:
        lo, hi = m[f"{r}_ci"]
        assert lo <= truth[r] <= hi, (r, m[r], m[f"{r}_ci"], truth[r])
        assert abs(m[r] - truth[r]) < 0.005, r
    for r in ("coverage_dose1_recorded", "coverage_dose2_recorded"):
        assert abs(m[r] - truth[r]) < 0.002, r
    for r in ("coverage_dose1", "coverage_dose2"):
        # corrected coverage: the tally correction must move the recorded share towards the truth
        assert abs(m[r] - truth[r]) < abs(m[f"{r}_recorded"] - truth[r]), r
        assert abs(m[r] - truth[r]) < 0.015, r
    assert m["linkage"]["link_f1"] > 0.98


def test_breakdowns_cover_the_truths_groups(estimated):
    m, truth, _, _ = estimated
    assert set(truth["by_district"]) <= set(m["by_district"])
    assert set(m["by_sex"]) == set(truth["by_sex"]) and set(m["by_age_group"]) == set(truth["by_age_group"])
    errs = [abs(m["by_district"][d]["coverage_dose1_recorded"] - v["coverage_dose1_recorded"])
            for d, v in truth["by_district"].items() if v["coverage_dose1_recorded"] is not None]
    assert max(errs) < 0.01


def test_deterministic_and_cli(estimated, tmp_path):
    from typer.testing import CliRunner

    from vaxstudy.cli import app

    m, _, db, out = estimated
    # the fixture's run is the first of the two: its folder holds link_summary.json (whose
    # threshold sets the sensitivity block and a note of the method), so this one's does too
    (tmp_path / "a").mkdir()
    shutil.copy(out / "link_summary.json", tmp_path / "a")
    args = ["estimate", "--db", str(db), "--province", "40", "--period", ":".join(PERIOD), "--n-boot", "400"]
    r1 = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert r1.exit_code == 0, r1.output
    a = (tmp_path / "a" / "metrics.json").read_bytes()
    # same inputs and seed as the fixture's run (the API's): the same bytes
    assert a == (out / "metrics.json").read_bytes()
    assert json.loads(a) == m
    assert (tmp_path / "a" / "data_quality" / "worst_sites.csv").exists()
    assert "coverage_dose1" in r1.output


def test_late_and_never_entered_split_near_the_truth(estimated):
    """The export is taken on the period's last day: the nowcast splits the missing entries."""
    m, truth, _, _ = estimated
    assert m["extract_date"] == truth["extract_date"] == PERIOD[1]
    for r in ("late_entry_rate", "never_entered_rate"):
        lo, hi = m[f"{r}_ci"]
        assert lo < m[r] < hi, r
        assert abs(m[r] - truth[r]) < 0.01, (r, m[r], truth[r])
    assert m["late_entry_rate"] > 0.002
    # the back-tested error is stated with the method, and the part of it the replicates draw
    nowcast = m["method"]["nowcast"]
    assert 0.0 < nowcast["backtest_error"] < 1.0
    assert 0.0 <= nowcast["backtest_model_error"] <= nowcast["backtest_error"]
    # the lag model alone is stated beside the combined figure (the tallies' weight on the young cohorts)
    assert nowcast["late_doses_lag_model"] > 0 and nowcast["late_doses"] > 0
    assert m["never_entered_rate"] == pytest.approx(m["missing_entry_rate"] - m["late_entry_rate"], abs=2e-6)
