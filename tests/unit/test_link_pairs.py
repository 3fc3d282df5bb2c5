"""The candidate pairs made by vaxstudy.link.pairs and scored by Splink are Splink's own: the
same pairs, each with the same first rule (match_key), the same match weights."""

from __future__ import annotations

import pandas as pd
import pytest
from splink import DuckDBAPI, Linker

from helpers.linkfake import make_std_db
from vaxstudy.link.dedupe import TF_COLUMNS
from vaxstudy.link.pairs import predict_pairs
from vaxstudy.link.prepare import open_work_connection, prepare_inputs
from vaxstudy.link.settings import build_settings


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    db = tmp_path_factory.mktemp("pairs") / "fake.duckdb"
    make_std_db(db, n_persons=300, seed=5)
    c = open_work_connection(db, read_only=True)
    prepare_inputs(c)
    yield c
    c.close()


def _frame(con, pred) -> pd.DataFrame:
    df = con.execute(f"SELECT unique_id_l, unique_id_r, match_key, match_weight FROM {pred.physical_name}").df()
    return df.sort_values(["unique_id_l", "unique_id_r"]).reset_index(drop=True)


def test_own_pairs_score_as_splinks_own_blocking(con):
    settings = build_settings(probability_two_random_records_match=1e-4)
    api = DuckDBAPI(connection=con)
    linker = Linker([api.register("link_reg", dataset_display_name="register"),
                     api.register("link_vax", dataset_display_name="vaccinations")], settings, log_level=None)
    tf = {c: linker.table_management.compute_tf_table(c).physical_name for c in TF_COLUMNS}
    theirs = _frame(con, linker.inference.predict(warning_mode="never"))
    ours_pred, n = predict_pairs(con, linker.misc.save_model_to_json(None), tf, left="link_reg", right="link_vax",
                                 left_name="register", right_name="vaccinations",
                                 threshold_match_probability=None, prefix="t_pairs")
    ours = _frame(con, ours_pred)
    assert n == len(theirs) > 100
    assert theirs["match_key"].nunique() > 5  # several rules make pairs, so the first-rule choice is tested
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-9)
    # the working tables are gone once the scores are a table of their own
    assert not con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 't_pairs%' "
                           "UNION ALL SELECT view_name FROM duckdb_views() WHERE view_name LIKE 't_pairs%'"
                           ).fetchall()


def test_wide_pairs_from_register_keys_score_as_splinks_own(con):
    """The wide pass joins on a copy of the register's join columns only and scores from link_reg."""
    from vaxstudy.link.settings import settings_from_model
    from vaxstudy.link.wide import (NAME_BLOCK_CAP, WIDE_BLOCKING_RULES, add_province_columns, add_wide_inputs,
                                    register_join_columns)

    add_wide_inputs(con)  # wide_reg (every column) and wide_vax
    add_province_columns(con, "link_reg", "wide_keys", vax=False, name_block_cap=NAME_BLOCK_CAP,
                         keep=register_join_columns(), row="score_row")
    api = DuckDBAPI(connection=con)
    base = Linker([api.register("link_reg", dataset_display_name="register"),
                   api.register("link_vax", dataset_display_name="vaccinations")],
                  build_settings(probability_two_random_records_match=1e-4), log_level=None)
    tf = {c: base.table_management.compute_tf_table(c).physical_name for c in TF_COLUMNS}
    settings = settings_from_model(base.misc.save_model_to_json(None), rules=list(WIDE_BLOCKING_RULES.values()))
    api = DuckDBAPI(connection=con)
    linker = Linker([api.register("wide_reg", dataset_display_name="register"),
                     api.register("wide_vax", dataset_display_name="vaccinations")], settings, log_level=None)
    for c, t in tf.items():
        linker.table_management.register_term_frequency_lookup(api.register(t), c)
    theirs = _frame(con, linker.inference.predict(warning_mode="never"))
    ours_pred, n = predict_pairs(con, settings, tf, left="wide_keys", right="wide_vax", left_name="register",
                                 right_name="vaccinations", threshold_match_probability=None, prefix="t_wide",
                                 score_left="link_reg")
    assert n == len(theirs) > 100
    pd.testing.assert_frame_equal(_frame(con, ours_pred), theirs, check_exact=False, rtol=1e-9)
