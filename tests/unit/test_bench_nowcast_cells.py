"""How the nowcast benchmark reads its cells: a count rate whose point is its truth to the count is
``exact`` (no valid interval can miss it, so it says nothing of the interval's calibration); the
coverages' upper ends are bounds, read by their lower end; everything else is ``calibrated``, and
the table gives its share inside apart."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture()
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_nowcast", BENCH / "bench_nowcast.py")
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_nowcast", mod)
    spec.loader.exec_module(mod)
    return mod


def _run(dup_est, dup_ci, dup_true, cov_ci=(0.40, 0.43), cov_true=0.42):
    """One extract of a province with one district: 1,000 records, and a corrected coverage."""
    block = {"n_records": 1000, "n_subjects": 900, "duplicate_dose_rate": dup_est,
             "duplicate_dose_rate_ci": list(dup_ci), "coverage_dose1": 0.41, "coverage_dose1_ci": list(cov_ci),
             "coverage_dose1_recorded": 0.40, "coverage_dose1_recorded_ci": [0.39, 0.45]}
    truth = {"duplicate_dose_rate": dup_true, "coverage_dose1": cov_true, "coverage_dose1_recorded": 0.44}
    return {"metrics": {**block, "by_district": {"401": dict(block)}},
            "truth": {**truth, "by_district": {"401": dict(truth)}}}


def test_a_point_within_half_a_count_of_its_truth_is_exact(bench):
    run = _run(0.0200003, (0.019, 0.021), 0.020)  # 20.0003 duplicate doses of 1,000; the truth 20
    assert bench.cell_class(run, "by_district", "401", "duplicate_dose_rate", 0.0200003, 0.020) == "exact"
    assert bench.cell_class(run, "province", "40", "duplicate_dose_rate", 0.0206, 0.020) == "calibrated"


def test_coverage_upper_ends_are_bounds_and_coverage_has_no_count_unit(bench):
    run = _run(0.02, (0.019, 0.021), 0.02)
    assert bench.cell_class(run, "province", "40", "coverage_dose1_recorded", 0.40, 0.40) == "bound"
    assert bench.count_total(run, "province", "40", "coverage_dose1") is None
    assert bench.cell_class(run, "province", "40", "coverage_dose1", 0.42, 0.42) == "upper bound"


def test_the_calibrated_share_leaves_out_exact_cells_and_bounds(bench):
    # duplicate doses: the point 20.6 of 1,000 rows for a truth of 20 (inside); corrected coverage
    # missed above (truth 0.44 over 0.43), its lower end held; recorded coverage inside
    res = [{"runs": [_run(0.0206, (0.019, 0.021), 0.020, cov_true=0.44)]}]
    rows = {line.split(" | ")[0].strip("|* "): line for line in bench.cell_table(res).splitlines()}
    # per breakdown: three cells over all figures, two inside; one calibrated cell, inside
    assert "| 3 | 0.667 |" in rows["province, all figures"]
    assert "| 2 | 0.500 |" in rows["province, all but recorded coverage (a bound)"]
    assert "| 1 | 1.000 |" in rows["province, record rates and late entries, point not the truth (calibrated)"]
    assert "| 1 | 0.000 |" in rows["province, corrected coverage (its upper end a bound)"]
    assert "| 1 | 0.000 |" in rows["province, corrected coverage, truth below the lower end (a 97.5% end)"]
    res = [{"runs": [_run(0.0206, (0.019, 0.021), 0.020, cov_true=0.395)]}]  # now below its lower end
    rows = {line.split(" | ")[0].strip("|* "): line for line in bench.cell_table(res).splitlines()}
    assert "| 1 | 1.000 |" in rows["province, corrected coverage, truth below the lower end (a 97.5% end)"]
    res = [{"runs": [_run(0.020, (0.019, 0.021), 0.020)]}]  # an exact point: no calibrated cell
    assert "calibrated" not in bench.cell_table(res)
    # the figure's own row: one exact cell, none other to count
    row = next(line for line in bench.cell_table(res).splitlines()
               if line.startswith("| province | duplicate_dose_rate |"))
    assert row.startswith("| province | duplicate_dose_rate | 1 | 1.000 | 0 / 0 | 1 |  |")
    res = [{"runs": [_run(0.020, (0.019, 0.021), 0.020, cov_true=0.44)]}]
    row = next(line for line in bench.cell_table(res).splitlines() if line.startswith("| province | coverage_dose1 |"))
    assert row.startswith("| province | coverage_dose1 | 1 | 0.000 | 0 / 1 | 0 | 0.000 |")
