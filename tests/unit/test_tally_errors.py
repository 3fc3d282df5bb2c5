"""The tally error model on hand-made site-days: the under-counts hidden behind missing entries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vaxstudy.estimate import tally_errors as te


def _days(*groups):
    """(n days, tally, entered) groups of one site -> the site_days frame."""
    t = np.concatenate([np.full(n, tt, dtype=float) for n, tt, _ in groups])
    e = np.concatenate([np.full(n, ee, dtype=float) for n, _, ee in groups])
    return pd.DataFrame({"site": np.zeros(len(t), dtype=np.int64), "t": t, "e": e})


def test_under_counts_hidden_behind_missing_entries_are_counted():
    """Errors of size 1 only. 10 full days (2 of them tallied 9 for 10 entered: visible) and 10
    days lacking 5 entries, where an under-count of 1 hides. Only half the tallies can show one,
    so the 2 visible stand for 4 under-counts (0.2 per tally), and as many over-counts: 4 doses
    (before: 2, one per visible under-count). The 2 hidden under-counts are unseen doses of the
    days lacking entries; the net error the doses never entered hold, 4 - 2 - 2 = 0."""
    d = _days((8, 10, 10), (2, 9, 10), (10, 10, 5))
    m = te.fit(d["t"], d["e"])
    assert m.rate == pytest.approx(0.2) and m.sizes.tolist() == [1.0] and m.n_visible == 2
    over, over2, unseen, unseen2 = te.site_errors(m, d, 1)[:, 0]
    assert (over, over2, unseen, unseen2) == (pytest.approx(4.0), pytest.approx(4.0), pytest.approx(2.0),
                                              pytest.approx(2.0))
    # one size: the number's variance is that of a count read from 2 visible ones, 4^2 / 2
    assert m.cov == pytest.approx(np.array([[8.0]]))
    assert te.net_weights(m, d, 1) == pytest.approx(np.array([[(20 - 10) / 20]]))  # net 0.5 x 4 = 4 - 2


def test_sizes_undo_the_selection_by_missing_entries():
    """Sizes 1 and 2 alike. 10 full days (4 show an excess of 1, 2 an excess of 2) and 10 days
    lacking 1 entry, where a size 1 hides and a size 2 shows 1. Of the 4 excesses of 1, 2 are
    sizes 2 on the days lacking one: 4 errors of each size (rate 8 / 20), mean size 1.5 (the
    visible excesses' mean is 8 / 6). Over-counts 12 doses (mean square 2.5: 20), the under-counts'
    unseen part 4 (one dose behind each day lacking one), so the visible 8 leave a net of 0."""
    d = _days((4, 9, 10), (2, 8, 10), (4, 10, 10), (10, 10, 9))
    m = te.fit(d["t"], d["e"])
    assert m.rate == pytest.approx(0.4)
    assert m.sizes == pytest.approx([0.5, 0.5])
    assert m.moments == (pytest.approx(1.5), pytest.approx(2.5))
    assert te.site_errors(m, d, 1)[:, 0] == pytest.approx([12.0, 20.0, 4.0, 4.0])
    # the inverse Fisher information of the visible counts (4 and 2, means A theta): the sizes'
    # split is uncertain too, not the number alone (which would give 8^2 / 6 in all, spread alike)
    assert m.cov == pytest.approx(np.array([[24.0, -8.0], [-8.0, 8.0]]))
    w = te.net_weights(m, d, 1)[0]  # (20 j - 10 min(j, 1)) / 20 per size j
    assert w == pytest.approx([0.5, 1.5]) and w @ m.sizes * 8 == pytest.approx(12.0 - 4.0)


def test_a_count_cannot_go_below_zero():
    """A day of 1 dose shows any under-count as an excess of 1 (its tally 0); a full day of 5 shows
    size j as j."""
    A = te.visibility(np.array([0.0, 5.0]), np.array([1.0, 5.0]), 3)
    assert A.tolist() == [[1.0, 0.5, 0.5], [0.0, 0.5, 0.0], [0.0, 0.0, 0.5]]


def test_site_days_keep_tallies_without_entries_and_drop_entries_without_tallies():
    ek = pd.DataFrame({"site": [0, 0, 1], "vdate": ["a", "a", "b"]})
    tk = pd.DataFrame({"site": [0, 0], "vdate": ["a", "c"], "doses": [1, 4]})
    d = te.site_days(ek, tk)
    assert d[["site", "t", "e"]].values.tolist() == [[0, 1.0, 2.0], [0, 4.0, 0.0]]


def test_no_visible_under_count_no_error():
    d = _days((3, 4, 2))
    m = te.fit(d["t"], d["e"])
    assert m.rate == 0.0 and not te.site_errors(m, d, 2).any()
