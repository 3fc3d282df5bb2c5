"""Report labels and number formatting per language."""

import pytest

from vaxstudy.report import i18n
from vaxstudy.report.i18n import fmt_date, fmt_estimate, fmt_interval, fmt_number, fmt_pct, t


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


def test_a_point_is_never_printed_as_an_end_it_is_not():
    """Recorded coverage 3.5% with an interval 0.003 points wide printed '3,5% (3,5%–3,5%)':
    the interval is narrower than the printed precision, and says so; where only one end rounds
    onto the point, more decimals tell them apart; a degenerate interval stays as it is."""
    assert fmt_estimate(0.035, [0.034987, 0.035013], "vi") == ("3,5%", "±<0,05 điểm %")
    assert fmt_estimate(0.035, [0.034987, 0.035013], "en") == ("3.5%", "±<0.05 pp")
    assert fmt_estimate(0.0354, [0.034, 0.03549], "vi") == ("3,54%", "3,40%–3,55%")
    assert fmt_estimate(0.354, [0.35, 0.36], "vi") == ("35,4%", "35,0%–36,0%")
    assert fmt_estimate(0.5, [0.5, 0.5], "vi") == ("50,0%", "50,0%–50,0%")
    assert fmt_estimate(0.5, None, "vi") == ("50,0%", "–")


def test_a_one_sided_interval_says_so():
    """Corrected coverage of a district whose links are all certain and to which no dose never
    entered is attributed can only rise: the point is its lower end, and the report says why."""
    assert fmt_estimate(0.026435, [0.026435, 0.02745], "en") == ("2.6%", "2.6%–2.7% (one-sided)")
    assert fmt_estimate(0.0, [0.0, 0.012], "vi") == ("0,0%", "0,0%–1,2% (một phía)")
    # an end within the printed precision: more decimals, not '±<'
    assert fmt_estimate(0.026435, [0.026435, 0.02645], "en") == ("2.644%", "2.644%–2.645% (one-sided)")
    assert "một phía" in t("methods_text", "vi", k=10) and "one-sided" in t("methods_text", "en", k=10)


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


def test_catalogues_hold_the_same_keys_in_both_languages():
    vi, en = i18n.catalogue("vi"), i18n.catalogue("en")
    for part in ("labels", "checks", "fields", "comparisons"):
        assert set(vi[part]) == set(en[part]), part
    assert len(vi["labels"]) > 100


def test_vietnamese_terms_of_the_health_sector():
    words = " ".join(i18n.catalogue("vi")["labels"].values())
    assert "trùng đối tượng" in words and "CSDL quốc gia về dân cư" in words
    for wrong in ("trùng người", "sổ dân cư", "Chẩn đoán", "Kiểm định", "kiểm định", "(subject)", "(manifest)"):
        assert wrong not in words, wrong
    assert "rest rest" not in " ".join(i18n.catalogue("en")["labels"].values())


def test_dates_through_babel_keep_two_digit_days_and_months():
    assert fmt_date("2021-03-08", "vi") == "08/03/2021"
    assert fmt_date("2021-03-08", "en") == "8 Mar 2021"


def test_timeliness_checks_sort_by_days_not_as_text():
    checks = ["entered_within_30d", "entered_within_7d", "entered_within_1d"]
    assert sorted(checks, key=i18n.check_order) == ["entered_within_1d", "entered_within_7d", "entered_within_30d"]


def test_splink_levels_in_vietnamese_never_in_english():
    assert i18n.level_label("dob", "dob exact", "vi") == "Ngày sinh: trùng khớp"
    assert i18n.level_label("surname", "surname ASCII Jaro-Winkler >= 0.88", "vi").startswith("Họ: gần giống")
    assert i18n.level_label("phone", "Exact match on phone", "vi") == "Số điện thoại: trùng khớp"
    assert i18n.level_label("sex", "All other comparisons", "vi") == "Giới tính: các trường hợp còn lại"
    assert i18n.level_label("dob", "some new English level", "vi") == "Ngày sinh: mức khác"
    assert i18n.level_label("dob", "dob exact", "en") == "Date of birth: dob exact"


def test_html_lang_follows_the_report_language():
    from vaxstudy.report.render import set_lang

    assert set_lang('<!DOCTYPE html>\n<html lang="en">\n<head>', "vi") == '<!DOCTYPE html>\n<html lang="vi">\n<head>'
    assert set_lang("<html><head>", "vi") == '<html lang="vi"><head>'


def test_quarantine_reasons_and_tables_in_vietnamese():
    assert i18n.reason_label("missing site_id") == "Thiếu mã điểm tiêm"
    assert i18n.reason_label("unparseable date vaccination_date") == "Không đọc được ngày ở cột ngày tiêm"
    assert i18n.reason_label("sex is not M or F") == "Giá trị không hợp lệ ở cột giới tính"
    assert i18n.reason_label("something nobody foresaw") == "Lý do khác (xem quarantine.csv)"
    assert i18n.reason_label("missing site_id", "en") == "missing site_id"
    assert i18n.table_label("vaccinations") == "Tiêm chủng"
