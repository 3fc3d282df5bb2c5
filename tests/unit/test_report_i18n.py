"""Report labels and number formatting per language."""

import pytest

from vaxstudy.report import i18n
from vaxstudy.report.i18n import fmt_date, fmt_interval, fmt_number, fmt_pct, t


def test_number_formatting_per_language():
    assert fmt_number(1234.5, "vi", 1) == "1.234,5"
    assert fmt_number(1234.5, "en", 1) == "1,234.5"
    assert fmt_number(1234567, "vi") == "1.234.567"
    assert fmt_number(None, "vi") == "–"
    assert fmt_number(float("nan"), "en") == "–"


def test_percent_and_interval():
    assert fmt_pct(0.8734, "vi") == "87,3%"
    assert fmt_pct(0.8734, "en") == "87.3%"
    assert fmt_interval([0.851, 0.89], "en") == "85.1%–89.0%"
    assert fmt_interval(None, "vi") == "–"


def test_dates():
    assert fmt_date("2021-10-31", "vi") == "31/10/2021"
    assert fmt_date("2021-10-31", "en") == "31 Oct 2021"


def test_every_label_has_both_languages_and_they_differ_where_words():
    for key, texts in i18n.LABELS.items():
        assert set(texts) == {"vi", "en"}, key
        assert texts["vi"] and texts["en"], key
    assert t("sec_summary") == "Tóm tắt trong một phút"  # Vietnamese by default
    assert t("sec_summary", "en") == "One-minute summary"


def test_unknown_language_is_refused():
    with pytest.raises(ValueError):
        t("sec_summary", "fr")


def test_check_labels():
    from vaxstudy.report.i18n import check_label

    assert check_label("empty:phone") == "Trống: số điện thoại"
    assert check_label("empty:phone", "en") == "Empty: phone"
    assert check_label("dose2_too_soon", "en") == "Dose 2 too soon after dose 1"
    assert check_label("something_new") == "something_new"
