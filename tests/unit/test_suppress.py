"""Small-cell suppression: primary and secondary, on hand-made tables."""

import numpy as np
import pandas as pd
import pytest

from vaxstudy.report.suppress import (
    primary_mask,
    secondary_1d,
    suppress_counts,
    suppress_rates,
    suppress_series,
)


def test_primary_hides_small_positive_counts_only():
    m = primary_mask([0, 1, 9, 10, 250, np.nan], threshold=10)
    assert m.tolist() == [False, True, True, False, False, False]


def test_primary_threshold_is_configurable_and_zero_optional():
    assert primary_mask([4, 5, 0], threshold=5).tolist() == [True, False, False]
    assert primary_mask([4, 5, 0], threshold=5, suppress_zero=True).tolist() == [True, False, True]


def test_secondary_hides_smallest_other_nonzero_cell():
    # 3 is hidden; 0 is no protection (a known zero), so 12 (smallest non-zero) goes too
    m = secondary_1d([40, 3, 0, 12, 100], [False, True, False, False, False])
    assert m.tolist() == [False, True, False, True, False]


def test_secondary_leaves_groups_with_two_hidden_cells_alone():
    m = secondary_1d([40, 3, 4, 12], [False, True, True, False])
    assert m.tolist() == [False, True, True, False]


def test_single_hidden_cell_cannot_be_recovered_from_column_total():
    df = pd.DataFrame({"district": list("abcd"), "n": [120, 7, 55, 300]})
    s = suppress_counts(df, ["n"], threshold=10)
    hidden = s.mask["n"]
    assert hidden.tolist() == [False, True, True, False]
    total = df["n"].sum()
    visible = s.values["n"].dropna().sum()
    # total - visible is shared by two cells: each stays unknown
    assert total - visible == 7 + 55
    assert s.values["n"].isna().sum() == 2
    assert s.n_primary == 1


def test_two_way_table_is_protected_along_rows_and_columns():
    df = pd.DataFrame(
        {"M": [50, 4, 80, 60], "F": [45, 70, 90, 65]}, index=["d1", "d2", "d3", "d4"]
    )
    s = suppress_counts(df, ["M", "F"], threshold=10, column_totals=True, row_totals=True)
    m = s.mask
    # no row or column is left with exactly one hidden cell
    assert all(m.loc[i].sum() != 1 for i in m.index)
    assert all(m[c].sum() != 1 for c in m.columns)
    assert m.loc["d2", "M"]  # the primary cell
    assert m.to_numpy().sum() >= 4


def test_groups_are_protected_separately():
    df = pd.DataFrame({"g": ["a", "a", "a", "b", "b"], "n": [5, 30, 40, 60, 70]})
    s = suppress_counts(df, ["n"], threshold=10, by="g")
    assert s.mask["n"].tolist() == [True, True, False, False, False]


def test_rates_on_small_denominators_or_implied_counts_are_hidden():
    df = pd.DataFrame(
        {
            "group": ["a", "b", "c", "d", "e"],
            "n": [8, 500, 400, 1000, 300],
            "cov": [0.5, 0.99, 0.6, 0.7, 0.5],
            "cov_ci": [[0.2, 0.8], [0.98, 1.0], [0.55, 0.65], [0.67, 0.73], [0.45, 0.55]],
        }
    )
    s = suppress_rates(df, ["cov"], "n", threshold=10)
    m = s.mask["cov"].tolist()
    assert m[0]  # n = 8
    assert m[1]  # 500 * 0.01 = 5 unvaccinated
    assert m == [True, True, False, False, False]  # two hidden: no secondary needed
    assert s.values["cov_ci"].iloc[0] is None
    assert np.isnan(s.values["cov"].iloc[1])
    assert s.values["cov_ci"].iloc[2] == [0.55, 0.65]


def test_one_hidden_rate_gets_a_complementary_rate():
    df = pd.DataFrame({"n": [8, 500, 400, 1000, 300], "cov": [0.5, 0.9, 0.6, 0.7, 0.5]})
    s = suppress_rates(df, ["cov"], "n", threshold=10)
    # implied numerators 4, 450, 240, 700, 150: the smallest visible one (150) is hidden too
    assert s.mask["cov"].tolist() == [True, False, False, False, True]


def test_one_hidden_rate_gets_a_complementary_rate():
    df = pd.DataFrame({"n": [8, 500, 400, 1000, 300], "cov": [0.5, 0.9, 0.6, 0.7, 0.5]})
    s = suppress_rates(df, ["cov"], "n", threshold=10)
    # implied numerators 4, 450, 240, 700, 150: the smallest visible one (150) is hidden too
    assert s.mask["cov"].tolist() == [True, False, False, False, True]


def test_series_with_published_total_gets_a_complementary_cell():
    m = suppress_series([0, 3, 200, 150, 40], threshold=10)
    assert m.tolist() == [False, True, False, False, True]
    m2 = suppress_series([0, 3, 200, 150, 40], threshold=10, total_published=False)
    assert m2.tolist() == [False, True, False, False, False]


@pytest.mark.parametrize("threshold", [5, 10, 20])
def test_no_visible_count_below_threshold(threshold):
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"a": rng.integers(0, 40, 30), "b": rng.integers(0, 40, 30)})
    s = suppress_counts(df, ["a", "b"], threshold=threshold, row_totals=True)
    for c in ["a", "b"]:
        shown = s.values[c].dropna()
        assert not ((shown > 0) & (shown < threshold)).any()
        assert s.mask[c].sum() != 1
