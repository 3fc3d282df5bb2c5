"""The one linkage-accuracy rule (vaxstudy evaluate and the estimate's linkage block)."""

from __future__ import annotations

import pandas as pd
import pytest

from vaxstudy.accuracy import linkage_accuracy, true_duplicates


def _rows(*rows):
    cols = ["record_id", "person_id", "is_duplicate_dose", "true_person_id", "true_person_key", "dose_number", "row"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows])


ROWS = _rows(
    ("r1", "P1", False, "P1", "k1", 1, 1),   # right link
    ("r2", "P2", False, "P1", "k1", 2, 2),   # wrong person
    ("r3", None, False, None, "k9", 1, 3),   # rightly unlinked (not in the register)
    ("r4", None, True, "P3", None, 1, 5),    # missed link; a repeat of r5 (earlier in entry order)
    ("r5", "P3", False, "P3", None, 1, 4),   # right link
    ("r6", "P1", True, "P1", "k1", 1, 6),    # flagged: repeats r1
    ("r7", None, False, None, None, 1, 7),   # no truth at all: its own person
)


def test_true_duplicates_follow_the_entry_order_and_fall_back_to_the_register_id():
    assert true_duplicates(ROWS).tolist() == [False, False, False, True, False, True, False]


def test_rows_in_entry_order_give_the_same_true_duplicates_by_their_codes():
    """The fast path (rows already in entry order: the estimate's) against the sort and group-by:
    ROWS in entry order, with repeats by key, by true id, by record; a dose missing or a tie in
    ``row`` takes the group-by (a missing dose is never a repeat)."""
    from vaxstudy import accuracy as acc

    ordered = ROWS.sort_values("row", ignore_index=True)
    want = [False, False, False, False, True, True, False]  # r4 (row 5) repeats r5 (row 4); r6 repeats r1
    assert acc._in_entry_order(ordered) and not acc._in_entry_order(ROWS)
    assert true_duplicates(ordered).tolist() == want
    more = pd.concat([ordered, _rows(("r8", "P1", True, "P1", "k1", 1, 8), ("r9", None, False, None, None, 1, 9),
                                     ("r10", None, False, "P3", None, 2, 10))], ignore_index=True)
    fast = true_duplicates(more).tolist()
    assert fast == want + [True, False, False]  # r8 repeats r1's (k1, 1); r9 is its own person
    tie = more.assign(row=[*more["row"][:-1], 9])  # r10 ties with r9: the sorted path
    assert not acc._in_entry_order(tie) and true_duplicates(tie).tolist() == fast
    nodose = more.assign(dose_number=[*more["dose_number"][:-1], None])
    assert true_duplicates(nodose).tolist() == want + [True, False, False]


def test_link_and_duplicate_figures():
    acc = linkage_accuracy(ROWS)
    assert (acc["n_links_predicted"], acc["n_links_true"]) == (4, 5)
    assert acc["link_precision"] == pytest.approx(3 / 4) and acc["link_recall"] == pytest.approx(3 / 5)
    assert acc["link_accuracy"] == pytest.approx(5 / 7)  # r1, r5, r6 right; r3, r7 rightly unlinked
    assert (acc["dup_precision"], acc["dup_recall"], acc["dup_f1"]) == (1.0, 1.0, 1.0)


def test_scope_limits_the_figures_not_the_duplicates():
    acc = linkage_accuracy(ROWS, scope=(ROWS["record_id"] == "r4").to_numpy())
    assert acc["n_records"] == 1 and acc["n_dup_true"] == 1 and acc["dup_precision"] == 1.0
    assert acc["link_precision"] is None and acc["link_recall"] == 0.0 and acc["link_f1"] is None


def test_calibration_bands_count_wrong_links_against_the_sum_of_one_minus_p():
    import numpy as np

    from vaxstudy.accuracy import calibration_bands

    p = np.array([0.6, 0.95, 0.95, 0.995, 0.999995, 1.0])
    wrong = np.array([True, True, True, False, False, False])
    cal = {c["band"]: c for c in calibration_bands(p, wrong)}
    assert cal["0.9-0.99"]["wrong"] == 2 and cal["0.9-0.99"]["expected_wrong"] == pytest.approx(0.1)
    assert cal["0.9-0.99"]["ratio"] == pytest.approx(20.0)  # overconfident: 2 wrong where 0.1 expected
    assert cal[">=0.99999"]["n_links"] == 2 and cal[">=0.99999"]["ratio"] == 0.0
    assert sum(c["n_links"] for c in cal.values()) == len(p)
