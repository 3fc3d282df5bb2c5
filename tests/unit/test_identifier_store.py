"""The privacy scan's identifier set kept beside the database: a kept set is used only when it
is what a set built now would be (same tables, columns, values and rules); otherwise the set is
built again, so the scan stays as strict as one built for the report."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from vaxstudy.report import identifier_store as store
from vaxstudy.report import privacy


def _db(tmp_path):
    db = tmp_path / "40.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE population AS SELECT * FROM (VALUES ('Lê Bảo Phú', '040190000001', '0912345678'), "
                    "('Trần Văn An', '040085000002', NULL)) t(full_name, person_id, phone)")
        con.execute("CREATE TABLE vaccinations_std AS SELECT * FROM (VALUES ('Ngô Thị Hoa', 'NGO THI HOA', "
                    "'040301000003', '84987654321')) t(name_original, name_norm, id_number, phone)")
    return db


def _parts(ids) -> list:
    return [(getattr(ids, p)._flush().tobytes(), getattr(ids, p).sizes) for p in store.PARTS]


def _no_build(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("built from the database")

    monkeypatch.setattr(privacy.Identifiers, "add_names_sql", refuse)
    monkeypatch.setattr(privacy.Identifiers, "add_numbers_sql", refuse)


def test_the_kept_set_is_the_set_built_from_the_database(tmp_path, monkeypatch):
    db = _db(tmp_path)
    built = privacy._load_or_build(str(db))  # no set kept yet: built, and kept
    assert store.path_for(db).exists()
    _no_build(monkeypatch)
    loaded = privacy._load_or_build(str(db))
    assert _parts(loaded) == _parts(built) and loaded.allowed == built.allowed
    assert ("ngô", "thị", "hoa") in loaded.names and ("ngo", "thi", "hoa") in loaded.folded_names
    assert "0987654321" in loaded.numbers and "040190000001" in loaded.numbers


@pytest.mark.parametrize("change", [
    "UPDATE vaccinations_std SET phone = '0911222333'",  # a number column of a standardised table
    "UPDATE population SET full_name = 'Đặng Thị Lan' WHERE person_id = '040085000002'",  # a raw name
    "INSERT INTO population VALUES ('Phạm Minh Tuấn', '040199000004', NULL)",  # a new row
    "CREATE TABLE vaccinations AS SELECT 'Hồ Văn Nam' AS full_name",  # a new source table
])
def test_a_changed_source_is_read_again(tmp_path, change):
    db = _db(tmp_path)
    privacy.store_identifiers(db)
    before = store.path_for(db).read_bytes()
    with duckdb.connect(str(db)) as con:
        con.execute(change)
    ids = privacy._load_or_build(str(db))
    new = {"UPDATE v": "0911222333", "UPDATE p": ("đặng", "thị", "lan"), "INSERT I": ("phạm", "minh", "tuấn"),
           "CREATE T": ("hồ", "văn", "nam")}[change[:8]]
    assert new in (ids.numbers if isinstance(new, str) else ids.names)
    assert store.path_for(db).read_bytes() != before  # kept again, for the next report


def test_a_kept_set_of_another_state_or_unsorted_is_not_used(tmp_path):
    db = _db(tmp_path)
    privacy.store_identifiers(db)
    path = store.path_for(db)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    fp = str(arrays["fingerprint"])
    empty = {p: (np.empty(0, dtype=np.int64), set()) for p in store.PARTS}
    store.save(path, empty, fp + "0")  # another database's set
    assert ("lê", "bảo", "phú") in privacy._load_or_build(str(db)).names
    keys = arrays["numbers_keys"][::-1].copy()  # right fingerprint, keys out of order
    assert len(keys) > 1
    store.save(path, {p: (keys if p == "numbers" else arrays[f"{p}_keys"], set(arrays[f"{p}_sizes"].tolist()))
                      for p in store.PARTS}, fp)
    assert store.load(path, fp) is None
    assert "040190000001" in privacy._load_or_build(str(db)).numbers
    path.write_bytes(b"PK not a zip")  # unreadable: built again
    assert ("lê", "bảo", "phú") in privacy._load_or_build(str(db)).names


def test_the_fingerprint_holds_rules_types_and_values(tmp_path):
    db = _db(tmp_path)
    with duckdb.connect(str(db), read_only=True) as con:
        names, numbers, types = store.source_columns(con)
        assert names == [("population", "full_name"), ("vaccinations_std", "name_original"),
                         ("vaccinations_std", "name_norm")]
        assert ("vaccinations_std", "phone") in numbers and ("population", "phone") in numbers
        fp = store.fingerprint(con, names + numbers, types, "rules")
        assert fp == store.fingerprint(con, names + numbers, types, "rules")
        assert fp != store.fingerprint(con, names + numbers, types, "other rules")
        assert fp != store.fingerprint(con, names + numbers, {**types, ("population", "phone"): "BIGINT"}, "rules")
    with duckdb.connect(str(db)) as con:  # the same values in another row order: the same set
        con.execute("CREATE OR REPLACE TABLE population AS SELECT * FROM population ORDER BY person_id DESC")
    with duckdb.connect(str(db), read_only=True) as con:
        assert store.fingerprint(con, names + numbers, types, "rules") == fp


def test_an_unwritable_place_keeps_nothing_and_the_set_is_still_built(tmp_path):
    assert not store.save(tmp_path / "missing" / "x.npz", {p: (np.empty(0, dtype=np.int64), set())
                                                            for p in store.PARTS}, "fp")
    assert not list(tmp_path.rglob("*.tmp"))
