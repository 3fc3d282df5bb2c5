"""The missed-link bound (estimate/missed.py) on hand-made unlinked rows."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd

from vaxstudy.estimate import missed as ms


def _inp(cand):
    """One unlinked dose-2 row typed with birth year 1959 (61-62 at period end: 50-64), a local
    address; its best register candidate ``cand`` (person code, or None)."""
    rows = pd.DataFrame({"person_id": [np.nan], "person_key": ["U1"], "dose": [2], "site": [0],
                         "cand_person_id": pd.array([cand], dtype="Int64")})
    pop = pd.DataFrame({"person_id": [7, 8], "district_code": ["412", "413"], "sex": ["F", "M"],
                        "age_group": ["65+", "30-49"]})
    cells = pd.DataFrame({"district_code": ["412", "413", "other"]})
    sites = pd.DataFrame({"district_code": ["413"]})
    typed = pd.DataFrame({"province_code": ["40"], "district_code": ["413"], "sex": ["F"], "dob": [None],
                          "birth_year": [1959], "dob_precision": ["year"]}, index=rows.index)
    inp = SimpleNamespace(rows=rows, pop=pop, cells=cells, sites=sites, province="40",
                          period_end=date(2021, 10, 31))
    return inp, typed


GROUPS = {"province": ["40"], "district": ["412", "413"], "sex": ["M", "F"], "age_group": ["18-29", "30-49", "50-64", "65+"]}


def test_a_mistyped_birth_year_does_not_hide_a_missed_resident_from_their_group():
    """Typed 1959, the register says 1949 (65+): without its candidate the row counts only in
    50-64, and the 65+ upper end missed its truth by that one resident (scale 1.0, seed 15100)."""
    inp, typed = _inp(None)
    m = ms.missed_counts(inp, typed, GROUPS)
    assert m["age_group"][1].tolist() == [0, 0, 1, 0]
    inp, typed = _inp(7)  # best candidate: a 65+ woman of district 412
    m = ms.missed_counts(inp, typed, GROUPS)
    assert m["age_group"][1].tolist() == [0, 0, 1, 1]  # both readings, each group's bound
    assert m["district"][1].tolist() == [1, 1]
    assert m["sex"][1].tolist() == [0, 1]
    assert m["province"][1].tolist() == [1]  # one person, counted once in the province


def test_a_candidate_does_not_make_a_row_typed_in_another_province_local():
    inp, typed = _inp(8)
    typed["province_code"] = "01"
    m = ms.missed_counts(inp, typed, GROUPS)
    assert all(v.sum() == 0 for v in m.values())
