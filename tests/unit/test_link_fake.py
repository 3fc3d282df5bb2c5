"""A tiny, hand-rolled standardised province for the linkage unit tests.

Writes population_std / vaccinations_std straight into a DuckDB file (the
columns of docs/design.md), with a truth table, so the linkage can be tested
without the synth/ingest/standardize stages. Noise is deliberately simple:
missing diacritics, one-letter typos, year-only and swapped dates of birth,
missing / mistyped / CMND ID numbers, missing phones and communes, people
outside the register, duplicate profiles and doses typed twice.
"""

from __future__ import annotations

import duckdb

from helpers.linkfake import make_std_db


def test_fake_province_shape(tmp_path):
    truth = make_std_db(tmp_path / "f.duckdb", n_persons=50, seed=1)
    con = duckdb.connect(str(tmp_path / "f.duckdb"))
    n_pop = con.execute("SELECT count(*) FROM population_std").fetchone()[0]
    n_vax = con.execute("SELECT count(*) FROM vaccinations_std").fetchone()[0]
    assert 40 <= n_pop <= 50
    assert n_vax == len(truth) and n_vax >= 50
    assert con.execute("SELECT count(DISTINCT record_id) FROM vaccinations_std").fetchone()[0] == n_vax
