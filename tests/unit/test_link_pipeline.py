"""link_db end to end on a small hand-rolled standardised province."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from helpers.engines import RecordingEngine
from helpers.linkfake import make_std_db
from vaxstudy.evaluate import evaluate
from vaxstudy.link import link_db
from vaxstudy.options import LinkOptions

FAST = dict(u_max_pairs=2e5, em_max_pairs=1e5)


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    base = tmp_path_factory.mktemp("linkfake")
    db = base / "fake.duckdb"
    make_std_db(db, n_persons=700, seed=11)
    res = link_db(db, base / "out", LinkOptions(seed=1, **FAST))
    return base, db, res


def test_link_run_is_recorded_in_the_database(linked):
    """The estimate reads the threshold and prior from the link_run table, not from a file."""
    from vaxstudy.link.run import model_sha256, read_link_run

    base, db, res = linked
    con = duckdb.connect(str(db), read_only=True)
    try:
        run = read_link_run(con)
    finally:
        con.close()
    assert run is not None and run.threshold == res.threshold and run.prior == res.prior
    assert run.engine == "duckdb" and run.options["seed"] == 1 and run.options["threshold_given"] is None
    assert run.model_sha256 == model_sha256(json.loads(res.model_path.read_text()))
    assert read_link_run(duckdb.connect()) is None  # never linked


def test_record_links_contract_layout(linked):
    base, db, res = linked
    df = pd.read_parquet(base / "out" / "record_links.parquet")
    # the contract's columns, in its order, then the project's additions (docs/contract.md)
    assert list(df.columns) == ["record_id", "person_id", "match_probability", "person_key",
                                "is_duplicate_dose", "best_person_id", "best_match_probability",
                                "in_register_probability", "second_person_id", "second_match_probability",
                                "_row", "incomplete_register_person_id",
                                "incomplete_register_match_probability"]
    con = duckdb.connect(str(db), read_only=True)
    n_vax = con.execute("SELECT count(*) FROM vaccinations_std").fetchall()[0][0]
    in_db = con.execute("SELECT count(*), count(DISTINCT record_id) FROM record_links").fetchall()[0]
    con.close()
    assert len(df) == n_vax == in_db[0] == in_db[1] == res.n_records
    assert df["person_key"].notna().all()
    linked_rows = df[df["person_id"].notna()]
    assert (linked_rows["person_key"] == linked_rows["person_id"]).all()
    assert linked_rows["match_probability"].between(0, 1).all()
    assert df.loc[df["person_id"].isna(), "match_probability"].isna().all()
    # a best candidate is only ever carried by an unlinked row, with a probability below 1
    extra = ["best_person_id", "best_match_probability", "in_register_probability", "second_person_id",
             "second_match_probability"]
    assert df.loc[df["person_id"].notna(), extra].isna().all().all()
    cand = df[df["best_person_id"].notna()]
    assert cand["best_match_probability"].between(0, 1).all()
    # some register person is at least as likely as the best one
    assert (cand["in_register_probability"] >= cand["best_match_probability"] - 1e-12).all()
    assert cand["in_register_probability"].le(1).all()
    # a runner-up only beside a best candidate, no likelier, within the row's probability
    two = df[df["second_person_id"].notna()]
    assert two["best_person_id"].notna().all()
    assert (two["second_match_probability"] <= two["best_match_probability"] + 1e-12).all()
    assert (two["best_match_probability"] + two["second_match_probability"]
            <= two["in_register_probability"] + 1e-9).all()


def test_accuracy_on_fake_province(linked):
    base, db, res = linked
    ev = evaluate(base / "out", base, db_path=db)
    assert ev["link_precision"] >= 0.99
    assert ev["link_recall"] >= 0.98
    assert ev["dup_f1"] >= 0.95
    assert abs(ev["n_persons_rel_error"]) <= 0.02
    assert (base / "out" / "evaluation.json").exists()


def test_summary_records_threshold_and_justification(linked):
    base, _, res = linked
    s = json.loads((base / "out" / "link_summary.json").read_text())
    d = s["decision"]
    assert 0 < d["threshold"] < 1 and d["threshold"] == res.threshold
    assert "truth is never used" in d["rule"]
    assert len(d["threshold_curve"]) > 5
    assert 0 < s["model"]["prior"] < 1
    for f in ("match_weights.html", "m_u_parameters.json", "clerical_review.csv"):
        assert (base / "out" / "diagnostics" / f).exists(), f


def test_saved_model_is_reused_without_training(linked, tmp_path):
    base, db, res = linked
    res2 = link_db(db, tmp_path / "out2", LinkOptions(model_path=res.model_path, diagnostics=False))
    s = json.loads((tmp_path / "out2" / "link_summary.json").read_text())
    assert s["model"]["trained_here"] is False
    assert "u_random_sampling" not in res2.timings
    a = pd.read_parquet(base / "out" / "record_links.parquet")
    b = pd.read_parquet(tmp_path / "out2" / "record_links.parquet")
    # same model, same data: the same decisions
    assert (a["person_id"].fillna("-") == b["person_id"].fillna("-")).mean() > 0.999


def test_missing_std_tables_raise(tmp_path):
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    with pytest.raises(RuntimeError, match="standardize"):
        link_db(db, tmp_path / "o")


def test_an_engine_opened_by_name_is_closed_an_engine_object_is_not(tmp_path, monkeypatch):
    import vaxstudy.engines as engines
    from vaxstudy.engines.duckdb import DuckDBBackend

    closed = []

    class Noted(DuckDBBackend):
        def close(self):
            closed.append(self)

    monkeypatch.setattr(engines, "DuckDBBackend", Noted)
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    with pytest.raises(RuntimeError, match="standardize"):  # fails inside the run: the engine was started
        link_db(db, tmp_path / "o", backend="duckdb")
    assert len(closed) == 1
    mine = Noted()
    with pytest.raises(RuntimeError, match="standardize"):
        link_db(db, tmp_path / "o", backend=mine)
    assert closed == [closed[0]]  # the caller's engine is left open


def test_cli_link_prints_counts_but_no_personal_data(linked, tmp_path):
    from typer.testing import CliRunner

    from vaxstudy.cli import app

    base, db, res = linked
    r = CliRunner().invoke(app, ["link", "--db", str(db), "--out", str(tmp_path / "cli"),
                                 "--model", str(res.model_path), "--no-diagnostics"])
    assert r.exit_code == 0, r.output
    assert "estimated persons" in r.output
    con = duckdb.connect(str(db), read_only=True)
    names = [n for (n,) in con.execute(
        "SELECT DISTINCT name_norm FROM vaccinations_std LIMIT 200").fetchall()]
    ids = [i for (i,) in con.execute(
        "SELECT DISTINCT id_number FROM vaccinations_std WHERE id_number IS NOT NULL LIMIT 200").fetchall()]
    con.close()
    assert not any(n in r.output for n in names)
    assert not any(i in r.output for i in ids)
    assert (tmp_path / "cli" / "record_links.parquet").exists()


def test_people_outside_register_are_counted_once(linked):
    base, db, res = linked
    con = duckdb.connect(str(db), read_only=True)
    # rows of people not in the register: each true person should map to one
    # estimated person_key, and no key should mix two true persons
    split, mixed, n = con.execute(
        """WITH x AS (SELECT t.true_person_key AS t, l.person_key AS k
                      FROM record_links l JOIN truth t USING (record_id)
                      WHERE t.true_person_id IS NULL)
        SELECT (SELECT count(*) FROM (SELECT t FROM x GROUP BY t HAVING count(DISTINCT k) > 1)),
               (SELECT count(*) FROM (SELECT k FROM x GROUP BY k HAVING count(DISTINCT t) > 1)),
               (SELECT count(DISTINCT t) FROM x)"""
    ).fetchall()[0]
    linked_outsiders = con.execute(
        "SELECT count(*) FROM record_links l JOIN truth t USING (record_id) "
        "WHERE t.true_person_id IS NULL AND l.person_id IS NOT NULL").fetchall()[0][0]
    con.close()
    assert n >= 10
    assert split <= 0.05 * n and mixed <= 0.05 * n
    assert linked_outsiders <= 2


def test_blocking_report_reach(linked):
    from vaxstudy.link.blocking import blocking_report

    base, db, _ = linked
    rep = blocking_report(db)  # truth table in the database
    assert rep["n_true_pairs"] > 100
    assert rep["union_reach"] >= 0.99
    assert rep["union_comparisons"] <= sum(r["comparisons"] for r in rep["rules"])
    assert all(0 <= r["true_pairs_only_this_rule"] <= r["true_pairs_share"] for r in rep["rules"])


def test_every_post_scoring_query_transpiles_to_spark(tmp_path):
    """link_db (DuckDB, tiny fake province, diagnostics on) through a recording backend: every
    query of the steps after scoring (decide, wide pass, rescue, dedupe, clusters, record_links,
    diagnostics samples) is one statement that sqlglot transpiles to Spark SQL, with none of
    DuckDB's own syntax left; the steps that Spark must keep in order say so with ORDER BY."""
    import sqlglot

    from vaxstudy.engines.spark.transpile import duckdb_query_to_spark
    from vaxstudy.link import link_db

    db = tmp_path / "fake.duckdb"
    make_std_db(db, n_persons=300, seed=5)
    backend = RecordingEngine()
    link_db(db, tmp_path / "out", LinkOptions(seed=1, u_max_pairs=1e5, em_max_pairs=5e4), backend=backend)
    kinds = {k for k, _ in backend.queries}
    assert kinds == {"create_table", "insert", "fetch"} and len(backend.queries) > 40
    for _, q in backend.queries:
        out = duckdb_query_to_spark(q)
        assert "::" not in out and " EXCLUDE " not in out.upper() and '"' not in out, (q, out)
        sqlglot.parse_one(out, read="spark")  # Spark SQL that parses back
    ordered = [q for k, q in backend.queries if k == "create_table"
               and sqlglot.parse_one(q, read="duckdb").args.get("order") is not None]
    assert any("is_duplicate_dose" in q for q in ordered)  # record_links, in entry order


def test_every_blocking_rule_parses_as_spark_sql():
    """Splink parses a blocking rule in its backend's dialect, so each rule of both passes must be
    SQL that Spark reads as well as DuckDB (DuckDB's ``//`` integer division, for one, is not)."""
    import sqlglot

    from vaxstudy.link.rules import PREDICTION_BLOCKING_RULES, TRAINING_BLOCKING_RULES
    from vaxstudy.link.wide import WIDE_BLOCKING_RULES

    rules = [*PREDICTION_BLOCKING_RULES.values(), *TRAINING_BLOCKING_RULES, *WIDE_BLOCKING_RULES.values()]
    assert len(rules) > 20
    for rule in rules:
        for dialect in ("duckdb", "spark"):
            sqlglot.parse_one(f"SELECT 1 FROM t AS l JOIN t AS r ON {rule}", read=dialect)
