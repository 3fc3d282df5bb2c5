"""synth.snapshots: successive exports cut by entered_date, each the previous one with rows appended."""

from __future__ import annotations

import pandas as pd
import pytest

from vaxstudy.synth.snapshots import snapshots


def test_each_export_is_the_previous_with_rows_appended(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    vac = pd.DataFrame({"record_id": ["a", "b", "c", "d", "e"],
                        "entered_date": ["2021-10-05", "2021-10-01", "", "2021-10-09", "2021-10-02"]})
    vac.to_csv(src / "vaccinations.csv", index=False)
    pd.DataFrame({"record_id": list("abcde"), "true_person_id": list("12345")}).to_csv(src / "truth.csv", index=False)
    (src / "population.csv").write_text("person_id\n1\n")
    one, two = snapshots(src, tmp_path / "out", ["2021-10-09", "2021-10-03"])  # dates in any order
    assert one.name == "export_2021-10-03" and two.name == "export_2021-10-09"
    a = pd.read_csv(one / "vaccinations.csv", dtype=str)
    b = pd.read_csv(two / "vaccinations.csv", dtype=str)
    assert list(a["record_id"]) == ["b", "e"]  # entered by the 3rd, in the source's order
    assert list(b["record_id"]) == ["b", "e", "a", "d"]  # then the later ones appended; no date: never
    assert list(pd.read_csv(one / "truth.csv", dtype=str)["record_id"]) == ["b", "e"]
    assert (two / "population.csv").read_text() == "person_id\n1\n"


def test_an_export_without_entry_dates_cannot_be_cut(tmp_path):
    pd.DataFrame({"record_id": ["a"]}).to_csv(tmp_path / "vaccinations.csv", index=False)
    with pytest.raises(ValueError, match="entered_date"):
        snapshots(tmp_path, tmp_path / "out", ["2021-10-01"])
