"""Name rules: NFC, tone-mark convention, case/space, ASCII form, Vietnamese name parts."""

import unicodedata

import pytest

from vaxstudy.standardize.names import (
    NAME_COLUMNS,
    name_table,
    normalize_name,
    place_tone,
    split_name,
    standardize_name,
    to_ascii,
)


@pytest.mark.parametrize(
    "variants, expected",
    [
        (["hoà", "hòa", "HOÀ", "Hoà"], "hòa"),
        (["thuý", "thúy"], "thúy"),
        (["thuỷ", "thủy"], "thủy"),
        (["quỳ", "qùy"], "quỳ"),
        (["khoẻ", "khỏe"], "khỏe"),
        (["nguyễn", "nguyên\u0303", "ngũyên"], "nguyễn"),  # tone typed on the wrong vowel
        (["người", "ngừơi"], "người"),
        (["hoài", "hòai"], "hoài"),
        (["khuỷu", "khủyu"], "khuỷu"),
        (["giữ", "gĩư"], "giữ"),
        (["già"], "già"),
        (["gì"], "gì"),
        (["hoàn", "hòan"], "hoàn"),
        (["quý", "qúy"], "quý"),
        (["mía"], "mía"),
    ],
)
def test_one_tone_convention(variants, expected):
    for v in variants:
        assert place_tone(v.lower()) == expected, v
        # also from decomposed (NFD) input
        assert place_tone(unicodedata.normalize("NFD", v.lower())) == expected, v


@pytest.mark.parametrize(
    "raw, norm",
    [
        ("Nguyễn Thị Hoà", "nguyễn thị hòa"),
        ("  NGUYỄN   thị  HOÀ ", "nguyễn thị hòa"),
        (unicodedata.normalize("NFD", "Nguyễn Thị Hòa"), "nguyễn thị hòa"),
        ("Trần Văn An.", "trần văn an"),
        ("Lê-Thị Thuý", "lê thị thúy"),
        ("Bùi\tQuỳnh\nAnh", "bùi quỳnh anh"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_normalize_name(raw, norm):
    assert normalize_name(raw) == norm
    if norm:
        assert unicodedata.is_normalized("NFC", norm)


@pytest.mark.parametrize(
    "text, ascii_",
    [("đặng văn đức", "dang van duc"), ("Đỗ Thị Ánh", "Do Thi Anh"), ("nguyễn thị hòa", "nguyen thi hoa"),
     ("trương ưng", "truong ung")],
)
def test_to_ascii(text, ascii_):
    assert to_ascii(text) == ascii_


@pytest.mark.parametrize(
    "norm, parts",
    [
        ("nguyễn thị hòa", ("nguyễn", "thị", "hòa")),
        ("trần an", ("trần", "", "an")),
        ("tôn nữ thị ngọc lan", ("tôn", "nữ thị ngọc", "lan")),
        ("lan", ("", "", "lan")),
        (None, ("", "", "")),
    ],
)
def test_split_name(norm, parts):
    assert split_name(norm) == parts


def test_standardize_name_columns():
    out = standardize_name("ĐẶNG Thị Thuý  Hằng")
    assert out == {
        "name_norm": "đặng thị thúy hằng", "name_ascii": "dang thi thuy hang",
        "surname": "đặng", "middle_name": "thị thúy", "given_name": "hằng",
        "surname_ascii": "dang", "middle_name_ascii": "thi thuy", "given_name_ascii": "hang",
    }


def test_name_table_is_one_row_per_distinct_name():
    df = name_table(["Hoà", "Hoà", "Hòa", None, "An"])
    assert sorted(df["name_original"]) == ["An", "Hoà", "Hòa"]
    assert set(df.loc[df["name_original"].isin(["Hoà", "Hòa"]), "name_norm"]) == {"hòa"}


TRICKY_NAMES = [
    "Nguyễn Thị Hoà", "NGUYỄN  THỊ   HÒA", "nguyen thi hoa", "Đặng Thị Thuỳ Hằng", "đỗ", "Hoà",
    "Lê\tVăn\u00a0Tám", " Trần-Văn.Bình 2 ", "123", "...", "", "   ", "Phạm Thị Thu Thủy",
    "Nguye\u0302\u0303n Va\u0306n", "Hùng\u0301", "İnci Öz", "Tôn Nữ Diệu Ái", "Ngô Khuỷu Quỳ Giữ",
    "ÐINH VĂN ĐỨC", "Văn_Hòa", "Ưng O\u031b", "hoà hoà hoà", "A B", "ß Straße", "Mạc\u0340 Đĩnh Chi",
]


def test_name_table_equals_standardize_name_per_value():
    """The word-by-word table gives, for every value, what standardize_name gives for it."""
    df = name_table(TRICKY_NAMES)
    assert list(df.columns) == ["name_original", *NAME_COLUMNS]
    got = {r["name_original"]: {c: r[c] for c in NAME_COLUMNS} for r in df.to_dict("records")}
    assert len(got) == len(set(TRICKY_NAMES))
    for name in TRICKY_NAMES:
        assert got[name] == standardize_name(name), name
    # the caches are per word: a word met as surname then given keeps its own parts
    assert got["hoà hoà hoà"]["given_name_ascii"] == "hoa" and got["đỗ"]["surname"] == ""
    assert got["123"]["name_norm"] is None and got["Đặng Thị Thuỳ Hằng"]["middle_name_ascii"] == "thi thuy"
