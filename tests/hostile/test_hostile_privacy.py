"""The privacy scan (issue 17): names that fold into the report's own Vietnamese wording do
not stop a report; real leaks (a name with or without diacritics, an ID number, a phone) in
any file of the shareable folder still do."""

from __future__ import annotations

import json
import re

import duckdb
import pandas as pd
import pytest
from conftest import run_cli  # noqa: F401  (keeps the hostile helpers importable side by side)

from vaxstudy.report import privacy
from vaxstudy.report.i18n import LABELS


def _report_wording() -> str:
    """Every Vietnamese label of the report, as one text."""
    return "\n".join(v["vi"] for v in LABELS.values())


def _names_folding_into(text: str) -> list[str]:
    """Residents' names that fold into 3 words of ``text`` written there with diacritics:
    each window of the wording holding a diacritic, typed without them ("Le Bao Phu" for
    "lệ bao phủ"), as the registry holds many names."""
    words = [w for w in re.split(r"[^\w]+", text) if w and not w.isdigit() and "_" not in w]
    out = set()
    for i in range(len(words) - 2):
        w = words[i:i + 3]
        if any(privacy.fold(x) != x.lower() for x in w):
            out.add(" ".join(privacy.fold(x) for x in w).title())
    return sorted(out)


def test_a_name_that_folds_into_the_report_wording_is_no_leak():
    ids = privacy.Identifiers(allowed=privacy.place_names())
    ids.add_names(["Lê Bảo Phú", "Nguyễn Thị Hoà"])
    assert privacy.scan_text("Tỷ lệ bao phủ mũi 1: 95,2% · tỷ lệ bao phủ theo huyện", ids) == []
    # the same names as data would print them: found, with or without diacritics, any case
    for leak in ("Lê Bảo Phú", "LÊ BẢO PHÚ", "le bao phu", "Le Bao Phu", "nguyen thi hoa"):
        found = privacy.scan_text(f"<td>{leak}</td>", ids)
        assert [f.kind for f in found] == ["name"], leak


