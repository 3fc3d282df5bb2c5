"""Reviewers' decisions on duplicate pairs change the persons and the duplicate flags (hand-made cases)."""

from __future__ import annotations

import duckdb
import pandas as pd

from vaxstudy.link.dedupe import constrained_components, separate_cannot_links
from vaxstudy.link.decide import engine
from vaxstudy.link.doses import build_record_links
from vaxstudy.review.pairs import Pair, pair_sides, resolve_pairs


def test_different_through_a_third_record_keeps_the_stronger_chain():
    # a - b - c joined (b-c stronger); a reviewer says a and c are different people
    groups, skipped = constrained_components(
        ["a", "b", "c", "d"], [("a", "b", 0.91), ("b", "c", 0.99), ("c", "d", 2.0)], [("a", "c")])
    assert groups == {"a": "a", "b": "b", "c": "b", "d": "b"} and skipped == 1
    # without the decision: one cluster
    groups, _ = constrained_components(["a", "b", "c", "d"], [("a", "b", 0.91), ("b", "c", 0.99), ("c", "d", 2.0)], [])
    assert set(groups.values()) == {"a"}
    # a must-link (weight 3) that would reunite them is dropped too
    groups, skipped = constrained_components(["a", "c"], [("a", "c", 3.0)], [("c", "a")])
    assert groups["a"] != groups["c"] and skipped == 1


def test_separate_cannot_links_reforms_only_clusters_holding_both_sides():
    con = duckdb.connect()
    con.execute("CREATE TABLE dedupe_clusters AS SELECT * FROM (VALUES ('a','K1'),('b','K1'),('c','K1'),"
                "('x','K2'),('y','K2')) t(ident, cluster)")
    con.execute("CREATE TABLE dedupe_edges AS SELECT * FROM (VALUES ('a','b',0.95),('b','c',0.93),"
                "('x','y',0.99)) t(unique_id_l, unique_id_r, weight)")
    con.execute("CREATE TABLE cl AS SELECT * FROM (VALUES ('a','c'),('x','q')) t(ident_l, ident_r)")
    out = separate_cannot_links(con, engine(None), "cl")
    assert out == {"clusters": 1, "edges_dropped": 1}
    got = dict(con.execute("SELECT ident, cluster FROM dedupe_clusters").fetchall())
    assert got["a"] == got["b"] != got["c"] and got["x"] == got["y"] == "K2"


def _pair(decision, a, b, kind="dup_subject"):
    return Pair(kind, "r", "c", decision, frozenset(a), frozenset(b))


def test_resolve_pairs_rules():
    links = {"a1": ("P", 0.97), "b1": ("P", 0.999), "c1": ("Q", 0.99)}
    # both profiles linked to P: the weaker side (a) loses its link, and is kept apart from b
    r = resolve_pairs([_pair("different", ["a1", "a2"], ["b1"])], links)
    assert r.removed == {"a1": "P"} and ("a1", "b1") in r.cannot and r.counts["applied"] == 1
    # ... unless a reviewer made a's link: then b gives way
    r = resolve_pairs([_pair("different", ["a1"], ["b1"])], links, {("a1", "P")})
    assert r.removed == {"b1": "P"}
    # profiles sharing an identity cannot be separated
    r = resolve_pairs([_pair("different", ["a1", "s"], ["b1", "s"])], links)
    assert not r.removed and r.counts["not_honoured_shared_identity"] == 1
    # same: the unlinked side follows the linked one; two register persons is a conflict
    r = resolve_pairs([_pair("same", ["u1"], ["b1"], "dup_dose")], links)
    assert r.added == {"u1": ("P", 0.999)}
    r = resolve_pairs([_pair("same", ["a1"], ["c1"])], links)
    assert not r.added and r.counts["conflicts"] == 1
    # same between unlinked identities: joined in the deduplication
    r = resolve_pairs([_pair("same", ["u1", "u2"], ["u3"])], links)
    assert r.must == [("u1", "u2"), ("u1", "u3")]
    # a same that would bring back a pair decided different is refused
    r = resolve_pairs([_pair("different", ["a1"], ["b1"]), _pair("same", ["a1"], ["b1"])], links)
    assert r.removed == {"a1": "P"} and not r.added and r.counts["conflicts"] == 1


def test_pair_sides_reads_profiles_and_rows():
    rows = pd.DataFrame({"record_id": ["r1", "r2", "r3", "r4"], "subject_id": ["S1", "S1", "S2", "S2"],
                         "ident": ["i1", "i2", "i3", "i3"]})
    dec = pd.DataFrame({"kind": ["dup_subject", "dup_dose", "link", "dup_dose"],
                        "record_id": ["r3", "r4", "r1", "zz"], "candidate_id": ["S1", "r1", "P", "r1"],
                        "decision": ["different", "same", "same", "same"]})
    got = pair_sides(dec, rows)
    assert [(p.kind, set(p.a), set(p.b)) for p in got] == [
        ("dup_subject", {"i3"}, {"i1", "i2"}), ("dup_dose", {"i3"}, {"i1"})]


def test_dose_decisions_flip_the_duplicate_flag():
    con = duckdb.connect()
    con.execute("""CREATE TABLE k AS SELECT * FROM (VALUES
        ('r1', 'P1', 1, 1, 'P1', 0.99), ('r2', 'P1', 1, 2, 'P1', 0.99), ('r3', 'P1', 1, 3, 'P1', 0.99),
        ('r4', 'P2', 2, 4, 'P2', 0.99), ('r5', 'P2', 2, 5, 'P2', 0.99),
        ('r6', 'P3', 1, 6, 'P3', 0.99), ('r7', 'P3', 2, 7, 'P3', 0.99)
        ) t(record_id, person_id, dose_number, _row, person_key, match_probability)""")
    con.execute("CREATE TABLE dd AS SELECT * FROM (VALUES ('r2','r1','different'),('r3','r1','different'),"
                "('r5','r4','different'),('r7','r6','same')) t(record_id, candidate_id, decision)")

    def flags(**kw):
        build_record_links(con, "k", **kw)
        return dict(con.execute("SELECT record_id, is_duplicate_dose FROM record_links").fetchall())

    assert flags() == {"r1": False, "r2": True, "r3": True, "r4": False, "r5": True, "r6": False, "r7": False}
    # r2 is not r1 again; r3 is not r1 but repeats r2; r5 is not r4; r7 is r6 typed with another dose
    assert flags(dose_decisions="dd") == {"r1": False, "r2": False, "r3": True, "r4": False, "r5": False,
                                          "r6": False, "r7": True}
