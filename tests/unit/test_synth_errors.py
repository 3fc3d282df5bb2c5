"""The widened error catalogue (synth/errors.py): each kind changes its field as described,
only where flagged; the rows of a profile may be typed again; the CLI sets the rates."""

from __future__ import annotations

import json
import unicodedata

import numpy as np
import pandas as pd
import pytest

from vaxstudy.synth import errors, generate, names as nm
from vaxstudy.synth.params import ERROR_KINDS, NEW_ERROR_KINDS, SynthParams

RATE = 0.3


def _read(d, name):
    return pd.read_csv(d / f"{name}.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def high(tmp_path_factory):
    """Every new kind at 0.3 (they are exclusive within a field, so 0.3 of each is too much
    for dob and id: those are split), the original noise off, one row per subject."""
    kw = {k: 0.0 for k in SynthParams.model_fields
          if k.startswith(("name_", "dob_", "id_", "phone_", "commune_", "address_", "sex_"))}
    kw.update({k: 0.2 for k in NEW_ERROR_KINDS})
    kw.update(retype_visit=0.5)
    d = generate(tmp_path_factory.mktemp("synth_err"), scale=0.002, seed=4, new_subject_rate=0.0,
                 dup_dose_rate=0.0, **kw)
    v = _read(d, "vaccinations").merge(_read(d, "truth"), on="record_id")
    pop = _read(d, "population")
    m = v.merge(pop, left_on="true_person_id", right_on="person_id", suffixes=("", "_reg"))
    flags = pd.read_parquet(d / "truth_profiles.parquet")
    rec = pd.read_parquet(d / "truth_records.parquet")[["record_id", "fields_retyped"]]
    return d, m.merge(flags, on="subject_id").merge(rec, on="record_id")


def _norm(s):
    return unicodedata.normalize("NFC", s)


def test_each_kind_changes_only_its_field(high):
    _, m = high
    m = m[~m["fields_retyped"]]
    y, mo, dd = (m["date_of_birth"].str[6:], m["date_of_birth"].str[3:5], m["date_of_birth"].str[:2])
    ry, rmo, rdd = (m["date_of_birth_reg"].str[:4], m["date_of_birth_reg"].str[5:7], m["date_of_birth_reg"].str[8:])
    off1 = m["dob_year_off1"]
    assert off1.mean() > 0.1
    assert ((y[off1].astype(int) - ry[off1].astype(int)).abs() == 1).all()
    assert ((mo == rmo) & (dd == rdd))[off1].all()
    off10 = m["dob_year_off10"]
    assert ((y[off10].astype(int) - ry[off10].astype(int)).abs() == 10).all() and (mo == rmo)[off10].all()
    ph = m["dob_placeholder"]
    assert ((dd == "01") & (mo == "01") & (y == ry))[ph].all()
    lun = m["dob_lunar"]
    shift = pd.to_datetime(m.loc[lun, "date_of_birth_reg"]) - pd.to_datetime(m.loc[lun, "date_of_birth"], format="%d/%m/%Y")
    assert shift.dt.days.between(20, 50).all()
    clean = ~(off1 | off10 | ph | lun)
    assert (m.loc[clean, "date_of_birth"].str[6:] + m.loc[clean, "date_of_birth"].str[2:6]
            == m.loc[clean, "date_of_birth_reg"].str[:4] + "/" + rmo[clean] + "/").all()

    idd = m["id_digit"]
    diff = [sum(a != b for a, b in zip(x, t)) for x, t in zip(m.loc[idd, "id_number"], m.loc[idd, "person_id"])]
    assert idd.mean() > 0.1 and set(diff) == {1}
    assert (m.loc[idd, "id_number"].str[:3] != m.loc[idd, "person_id"].str[:3]).any()  # province digits too
    sx = m["id_sex_digit"]
    assert ((m.loc[sx, "id_number"].str[3] != m.loc[sx, "person_id"].str[3])
            & (m.loc[sx, "id_number"].str[4:] == m.loc[sx, "person_id"].str[4:])).all()
    hh = m["id_household"]
    assert hh.any() and (m.loc[hh, "id_number"] != m.loc[hh, "person_id"]).all()

    perm = m["name_permute"]
    assert perm.any()
    assert all(sorted(_norm(a).split()) == sorted(b.split()) and _norm(a) != b and _norm(a) != nm.swap_parts(b)
               for a, b in zip(m.loc[perm, "full_name"], m.loc[perm, "full_name_reg"]))
    drop = m["name_middle_drop"]
    assert drop.any() and all(_norm(a).split() == [b.split()[0], b.split()[-1]] for a, b in zip(m.loc[drop, "full_name"], m.loc[drop, "full_name_reg"]))
    add = m["name_middle_add"]
    assert add.any() and all(len(_norm(a).split()) == len(b.split()) + 1 for a, b in zip(m.loc[add, "full_name"], m.loc[add, "full_name_reg"]))
    assert (m.loc[~(perm | drop | add), "full_name"].map(_norm) == m.loc[~(perm | drop | add), "full_name_reg"]).all()

    sw = m["sex_wrong"]
    true_sex = m["sex_reg"].map({"M": "Nam", "F": "Nữ"})
    assert sw.mean() > 0.1 and (m.loc[sw, "sex"] != true_sex[sw]).all() and (m.loc[~sw, "sex"] == true_sex[~sw]).all()
    nb = m["commune_neighbour"]
    assert nb.mean() > 0.1 and (m.loc[nb, "commune_code"] != m.loc[nb, "commune_code_reg"]).all()
    assert ((m.loc[nb, "commune_code"].astype(int) - m.loc[nb, "commune_code_reg"].astype(int)).abs() < 60).all()
    assert (m.loc[~nb, "commune_code"] == m.loc[~nb, "commune_code_reg"]).all()
    ph = m["phone_household"]
    assert ph.any()


def test_retyped_rows_differ_within_a_profile(high):
    _, m = high
    assert 0.1 < m.loc[m.duplicated("subject_id"), "fields_retyped"].mean() < 0.9
    assert not m.loc[~m.duplicated("subject_id"), "fields_retyped"].any()
    cols = ["full_name", "date_of_birth", "sex", "id_number", "phone", "commune_code"]
    n_variants = m.groupby("subject_id")[cols].nunique().max(axis=1)
    assert (n_variants > 1).any()


def test_household_others_are_other_members():
    persons = pd.DataFrame({
        "household": [0, 0, 0, 1, 2, 2, -1], "cmnd": ["c0", "", "c2", "c3", "", "", ""],
        "person_id": ["p0", "p1", "p2", "p3", "p4", "p5", "p6"],
        "own_phone": ["f0", "f1", "", "f3", "f4", "f5", "f6"]})
    ids, phones = errors.household_others(persons, np.random.default_rng(0))
    assert ids[3] == "" and ids[6] == "" and phones[3] == ""
    assert ids[4] == "p5" and ids[5] == "p4" and phones[4] == "f5"
    assert ids[0] in {"p1", "c2"} and ids[1] in {"c0", "c2"} and ids[2] in {"c0", "p1"}


def test_cli_error_option(tmp_path):
    from typer.testing import CliRunner

    from vaxstudy.cli import app

    out = tmp_path / "cli"
    r = CliRunner().invoke(app, ["synth", "--out", str(out), "--scale", "0.0005", "--seed", "3",
                                 "--error", "dob_year_off1=0.2", "--error", "name_typo=0.1"])
    assert r.exit_code == 0, r.output
    s = json.loads((out / "truth_summary.json").read_text(encoding="utf-8"))
    assert s["generator"]["params"]["dob_year_off1"] == 0.2 and s["generator"]["params"]["name_typo"] == 0.1
    for bad in ("tally_error_rate=0.1", "dob_year_off1=2", "dob_year_off1=x"):
        assert CliRunner().invoke(app, ["synth", "--out", str(out), "--error", bad]).exit_code != 0
    assert "tally_error_rate" not in ERROR_KINDS and set(NEW_ERROR_KINDS) <= set(ERROR_KINDS)