def test_every_name_folding_into_the_wording_passes_and_still_leaks_in_plain_text():
    wording = _report_wording()
    names = _names_folding_into(wording)
    assert len(names) > 500 and "Le Bao Phu" in names
    ids = privacy.Identifiers()
    ids.add_names(names)
    assert privacy.scan_text(wording, ids) == []
    for name in names[:: max(1, len(names) // 60)]:  # the same names printed from data
        assert [f.kind for f in privacy.scan_text(f"<td>{name}</td>", ids)] == ["name"], name


def _shareable_folder(tmp_path, extra: dict[str, object]):
    run = tmp_path / "40_2021-06-01_2021-08-31"
    (run / "data_quality").mkdir(parents=True)
    (run / "report.html").write_text("<h1>Tỷ lệ bao phủ</h1><p>95,2%</p>", encoding="utf-8")
    (run / "metrics.json").write_text(json.dumps({"coverage_dose1": 0.952, "n_records": 12345678}))
    pd.DataFrame({"site_id": ["TYT40001"], "n": [3]}).to_parquet(run / "data_quality" / "sites.parquet")
    (run / "figure.png").write_bytes(b"\x89PNG 040190000001")  # pictures are not text
    for name, content in extra.items():
        p = run / name
        if isinstance(content, pd.DataFrame):
            content.to_parquet(p) if name.endswith(".parquet") else content.to_csv(p, index=False)
        else:
            p.write_text(str(content), encoding="utf-8")
    return run


def _ids():
    ids = privacy.Identifiers(allowed=privacy.place_names())
    ids.add_names(["Lê Bảo Phú", "Trần Văn An"])
    ids.add_numbers(["040190000001", "0912345678"])
    return ids


def test_a_clean_shareable_folder_passes(tmp_path):
    run = _shareable_folder(tmp_path, {})
    assert privacy.scan_folder(run, _ids()) == []
    privacy.assert_folder_clean(run, _ids())


@pytest.mark.parametrize("name, content, kind", [
    ("record_links.parquet", pd.DataFrame({"record_id": ["r1"], "person_id": ["040190000001"]}), "number"),
    ("quarantine.csv", pd.DataFrame({"reason": ["x"], "raw": ['{"phone": "+84 912 345 678"}']}), "number"),
    ("data_quality/worst.csv", pd.DataFrame({"name": ["Tran Van An"]}), "name"),
    ("notes.md", "Resident Lê Bảo Phú was vaccinated twice", "name"),
])
def test_a_leak_anywhere_in_the_shareable_folder_fails_closed(tmp_path, name, content, kind):
    run = _shareable_folder(tmp_path, {name: content})
    found = privacy.scan_folder(run, _ids())
    assert [(f.file, f.kind) for f in found] == [(name, kind)]
    assert "040190000001" not in str(found[0]) and "Phú" not in str(found[0])  # masked
    with pytest.raises(privacy.PrivacyError, match=re.escape(name)):
        privacy.assert_folder_clean(run, _ids())


def test_an_unreadable_table_fails_closed(tmp_path):
    run = _shareable_folder(tmp_path, {})
    (run / "broken.parquet").write_bytes(b"PAR1 not really")
    assert [f.kind for f in privacy.scan_folder(run, _ids())] == ["unreadable"]


def test_identifiers_are_built_once_per_database(tmp_path):
    db = tmp_path / "db.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE population AS SELECT 'Lê Bảo Phú' AS full_name, '040190000001' AS person_id, "
                    "'0912345678' AS phone")
    a = privacy.identifiers_from_db(db)
    assert privacy.identifiers_from_db(db) is a  # no second pass over the names
    assert ("lê", "bảo", "phú") in a.names and "040190000001" in a.numbers
    with duckdb.connect(str(db)) as con:  # a changed database is read again
        con.execute("INSERT INTO population VALUES ('Trần Văn An', '040085000002', NULL)")
    assert privacy.identifiers_from_db(db) is not a


def test_identifiers_in_any_written_form_are_found():
    import unicodedata

    ids = privacy.Identifiers()
    ids.add_names([unicodedata.normalize("NFD", "Đặng Thị  Hoà"), "Ngô-Bảo Châu", None, 5, "An", ""])
    ids.add_numbers(["84912345678", 40190000001, None, "1234"])
    assert len(ids.names) == 2 and ids.names.sizes == {3}
    for text in ("ĐẶNG THỊ HOÀ", "dang thi hoa", "Ngô Bảo Châu", "ngo bao chau"):
        assert [f.kind for f in privacy.scan_text(f"<b>{text}</b>", ids)] == ["name"], text
    for text in ("0912 345 678", "+84-912-345-678", "40190000001"):
        assert [f.kind for f in privacy.scan_text(f"tel {text}", ids)] == ["number"], text
    assert privacy.scan_text("An, 1234, Đặng Thị", ids) == []


def test_the_database_builds_the_same_set_as_the_python_rules():
    """identifiers_from_db normalises, splits and hashes in SQL: for every character the SQL
    path takes, DuckDB's lower-casing, accent stripping and word class agree with Python's;
    hostile values (decomposed, ß, İ, other scripts' digits, place names) give the same keys."""
    import unicodedata

    import numpy as np

    chars = [chr(c) for lo, hi in privacy.SQL_RANGES for c in range(lo, hi + 1)
             if chr(c) not in privacy.SQL_UNSAFE]
    con = duckdb.connect()
    rows = con.execute("SELECT c, lower(c), replace(strip_accents(lower(c)), 'đ', 'd'), "
                       "regexp_matches(c, '[\\p{L}\\p{N}_]'), nfc_normalize(c) FROM unnest($1) t(c)",
                       [chars]).fetchall()
    for c, low, folded, word, nfc in rows:
        assert low == unicodedata.normalize("NFC", c).casefold() and nfc == unicodedata.normalize("NFC", c), c
        assert word == bool(re.match(r"\w", c)), c
        if word:
            assert folded == privacy.fold(low), c
    names = ["Đặng Thị  Hoà", unicodedata.normalize("NFD", "Ngô Bảo Châu"), "Strauß Ágnes", "İlker Şahin",
             "ÆSIR ØLAND", "Lê-Văn_Tám", "Hoàng Mai", "Thị xã Hoàng Mai", "An", "Vũ Thị ẞ Lan", "Trần\tVăn An"]
    numbers = ["84912345678", "0912 345 678", "+84-912-345-678", "١٢٣٤٥٦٧٨٩", "040190000001", "1234", "0xx12345678"]
    con.execute("CREATE TABLE population AS SELECT unnest($1) AS full_name, unnest($2) AS phone",
                [names + [None] * (len(numbers) - len(names)), numbers + [None] * (len(names) - len(numbers))])
    by_sql = privacy.Identifiers(allowed=privacy.place_names())
    by_sql.add_names_sql(con, [("population", "full_name")])
    by_sql.add_numbers_sql(con, [("population", "phone")])
    by_py = privacy.Identifiers(allowed=privacy.place_names())
    by_py.add_names(names)
    by_py.add_numbers(numbers)
    for part in ("names", "folded_names", "numbers", "words", "folded_words"):
        a, b = getattr(by_sql, part), getattr(by_py, part)
        assert np.array_equal(a._flush(), b._flush()) and a.sizes == b.sizes, part
    assert len(by_sql.names) == 9  # "An" is one word, "Hoàng Mai" a place
    assert privacy.scan_text("<td>strauss agnes</td> <td>0912345678</td>", by_sql)[0].kind == "number"


def test_decimals_and_place_names_are_no_identifiers_but_the_same_digits_and_names_alone_are():
    """At full scale millions of 9-12 digit numbers make the tail of a printed fraction
    (0.010469057942451714) collide with some ID; a resident named "Hà Huy" is a sub-name of
    the ward "Hà Huy Tập". Neither is a leak; the number or the name on its own still is."""
    ids = privacy.Identifiers(allowed=privacy.place_names())
    ids.add_names(["Hà Huy", "Nguyễn Văn An"])
    ids.add_numbers(["010469057", "0912345678", "40190000001"])
    clean = "value 0.010469057942451714, 12.3010469057 · Trạm Y tế phường Hà Huy Tập"
    assert privacy.scan_text(clean, ids) == []
    for leak, kind in (("id 010469057", "number"), ("tel 0912.345678", "number"), ("40190000001.0", "number"),
                       ("Hà Huy, phường Hà Huy Tập", "name"), ("Nguyễn Văn An", "name")):
        assert [f.kind for f in privacy.scan_text(leak, ids)] == [kind], leak
