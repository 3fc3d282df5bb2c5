"""The district scorecard: thresholds from the versioned file, small counts hidden, verdicts."""

import pandas as pd
import pytest

from vaxstudy.report import scorecard as S


def _audit(run, table, check, rows):
    (run / "data_quality").mkdir(exist_ok=True)
    path = run / "data_quality" / f"{table}.parquet"
    old = pd.read_parquet(path) if path.exists() else None
    new = pd.DataFrame([{"domain": table, "check": check, "unit_type": "district", "unit_id": d, "district_code": d,
                         "numerator": n, "denominator": den, "value": n / den} for d, n, den in rows])
    pd.concat([old, new]).to_parquet(path) if old is not None else new.to_parquet(path)


def test_thresholds_file_is_versioned_and_every_default_cites_a_source():
    card = S.load_scorecard()
    assert card.version >= 1
    keys = {i.key for i in card.indicators}
    assert {"completeness_id", "timeliness_7d", "verification_factor", "dropout", "outlier_days",
            "invalid_share", "duplicate_dose_rate", "unlinked_record_rate"} <= keys
    assert all(len(i.source) > 20 for i in card.indicators)
    with pytest.raises(ValueError, match="low and high"):
        S.Indicator(key="x", direction="range", threshold=1, source="s")


def test_values_hidden_on_small_counts_and_judged_against_thresholds(tmp_path):
    _audit(tmp_path, "completeness", "empty:id_number", [("412", 50, 1000), ("413", 3, 400), ("414", 200, 1000)])
    _audit(tmp_path, "consistency", "verification_factor", [("412", 950, 1000), ("413", 300, 400), ("414", 9, 8)])
    metrics = {"by_district": {d: {"n_records": 1000, "duplicate_dose_rate": 0.01} for d in ("412", "413", "414")}}
    vals, hidden = S.indicator_frame(tmp_path, metrics, threshold=10)
    assert vals.loc["412", "completeness_id"] == pytest.approx(0.95)
    assert bool(hidden.loc["413", "completeness_id"])  # 3 empty IDs: a count below 10
    assert bool(hidden.loc["414", "verification_factor"])  # 9 entered against 8 tallied
    ok = S.verdicts(vals, hidden, S.load_scorecard())
    assert ok.loc["412", "completeness_id"] is True and ok.loc["414", "completeness_id"] is False
    assert ok.loc["413", "verification_factor"] is False  # 0.75, outside 0.9-1.1
    assert ok.loc["413", "completeness_id"] is None and ok.loc["412", "duplicate_dose_rate"] is True
