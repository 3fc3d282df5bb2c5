"""The estimate's per-row group-bys done by sorting numpy arrays (or by the engine) give what
the pandas group-bys they replace gave: each compared with the pandas form on small hand-made
tables, including ties, groups in several districts and rows out of entry order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _pandas_subject_table(scope: pd.DataFrame, by=None) -> pd.DataFrame:
    """The pandas group-bys subject_table was (the reference)."""
    df = scope[["subject_id", "person_key", "row", "site"]]
    keys = ["subject_id"]
    if by is not None:
        df = df.assign(_by=by)
        keys = ["_by", "subject_id"]
    g = (df.groupby([*keys, "person_key"], sort=False).agg(n=("row", "size"), first_pk_row=("row", "min"))
         .reset_index().sort_values([*keys, "n", "first_pk_row"], ascending=[True] * len(keys) + [False, True]))
    modal = g.drop_duplicates(keys)[[*keys, "person_key"]]
    first = df.sort_values("row").drop_duplicates(keys)[[*keys, "row", "site"]].rename(columns={"row": "first_row"})
    n_rows = df.groupby(keys).size().rename("n_rows").reset_index()
    s = modal.merge(first, on=keys).merge(n_rows, on=keys)
    person = keys[:-1] + ["person_key"]
    s = s.sort_values([*person, "first_row"], ignore_index=True)
    s["person_rank"] = s.groupby(person).cumcount() + 1
    s["is_dup_subject"] = s["person_rank"] > 1
    return s


def _hand_made() -> pd.DataFrame:
    # subject 10: two rows of person 1, one of person 2 -> person 1; subject 11: one row each of
    # persons 2 and 3 (a tie) -> the person of its earliest row (3, row 2); subject 12: person 1
    # again, a second profile of person 1 (rank 2); subject 13 alone
    return pd.DataFrame({
        "subject_id": [10, 11, 10, 12, 11, 10, 13],
        "person_key": [1, 3, 1, 1, 2, 2, 4],
        "row": [0, 2, 3, 4, 5, 6, 7],
        "site": [0, 1, 0, 2, 1, 0, 2],
    })


def test_subject_table_by_hand():
    from vaxstudy.estimate.rates import subject_table

    s = subject_table(_hand_made()).set_index("subject_id")
    assert s.loc[10, "person_key"] == 1 and s.loc[10, "n_rows"] == 3 and s.loc[10, "first_row"] == 0
    assert s.loc[11, "person_key"] == 3 and s.loc[11, "site"] == 1  # tie: the earliest row's person
    assert s.loc[12, "person_rank"] == 2 and bool(s.loc[12, "is_dup_subject"])
    assert s["is_dup_subject"].sum() == 1


@pytest.mark.parametrize("shuffle", [False, True])
def test_subject_table_equals_the_pandas_group_bys(shuffle):
    from vaxstudy.estimate.rates import subject_table

    rng = np.random.default_rng(7)
    n = 300
    scope = pd.DataFrame({"subject_id": rng.integers(-1, 70, n), "person_key": rng.integers(0, 40, n),
                          "row": np.arange(n) * 3, "site": rng.integers(0, 6, n)})
    if shuffle:  # rows not in entry order: the other sort
        scope = scope.sample(frac=1.0, random_state=3)
    dist = np.asarray(["d2", "d1", "d3"])[scope["site"].to_numpy() % 3]
    for df in (_hand_made(), scope):
        assert subject_table(df).equals(_pandas_subject_table(df))
    got, want = subject_table(scope, by=dist), _pandas_subject_table(scope, by=dist)
    assert got.drop(columns="_by").equals(want.drop(columns="_by"))
    assert got["_by"].tolist() == want["_by"].tolist()
    codes = pd.factorize(dist, sort=True)[0]  # integer groups, as record_site_aggregates passes them
    assert subject_table(scope, by=codes).drop(columns="_by").equals(want.drop(columns="_by"))
    assert want["is_dup_subject"].sum() > 0


def test_seen_before_is_groupby_cumcount():
    from vaxstudy.estimate.sorting import seen_before

    pk = np.array([5, 3, 5, 5, 3, 9, 3])
    dose = np.array([1, 1, 1, 2, 2, 1, 1])
    assert seen_before(pk, dose).tolist() == [False, False, True, False, False, False, True]
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 20, 500), rng.integers(0, 3, 500)
    want = pd.DataFrame({"a": a, "b": b}).groupby(["a", "b"], sort=False).cumcount().to_numpy() > 0
    assert seen_before(a, b).tolist() == want.tolist()
    assert seen_before(np.array([], dtype=np.int64), np.array([], dtype=np.int64)).tolist() == []


def test_seen_before_among_is_seen_before_of_the_rows_among():
    from vaxstudy.estimate.sorting import seen_before, seen_before_among

    pk = np.array([5, 3, 5, 5, 3, 9, 3, 5])
    dose = np.array([1, 1, 1, 2, 2, 1, 1, 1])
    among = np.array([False, True, True, True, False, True, True, True])
    every, some = seen_before_among(among, pk, dose)
    assert every.tolist() == seen_before(pk, dose).tolist()
    # among the masked rows the first (5, 1) is row 2, so row 2 is not seen before; row 7 is
    assert some.tolist() == [False, False, False, False, False, False, True, True]
    rng = np.random.default_rng(2)
    a, b, m = rng.integers(0, 30, 800), rng.integers(0, 3, 800), rng.random(800) < 0.6
    want = np.zeros(800, dtype=bool)
    want[m] = seen_before(a[m], b[m])
    assert seen_before_among(m, a, b)[1].tolist() == want.tolist()
    assert seen_before_among(None, a, b)[1] is None


def test_cells_and_codes_equal_drop_duplicates_and_the_look_up():
    from vaxstudy.estimate.codes import cells_and_codes

    g = pd.DataFrame({"district_code": ["413", "412", "unknown", "412", "413", "412"],
                      "sex": ["F", "M", "U", "M", "M", "F"],
                      "age_group": ["65+", "18-29", "30-49", "18-29", "18-29", "50-64"]}).astype("str")
    cells, code = cells_and_codes(g)
    want = g.drop_duplicates().sort_values(list(g.columns), ignore_index=True)
    pd.testing.assert_frame_equal(cells, want)
    assert code.tolist() == [2, 1, 4, 1, 3, 0]
    assert [tuple(cells.iloc[c]) for c in code] == list(g.itertuples(index=False, name=None))
    # a missing value: pandas' own path, NaN last
    holed = g.astype(object).where(g["sex"] != "U", None)
    cells2, code2 = cells_and_codes(holed)
    assert len(cells2) == 5 and cells2["sex"].isna().tolist() == [False] * 4 + [True] and code2[2] == 4
    # many values per column (a sparse key space: the sorted keys) and few (the keys counted)
    rng = np.random.default_rng(3)
    for k in (40, 3):
        r = pd.DataFrame({c: [f"{c}{v:02d}" for v in rng.integers(0, k, 60)] for c in ("d", "s", "a")}).astype("str")
        cells3, code3 = cells_and_codes(r)
        pd.testing.assert_frame_equal(cells3, r.drop_duplicates().sort_values(["d", "s", "a"], ignore_index=True))
        assert [tuple(cells3.iloc[c]) for c in code3] == list(r.itertuples(index=False, name=None))
    empty_cells, empty_code = cells_and_codes(g.iloc[:0])
    assert len(empty_cells) == 0 and len(empty_code) == 0


@pytest.mark.parametrize("order", ["sorted", "unsorted", "repeated"])
def test_codes_by_the_residents_positions_equal_factorize_text(order):
    """The rows' ids coded from their residents' positions (the rows' query joins them) and the
    other ids in order of first appearance: factorize_text over residents and parts; sorted
    residents are checked in one pass, unsorted ones by hashing; a repeated resident takes
    factorize_text itself (its codes are not positions)."""
    from vaxstudy.estimate.codes import codes_by_position, factorize_text, resident_positions

    ids = {"sorted": ["a", "c", "d", "f"], "unsorted": ["d", "a", "f", "c"], "repeated": ["a", "c", "a", "f"]}[order]
    residents = pd.Series(ids, dtype="str")
    table, unique = resident_positions(residents)
    assert unique == (order != "repeated")
    assert table["person_id"].tolist() == list(dict.fromkeys(ids))  # each once, first position
    assert table["pos"].tolist() == [ids.index(x) for x in dict.fromkeys(ids)]
    person = pd.Series(["c", None, "x", "a", "y", "x"], dtype="str")
    key = pd.Series(["c", "r:2", "x", "a", "z", "x"], dtype="str")
    cand = pd.Series([None, "f", None, None, "w", "y"], dtype="str")
    at = dict(zip(table["person_id"], table["pos"]))
    positions = [pd.Series([at.get(v) for v in p], dtype="Int64") for p in (person, key, cand)]
    want = factorize_text([residents, person, key, cand])
    if unique:
        got = np.concatenate([np.arange(len(ids)), *codes_by_position(len(ids), [person, key, cand], positions)])
        assert got.tolist() == want.tolist()
    first = list(dict.fromkeys(ids))  # by hand: x, y, r:2, z, w after the distinct residents
    k = len(first)
    assert want[len(ids):].tolist()[:6] == [first.index("c"), -1, k, first.index("a"), k + 1, k]


def test_per_person_equals_the_pandas_group_by():
    from vaxstudy.estimate.coverage import _per_person

    res = pd.DataFrame({"person_id": [4.0, 2.0, 4.0, 2.0, 7.0, 4.0],
                        "dose": [1, 3, 2, 1, 2, 2],
                        "cell": [3, 1, 0, 5, 2, 3]})  # a person's cell: that of their first row
    d = res["dose"].to_numpy()
    want = res.assign(is1=(d == 1).astype(np.int64), is2=(d == 2).astype(np.int64),
                      ge1=(d >= 1).astype(np.int64), ge2=(d >= 2).astype(np.int64)).groupby(
        "person_id", sort=True).agg(cell=("cell", "first"), maxdose=("dose", "max"), has1=("is1", "max"),
                                    has2=("is2", "max"), n_ge1=("ge1", "sum"), n_ge2=("ge2", "sum"))
    want["has1"], want["has2"] = want["has1"].astype(bool), want["has2"].astype(bool)
    got = _per_person(res)
    assert got.equals(want)
    assert got.loc[2.0, "cell"] == 1 and got.loc[2.0, "maxdose"] == 3 and not got.loc[7.0, "has1"]
    assert len(_per_person(res.iloc[:0])) == 0


def test_cells_of_reads_the_residents_cells_by_code():
    from vaxstudy.estimate.data import cells_of

    pop = pd.DataFrame({"person_id": [0.0, 1.0, 2.0], "cell": [4, 0, 2]})
    person = np.array([2.0, np.nan, 0.0, 5.0, 1.0])
    assert cells_of(pop, person, 9).tolist() == [2, 9, 4, 9, 0]
    shuffled = pop.iloc[[2, 0, 1]].reset_index(drop=True)  # not coded in order: the look-up
    assert cells_of(shuffled, person, 9).tolist() == [2, 9, 4, 9, 0]
    # no resident in scope (the review tests' foreign register): every row is the other cell
    assert cells_of(pop.iloc[:0], person, 9).tolist() == [9] * 5


def test_report_tables_from_the_sites_the_estimate_holds(tmp_path):
    """The report's tables read from the estimate's sites frame are those its queries derive,
    and they do read the frame (a site given to another province leaves the tables)."""
    import duckdb

    from helpers.estimatedb import make_db
    from vaxstudy import scope
    from vaxstudy.report import aggregates

    sites = [dict(site_id="S1", site_name="a", province_code="40", district_code="412"),
             dict(site_id="S2", site_name="b", province_code="40", district_code="413")]
    v = [dict(record_id=f"r{i}", subject_id=f"s{i}", person=f"P{i % 3}", dose_number=1 + i % 2,
              vaccination_date=f"2021-08-0{1 + i}", entered_date=f"2021-08-0{2 + i}", site_id=("S1", "S2")[i % 2])
         for i in range(6)]
    tal = [dict(site_id="S1", vaccination_date="2021-08-01", dose_number=1, doses_administered=4)]
    db = make_db(tmp_path / "r.duckdb", [dict(person_id=f"P{i}", province_code="40") for i in range(3)], v, sites, tal)
    con = duckdb.connect(str(db), read_only=True)
    frame = con.execute(scope.sites_sql(True)).df()
    derived = aggregates.compute(con, "40", "2021-08-01", "2021-08-31")
    given = aggregates.compute(con, "40", "2021-08-01", "2021-08-31", sites=frame)
    for name in derived:
        assert given[name].equals(derived[name]), name
    assert given["sites"]["n_records"].sum() == 6
    moved = frame.assign(province_code=np.where(frame["site_id"] == "S2", "42", frame["province_code"]))
    assert aggregates.compute(con, "40", "2021-08-01", "2021-08-31", sites=moved)["sites"]["n_records"].sum() == 3
    con.close()


@pytest.mark.parametrize("spread", [1, 10**9])  # dense codes (a table) and sparse ones (a search)
def test_lookup_is_reindex(spread):
    from vaxstudy.estimate.sorting import lookup, pair_key

    keys = np.array([3, -1, 7, 0, 12]) * spread
    values = np.array([30, 5, 70, 1, 120])
    query = np.array([7.0, np.nan, 12.0, 4.0, -1.0, 3.0, 0.0, 99.0]) * spread
    want = pd.Series(values, index=keys).reindex(query).fillna(-9).to_numpy()
    assert lookup(keys, values, query, -9).tolist() == want.tolist() == [70, -9, 120, -9, 5, 30, 1, -9]
    assert lookup(keys[:0], values[:0], query, 0).tolist() == [0] * len(query)
    # integer codes (read as they are, without float copies): the same answers
    ints = np.array([7, 12, 4, -1, 3, 0, 99]) * spread
    assert lookup(keys, values, ints, -9).tolist() == [70, 120, -9, 5, 30, 1, -9]
    # (person, dose) pairs: the same pairs find each other, a NaN person none
    k = pair_key(np.array([4, 4, 9]), np.array([1, 2, 1]), 1, 2)
    assert lookup(k, np.array([10, 20, 30]), pair_key(np.array([9.0, 4.0, np.nan]), np.array([1, 2, 1]), 1, 2),
                  0).tolist() == [30, 20, 0]


def test_threads_beside_the_bootstrap_run_behind_it():
    """The audit's queries' and the report tables' callables run at a lower priority than the
    thread that submits them, and return what they return."""
    import os
    import sys
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from vaxstudy.estimate import BEHIND_NICE, _behind

    def own_nice():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), "done"

    with ThreadPoolExecutor(1) as pool:
        plain = pool.submit(own_nice).result()
    with ThreadPoolExecutor(1) as pool:
        behind = pool.submit(_behind(own_nice)).result()
    assert behind[1] == plain[1] == "done"
    if sys.platform.startswith("linux"):
        assert behind[0] == min(plain[0] + BEHIND_NICE, 19)


def _flips_by_hand():
    """Six flips, contributions of each kind with values -1, 1 and 2, a flip adding to two
    columns, columns shared by several flips and out of order, a namesake part."""
    from vaxstudy.estimate.flips import LinkFlips, PART_ANY, PART_BEST, PART_NAMESAKE

    contrib = pd.DataFrame({
        "u": [0, 1, 2, 3, 4, 5, 5, 0, 2, 3, 1, 4, 4, 5],
        "kind": ["unl", "unl", "unl", "dup", "dup", "dsub", "unl", "cov1", "cov1", "cov1", "cov2", "cov2",
                 "cov1", "cov2"],
        "site": [2, 0, 2, 1, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0],
        "cell": [0, 0, 0, 0, 0, 0, 0, 3, 1, 3, 2, 2, 1, 0],
        "value": [1.0, -1.0, 2.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, 2.0, 1.0],
        "part": [PART_ANY, PART_ANY, PART_ANY, PART_ANY, PART_ANY, PART_ANY, PART_ANY, PART_ANY, PART_BEST,
                 PART_NAMESAKE, PART_ANY, PART_BEST, PART_NAMESAKE, PART_BEST],
    })
    flips = pd.DataFrame({"row": range(6), "linked": [True] * 3 + [False] * 3, "q": [0.5] * 6})
    return LinkFlips(flips=flips, contrib=contrib)


def test_boolean_draws_counted_give_the_float_sums():
    """flip_deltas of 0/1 draws kept as booleans (counted per value and column) equals the float
    path it replaces, to the byte (no -0), for every kind and part; a fractional value falls back."""
    from vaxstudy.estimate.intervals import flip_deltas

    rng = np.random.default_rng(3)
    F = rng.random((40, 6)) < 0.5
    F[0] = False  # a replicate with no flip: every sum 0 (not -0)
    F_best = rng.random((40, 6)) < 0.6
    for fb in (F_best, None):
        rec_b, cov_b = flip_deltas(_flips_by_hand(), F, 4, 5, fb)
        rec_f, cov_f = flip_deltas(_flips_by_hand(), F.astype(float), 4, 5, None if fb is None else fb.astype(float))
        assert cov_b.tobytes() == cov_f.tobytes()
        assert all(rec_b[k].tobytes() == rec_f[k].tobytes() for k in rec_f)
    # by hand, replicate 1: flips 0, 2 and 5 drawn
    one = np.zeros((1, 6), dtype=bool)
    one[0, [0, 2, 5]] = True
    rec, cov = flip_deltas(_flips_by_hand(), one, 4, 5, None)
    assert rec["unl"][0].tolist() == [1.0, 0.0, 3.0, 0.0]
    assert rec["dsub"][0].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert cov[0, 0].tolist() == [0.0, 1.0, 0.0, -1.0, 0.0] and cov[1, 0].tolist() == [1.0, 0, 0, 0, 0]
    assert not np.signbit(rec["dup"]).any()
    # a fractional contribution: the boolean draws go the float way, same figures
    lf = _flips_by_hand()
    lf.contrib.loc[0, "value"] = 0.5
    rec_b, _ = flip_deltas(lf, F, 4, 5, F_best)
    rec_f, _ = flip_deltas(_flips_by_hand().__class__(flips=lf.flips, contrib=lf.contrib.copy()),
                           F.astype(float), 4, 5, F_best.astype(float))
    assert rec_b["unl"].tobytes() == rec_f["unl"].tobytes()


def _loop_lag_counts(s, a, l, S, D, M, T, window):
    """The per-lag loop lag_data was (the reference): counts by (site, age, lag), then each lag."""
    cnt = pd.DataFrame({"s": s, "a": a, "l": l}).value_counts().rename("n").reset_index()
    cs, ca, cl, cn = (cnt[c].to_numpy() for c in ("s", "a", "l", "n"))
    num, den = np.zeros((S, D + 1)), np.zeros((S, D + 1))
    for d in range(D + 1):
        use = (ca >= d) & (ca <= d + window)
        np.add.at(num[:, d], cs[use & (cl == d)], cn[use & (cl == d)])
        np.add.at(den[:, d], cs[use & (cl <= d)], cn[use & (cl <= d)])
    cnt_s = np.zeros((S, T, M + 1))
    use = (ca < T) & (cl <= M)
    np.add.at(cnt_s, (cs[use], ca[use], cl[use]), cn[use])
    return num, den, cnt_s


@pytest.mark.parametrize("seed", [0, 1])
def test_lag_counts_equal_the_per_lag_loop(seed):
    """The nowcast's counts by bincount and a difference along the lags equal the per-lag loop,
    to the byte: entries at the window's edges (age = lag + window, one more), ages beyond the
    longest lag, lags capped at D, empty sites."""
    from vaxstudy.estimate.nowcast import LONG_WINDOW, lag_counts

    rng = np.random.default_rng(seed)
    S, D, M = 5, 12, 4
    T = M + 6 + 1
    l = rng.integers(0, D + 1, 400)
    a = np.minimum(l + rng.integers(0, LONG_WINDOW + 8, 400), D + LONG_WINDOW + 1)
    a[:3], l[:3] = [LONG_WINDOW, LONG_WINDOW + 1, D + LONG_WINDOW + 1], [0, 0, D]
    s = rng.choice([0, 1, 3], 400)  # sites 2 and 4 without entries
    for got, want in zip(lag_counts(s, a, l, S, D, M, T), _loop_lag_counts(s, a, l, S, D, M, T, LONG_WINDOW)):
        assert got.shape == want.shape and got.tobytes() == want.tobytes()
    # by hand: one entry of lag 2 aged 5 adds to num[., 2] and den[., 2..5]
    num, den, cnt = lag_counts(np.array([1]), np.array([5]), np.array([2]), 2, 8, 3, 6)
    assert num[1].tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0] and den[1].tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0]
    assert cnt[1, 5, 2] == 1 and cnt.sum() == 1


@pytest.mark.parametrize("codes", [[0.0, 1.0, 2.0], [5.0, 1.0, 2.0]])
def test_candidate_fields_read_by_position_equal_the_look_up(codes):
    """The unlinked rows' best candidates' district, sex and age group read by position (codes
    0..n-1, as load_inputs codes the residents) equal the look-up they replace; no candidate,
    a code beyond the residents and a repeated candidate included; other codes are looked up."""
    from types import SimpleNamespace

    from vaxstudy.estimate.missed import _candidate_fields

    pop = pd.DataFrame({"person_id": codes, "district_code": ["a", "b", "c"], "sex": ["M", "F", "M"],
                        "age_group": ["18-29", "30-49", "65+"]})
    rows = pd.DataFrame({"cand_person_id": [2.0, np.nan, 0.0, 7.0, 2.0, 1.0]}, index=[3, 4, 5, 6, 7, 8])
    inp = SimpleNamespace(pop=pop, rows=rows)
    got = _candidate_fields(inp, pd.Index([4, 3, 6, 7, 8]))
    want = pop.set_index("person_id")[["district_code", "sex", "age_group"]].reindex([np.nan, 2.0, 7.0, 2.0, 1.0])
    assert list(got.index) == list(want.index) or np.allclose(got.index, want.index, equal_nan=True)
    for c in want.columns:
        assert got[c].astype(object).where(got[c].notna(), None).tolist() == \
            want[c].astype(object).where(want[c].notna(), None).tolist()
    if codes[0] == 0.0:
        assert got["district_code"].astype(object).where(got["district_code"].notna(), None).tolist() == \
            [None, "c", None, "c", "b"]


def test_truth_check_reads_the_truth_as_duckdb_df_does():
    """The truth check's table read through Arrow (fetch) is the frame DuckDB's .df() gives
    (ids cast to text, NULLs kept), so the linkage block is the same: a true person outside
    the register, a key only, a record without truth, a wrong link and a duplicate dose."""
    from types import SimpleNamespace

    import duckdb

    from vaxstudy.accuracy import linkage_accuracy as accuracy
    from vaxstudy.estimate import truthcheck
    from vaxstudy.estimate.data import fetch

    con = duckdb.connect()
    con.execute("CREATE TABLE truth AS SELECT * FROM (VALUES (1, 'p1', 'k1'), (2, 'p1', 'k1'), (3, NULL, 'k3'), "
                "(4, 'p4', NULL), (5, 'p5', 'k5')) t(record_id, true_person_id, true_person_key)")
    q = ("SELECT CAST(record_id AS VARCHAR) record_id, CAST(true_person_id AS VARCHAR) true_person_id, "
         "CAST(true_person_key AS VARCHAR) true_person_key FROM truth")
    a, b = fetch(con, q), con.execute(q).df()
    assert a.dtypes.tolist() == b.dtypes.tolist() and a.astype(object).where(a.notna(), None).equals(
        b.astype(object).where(b.notna(), None))
    rows = pd.DataFrame({"record_id": ["1", "2", "3", "4", "6"], "person_id_str": ["p1", "p1", None, "p9", "p6"],
                         "dose": [1, 1, 1, 2, 1], "row": [0, 1, 2, 3, 4], "is_dup": [False, True, False, False, False],
                         "in_scope": [True, True, True, True, False]})
    got = truthcheck.linkage_accuracy(con, SimpleNamespace(rows=rows))
    ref = rows[["record_id", "person_id_str", "dose", "row", "is_dup", "in_scope"]].rename(
        columns={"person_id_str": "person_id", "dose": "dose_number", "is_dup": "is_duplicate_dose"}).merge(
        b, on="record_id", how="left")
    want = accuracy(ref, scope=ref["in_scope"].to_numpy())
    assert got == {k: truthcheck.rnd(want[k]) for k in truthcheck.FIGURES}
    assert got["link_precision"] == pytest.approx(2 / 3, abs=1e-6) and got["dup_recall"] == 1.0


def test_the_audit_started_before_the_rows_equals_the_audit_after(tmp_path):
    """The audit's queries run on the sites, period and export date read before the inputs
    (estimate_db starts them beside load_inputs) give the audit of the loaded inputs: two
    sites, a row of another province, a dose 2 too soon and one without dose 1, a duplicate
    dose, a row before the period, an entry lag."""
    import duckdb
    from helpers.estimatedb import make_db

    from vaxstudy.estimate import quality
    from vaxstudy.estimate.data import load_inputs, site_scope

    sites = [dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="17000"),
             dict(site_id="S2", site_name="b", province_code="40", district_code="413", commune_code="17001"),
             dict(site_id="S9", site_name="c", province_code="42", district_code="436", commune_code="18000")]
    pop = [dict(person_id=f"P{i}", date_of_birth="1980-01-01") for i in range(4)]
    v = [dict(record_id="r1", subject_id="s1", person="P0", dose_number=1, site_id="S1",
              vaccination_date="2021-08-02", entered_date="2021-08-09"),
         dict(record_id="r2", subject_id="s1", person="P0", dose_number=2, site_id="S1",
              vaccination_date="2021-08-10", entered_date="2021-08-10"),
         dict(record_id="r3", subject_id="s2", person="P1", dose_number=2, site_id="S2",
              vaccination_date="2021-08-11", entered_date="2021-08-20"),
         dict(record_id="r4", subject_id="s3", person="P2", dose_number=1, site_id="S2", dup=True,
              vaccination_date="2021-08-12", entered_date="2021-08-12"),
         dict(record_id="r5", subject_id="s4", person="P2", dose_number=1, site_id="S2",
              vaccination_date="2021-07-01", entered_date="2021-07-02"),
         dict(record_id="r6", subject_id="s5", person="P3", dose_number=1, site_id="S9",
              vaccination_date="2021-08-03", entered_date="2021-08-03")]
    tal = [dict(site_id="S1", vaccination_date="2021-08-02", dose_number=1, doses_administered=2)]
    con = duckdb.connect(str(make_db(tmp_path / "a.duckdb", pop, v, sites, tal)), read_only=True)
    try:
        early = site_scope(con, "40", "2021-08-01", "2021-08-31", shared=(shared := {}))
        counts = quality.audit_counts(con, early)
        inp = load_inputs(con, "40", "2021-08-01", "2021-08-31", shared=shared)
        pd.testing.assert_frame_equal(early.sites, inp.sites)
        assert early.extract_date == inp.extract_date and early.period_end == inp.period_end
        got, want = quality.audit_tables(counts, inp), quality.audit(con, inp)
    finally:
        con.close()
    assert got.keys() == want.keys()
    for k in want:
        pd.testing.assert_frame_equal(got[k], want[k], check_exact=True)
    val = want["validity"].set_index(["check", "unit_type", "unit_id"])["numerator"]
    assert val[("dose2_too_soon", "site", "S1")] == 1 and val[("dose2_without_dose1", "site", "S2")] == 1


def test_report_scope_made_once_gives_the_same_tables(tmp_path):
    """The four scope tables read from with_scope's one table equal those each query makes
    (rows out of the period and at another province's site left out alike), and read it."""
    import duckdb

    from helpers.estimatedb import make_db
    from vaxstudy.report import data as rdata

    sites = [dict(site_id="S1", site_name="a", province_code="40", district_code="412"),
             dict(site_id="S2", site_name="b", province_code="40", district_code="413"),
             dict(site_id="S9", site_name="c", province_code="42", district_code="420")]
    v = [dict(record_id=f"r{i}", subject_id=f"s{i % 4}", person=f"P{i % 3}", dose_number=1 + i % 2,
              vaccination_date=("2021-07-30", "2021-08-02", "2021-08-09", "2021-08-03")[i % 4],
              entered_date="2021-08-20", site_id=("S1", "S2", "S9")[i % 3]) for i in range(9)]
    db = make_db(tmp_path / "s.duckdb", [dict(person_id=f"P{i}", province_code="40") for i in range(3)], v, sites,
                 [dict(site_id="S1", vaccination_date="2021-08-02", dose_number=1, doses_administered=2)])
    con = duckdb.connect(str(db), read_only=True)
    scope = ("40", "2021-08-01", "2021-08-31")
    steps = {"gap": rdata.weekly_entry_gap, "sites": rdata.site_table, "basis": rdata.link_basis,
             "p": lambda *a, **k: pd.DataFrame({"p": np.sort(rdata.match_probabilities(*a, **k))})}
    alone = {k: f(con, *scope) for k, f in steps.items()}
    assert alone["sites"]["n_records"].sum() == 4  # 2021-07-30 and S9 left out
    with rdata.with_scope(con, *scope) as one:
        once = {k: f(con, *scope, scoped=one) for k, f in steps.items()}
        con.execute(f"DELETE FROM {rdata.SCOPE_TABLE} WHERE site_id = 'S2'")
        assert rdata.site_table(con, *scope, scoped=one)["site_id"].tolist() == ["S1"]
    for k in steps:
        pd.testing.assert_frame_equal(once[k], alone[k], check_exact=True)
    assert rdata.SCOPE_TABLE not in rdata.tables(con)
    con.close()


def test_the_audit_tables_run_at_the_estimates_own_priority(tmp_path, monkeypatch):
    """The audit's tables and the truth check (pandas: the GIL) run on threads never lowered, so that the
    bootstrap never waits for a GIL held by a thread the system has set aside; the audit's
    queries (DuckDB, no GIL) still run behind; the tables and the exception of a side thread
    come back as before."""
    import os
    import sys
    import threading

    import pytest

    import vaxstudy.estimate.quality as Q
    import vaxstudy.estimate.truthcheck as T
    from helpers.estimatedb import make_db
    from vaxstudy.estimate import BEHIND_NICE, estimate_db

    sites = [dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="17000")]
    v = [dict(record_id=f"r{i}", subject_id=f"s{i}", person=f"P{i % 3}", dose_number=1 + i % 2,
              vaccination_date=f"2021-08-{1 + i:02d}", entered_date=f"2021-08-{2 + i:02d}", site_id="S1")
         for i in range(6)]
    tal = [dict(site_id="S1", vaccination_date="2021-08-02", dose_number=1, doses_administered=3)]
    db = make_db(tmp_path / "p.duckdb", [dict(person_id=f"P{i}") for i in range(3)], v, sites, tal)
    seen: dict[str, int] = {}

    def nice():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def spy(name, f):
        def run(*a, **k):
            seen[name] = nice()
            return f(*a, **k)
        return run

    monkeypatch.setattr(Q, "audit_counts", spy("counts", Q.audit_counts))
    monkeypatch.setattr(Q, "audit_tables", spy("tables", Q.audit_tables))
    monkeypatch.setattr(T, "linkage_accuracy", spy("truth", T.linkage_accuracy))
    m = estimate_db(db, "40", "2021-08-01", "2021-08-31", tmp_path / "out", n_boot=10)
    assert m["data_quality"] and (tmp_path / "out" / "data_quality").is_dir()
    if sys.platform.startswith("linux"):
        assert seen["tables"] == seen["truth"] == nice()
        assert seen["counts"] == min(nice() + BEHIND_NICE, 19)

    def broken(*a, **k):
        raise RuntimeError("audit tables broke")

    monkeypatch.setattr(Q, "audit_tables", broken)
    with pytest.raises(RuntimeError, match="audit tables broke"):
        estimate_db(db, "40", "2021-08-01", "2021-08-31", tmp_path / "out2", n_boot=10)
