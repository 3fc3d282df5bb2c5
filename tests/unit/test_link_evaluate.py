"""vaxstudy.evaluate on hand-made links and truth."""

from __future__ import annotations

import pandas as pd
import pytest

from vaxstudy.evaluate import evaluate


def test_evaluate_counts(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    truth = tmp_path / "truth"
    truth.mkdir()
    pd.DataFrame({
        "record_id": ["a", "b", "c", "d", "e", "f"],
        "true_person_id": ["P1", "P1", "P2", None, "P3", None],
        "true_person_key": ["k1", "k1", "k2", "k4", "k3", "k4"],
    }).to_csv(truth / "truth.csv", index=False)
    pd.DataFrame({
        "record_id": ["a", "b", "c", "d", "e", "f"],
        "dose_number": [1, 1, 1, 1, 1, 2],
    }).to_csv(truth / "vaccinations.csv", index=False)
    pd.DataFrame({
        "record_id": ["a", "b", "c", "d", "e", "f"],
        "person_id": ["P1", "P1", "P3", None, None, None],   # c wrong, e missed
        "match_probability": [0.99, 0.99, 0.7, None, None, None],
        "person_key": ["P1", "P1", "P3", "Ud", "Ue", "Ud"],
        "is_duplicate_dose": [False, True, False, False, False, False],
    }).to_parquet(out / "record_links.parquet")
    ev = evaluate(out, truth)
    assert ev["link_precision"] == pytest.approx(2 / 3)
    assert ev["link_recall"] == pytest.approx(2 / 4)
    assert ev["link_accuracy"] == pytest.approx(4 / 6)  # a, b, d, f
    assert ev["dup_precision"] == 1.0 and ev["dup_recall"] == 1.0
    assert ev["n_persons_est"] == 4 and ev["n_persons_true"] == 4
    assert (out / "evaluation.json").exists()
    cal = {c["band"]: c for c in ev["calibration"]}
    assert cal["0.99-0.999"] == {"band": "0.99-0.999", "n_links": 2, "wrong": 0, "expected_wrong": 0.02, "ratio": 0.0}
    assert cal["0-0.9"]["n_links"] == 1 and cal["0-0.9"]["wrong"] == 1  # c, linked to the wrong person
    assert cal["0-0.9"]["expected_wrong"] == pytest.approx(0.3)


def test_evaluate_needs_links(tmp_path):
    with pytest.raises(FileNotFoundError):
        evaluate(tmp_path, tmp_path)


def test_candidate_calibration_counts_the_unlinked_rows_best_candidates(tmp_path):
    """Unlinked rows d, e, f carry best candidates: e's is its true person (p 0.3), d's and
    f's are not (d is outside the register); the linked rows a, c are left out."""
    out, truth = tmp_path / "out", tmp_path / "truth"
    out.mkdir()
    truth.mkdir()
    ids = ["a", "c", "d", "e", "f"]
    pd.DataFrame({"record_id": ids, "true_person_id": ["P1", "P2", None, "P3", "P4"],
                  "true_person_key": ["k1", "k2", "k4", "k3", "k5"]}).to_csv(truth / "truth.csv", index=False)
    pd.DataFrame({"record_id": ids, "dose_number": 1}).to_csv(truth / "vaccinations.csv", index=False)
    pd.DataFrame({
        "record_id": ids, "person_id": ["P1", "P2", None, None, None],
        "match_probability": [0.99, 0.9, None, None, None], "person_key": ["P1", "P2", "Ud", "Ue", "Uf"],
        "is_duplicate_dose": False, "best_person_id": ["P1", "P2", "P9", "P3", "P8"],
        "best_match_probability": [0.99, 0.9, 0.02, 0.3, 0.1],
    }).to_parquet(out / "record_links.parquet")
    cc = evaluate(out, truth, write=False)["candidate_calibration"]
    assert cc["n_rows"] == 3 and cc["n_best_is_true"] == 1
    assert cc["expected_best_is_true"] == pytest.approx(0.42)
    bands = {b["band"]: b for b in cc["bands"]}
    assert bands["0-0.05"]["wrong"] == 1 and bands["0.3-0.4"] == {
        "band": "0.3-0.4", "n_links": 1, "wrong": 0, "expected_wrong": 0.7, "ratio": 0.0}
