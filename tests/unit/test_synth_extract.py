"""`synth --extract-date`: the export as it stood on a day after the period, and the truth of
the late / never-entered split."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from vaxstudy.synth import generate, truth_summary

PERIOD = ("2021-08-01", "2021-10-31")


@pytest.fixture(scope="module")
def later(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_extract")
    return generate(out, scale=0.001, seed=11, period=PERIOD, extract_date="2021-11-07", tally_error_rate=0.0)


def test_export_holds_rows_entered_up_to_the_extract_date(later):
    vac = pd.read_csv(later / "vaccinations.csv", dtype=str, keep_default_na=False)
    entered = vac.loc[vac["entered_date"] != "", "entered_date"]
    assert PERIOD[1] < entered.max() <= "2021-11-07"
    assert vac["vaccination_date"].max() <= PERIOD[1]  # no dose after the period
    s = json.loads((later / "truth_summary.json").read_text(encoding="utf-8"))
    assert s["extract_date"] == "2021-11-07"


def test_late_and_never_entered_truth(later):
    doses = pd.read_parquet(later / "truth_doses.parquet")
    sites = pd.read_csv(later / "sites.csv", dtype=str)
    scope = doses[(doses["vaccination_date"] >= PERIOD[0]) & (doses["vaccination_date"] <= PERIOD[1])
                  & doses["site_id"].isin(sites.loc[sites["province_code"] == "40", "site_id"])]
    s = json.loads((later / "truth_summary.json").read_text(encoding="utf-8"))
    # exact tallies: what is neither entered nor late is exactly the doses never entered
    assert s["never_entered_rate"] == pytest.approx(scope["never_entered"].sum() / len(scope), abs=1e-12)
    assert s["missing_entry_rate"] == pytest.approx(s["late_entry_rate"] + s["never_entered_rate"], abs=1e-12)
    assert s["late_entry_rate"] > 0
    # the same folder read as the export of the period's last day: more doses still to come
    early = truth_summary(later, "40", *PERIOD, extract_date=PERIOD[1])
    assert early["late_entry_rate"] > s["late_entry_rate"]
    assert early["never_entered_rate"] == pytest.approx(s["never_entered_rate"], abs=1e-12)
    assert early["n_records"] < s["n_records"]
    d = next(iter(s["by_district"].values()))
    assert {"late_entry_rate", "never_entered_rate"} <= set(d)
