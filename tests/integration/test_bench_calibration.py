"""The calibration benchmark runs end to end at a tiny scale (the real table is a benchmark:
benchmarks/bench_calibration.py; docs/estimation.md quotes it). This keeps the script working:
two provinces, every headline figure with its truth, interval and the linkage-only interval.
The link trains on small samples (most of the run's time at the default ones): the script's
path is the same, and nothing here asserts the link's accuracy."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_calibration_benchmark_tiny(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_calibration", BENCH / "bench_calibration.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_calibration"] = bench
    spec.loader.exec_module(bench)
    rc = bench.main(["--n", "2", "--scale", "0.002", "--accuracy-scale", "0", "--n-boot", "50",
                     "--u-max-pairs", "1e5", "--em-max-pairs", "3e4", "--first-seed", "31",
                     "--work", str(tmp_path), "--no-keep"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "machine:" in out and "in link-only CI" in out
    for figure in bench.HEADLINE:
        assert figure in out
    runs = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("s0.002_seed*.json"))]
    assert len(runs) == 2
    for r in runs:
        for figure, v in r["rates"].items():
            assert v["truth"] is not None and v["ci"] is not None, figure
            assert v["ci"][0] <= v["estimate"] <= v["ci"][1], figure
        # the recorded coverages have a linkage-only interval; the corrected ones do not
        assert r["rates"]["coverage_dose1_recorded"]["ci_linkage"] is not None
        assert r["rates"]["coverage_dose1"]["ci_linkage"] is None
