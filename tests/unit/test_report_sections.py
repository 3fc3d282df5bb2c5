"""Report sections, figures and the privacy scan on a hand-made run (no other stage needed)."""

from __future__ import annotations

import json
import re
from datetime import date

import duckdb
import numpy as np
import pytest
from IPython.display import Markdown

from vaxstudy.report import figures as F
from vaxstudy.report import privacy
from vaxstudy.report.sections import SECTIONS, Report, section_ids
from vaxstudy.report.suppress import MARK
from helpers.reportrun import make_run, write_report_tables


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("rep"))


def test_every_section_renders_with_headings_and_figures(run):
    run_dir, db, _ = run
    rep = Report(run_dir=run_dir, db_path=db, province="40", period_start="2021-09-01",
                 period_end="2021-10-31")
    html = rep.html()
    for sid in section_ids():
        assert f'id="{sid}"' in html
    # district, age, sex, entry gap, duplicates, histogram, basis, model weights
    assert len(re.findall(r'<img alt="[^"]+"[^>]*src="data:image/png;base64,', html)) >= 8  # with alt text
    assert "Tóm tắt trong một phút" in html and "85,0%" in html


def test_english_labels_and_numbers(run):
    run_dir, db, _ = run
    html = Report(run_dir=run_dir, db_path=db, language="en", period_start="2021-09-01",
                  period_end="2021-10-31").html()
    assert "One-minute summary" in html and "85.0%" in html
    assert "Tóm tắt" not in html


def test_small_district_is_suppressed_in_table_and_figure(run):
    run_dir, db, _ = run
    rep = Report(run_dir=run_dir, db_path=db, period_start="2021-09-01", period_end="2021-10-31")
    html = "".join(o.data for o in rep.coverage_district() if hasattr(o, "data") and isinstance(o.data, str))
    row = re.search(r"<tr><td class=\"txt\">Quế Phong</td>(.*?)</tr>", html).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[0] == MARK  # 6 adults
    assert cells[1] == MARK and cells[3] == MARK  # dose-1 and dose-2 coverage hidden
    # secondary suppression: another district's dose-1 coverage is hidden as well
    body = re.findall(r"<tr><td class=\"txt\">([^<]*)</td>(.*?)</tr>", html)
    hidden_d1 = [n for n, r in body if re.findall(r"<td[^>]*>(.*?)</td>", r)[1] == MARK]
    assert len(hidden_d1) >= 2


def test_same_inputs_same_figures(run):
    run_dir, db, _ = run
    a = Report(run_dir=run_dir, db_path=db, period_start="2021-09-01", period_end="2021-10-31").html()
    b = Report(run_dir=run_dir, db_path=db, period_start="2021-09-01", period_end="2021-10-31").html()
    imgs = lambda h: re.findall(r'data:image/png;base64,([A-Za-z0-9+/=]+)', h)  # noqa: E731
    assert imgs(a) == imgs(b) and len(imgs(a)) >= 8


def test_privacy_scan_is_clean_and_catches_a_leak(run, tmp_path):
    run_dir, db, inputs = run
    html = Report(run_dir=run_dir, db_path=db, period_start="2021-09-01", period_end="2021-10-31").html()
    out = tmp_path / "r.html"
    out.write_text(html, encoding="utf-8")
    ids = privacy.identifiers_from_db(db)
    assert len(ids) > 300
    assert privacy.scan_files([out], ids) == []
    pop = inputs["population"]
    leak = tmp_path / "leak.html"
    leak.write_text(html + f"<p>{pop.full_name[3].upper()}</p><p>0{pop.phone[5][1:4]} {pop.phone[5][4:]}</p>"
                    + f"<p>{pop.person_id[7]}</p>", encoding="utf-8")
    kinds = sorted(f.kind for f in privacy.scan_files([leak], ids))
    assert kinds == ["name", "number", "number"]
    with pytest.raises(privacy.PrivacyError):
        privacy.assert_clean([leak], ids)


def test_privacy_scan_finds_names_typed_without_diacritics(tmp_path):
    ids = privacy.Identifiers()
    ids.add_names(["Nguyễn Thị Hoà"])
    ids.add_numbers(["+84 912 345 678"])
    f = tmp_path / "x.ipynb"
    nb = {"cells": [{"outputs": [{"data": {"text/plain": "ca: nguyen thi hoa", "image/png": "0912345678"}}]}]}
    f.write_text(json.dumps(nb))
    assert [x.kind for x in privacy.scan_files([f], ids)] == ["name"]  # images are not text
    f.write_text(json.dumps({"text": "goi 0912.345.678"}))
    assert [x.kind for x in privacy.scan_files([f], ids)] == ["number"]


def test_place_names_are_not_person_names():
    ids = privacy.Identifiers(allowed=privacy.place_names())
    ids.add_names(["Hoàng Mai", "Hoàng Thị Mai"])  # a town of Nghệ An, and a person
    found = privacy.scan_text("Thị xã Hoàng Mai: 95% · hoàng thị mai", ids)
    assert [f.kind for f in found] == ["name"]


def test_quarantine_reasons_drop_values():
    from vaxstudy.report.data import generic_reason

    assert generic_reason("duplicate person_id 040123456789 (first at row 3)") == "duplicate person_id"
    assert generic_reason("unparseable date date_of_birth=31/02/1990 (expected ISO)") == "unparseable date date_of_birth"
    assert generic_reason("dose_number=x is not an integer >= 1") == "dose_number is not an integer >= 1"
    assert generic_reason("missing full_name") == "missing full_name"


def test_figures_are_deterministic_and_hide_small_bins():
    probs = np.r_[np.full(3, 0.42), np.linspace(0.9, 1.0, 200)]
    a = F.to_png(F.match_probability_hist(probs, threshold=10))
    b = F.to_png(F.match_probability_hist(probs, threshold=10))
    assert a == b and a[:8] == b"\x89PNG\r\n\x1a\n"
    c = F.to_png(F.match_probability_hist(np.linspace(0.9, 1.0, 200), threshold=10))
    assert a != c


def test_small_histogram_bins_are_merged_not_shown():
    counts, edges = F.merge_small_bins([0, 3, 0, 50, 2, 400], [0, 1, 2, 3, 4, 5, 6], threshold=10)
    assert counts.tolist() == [0, 53, 402] and edges.tolist() == [0, 1, 4, 6]
    assert counts.sum() == 455  # nothing lost
    counts, _ = F.merge_small_bins([4, 0, 0], [0, 1, 2, 3], threshold=10)
    assert counts.tolist() == [4, 0, 0]  # nothing to merge with: left as is (total below threshold)


def test_probability_bands_show_how_near_one_the_links_are():
    probs = np.r_[np.full(3, 0.42), np.full(40, 0.95), np.full(500, 0.99995)]
    labels, counts = F.probability_bands(probs, threshold=10, language="en")
    # the 3 links below 50% are merged into the next non-empty band
    assert counts.tolist() == [43, 0, 0, 500]
    assert labels == ["< 99.00%", "99.00%–99.90%", "99.90%–99.99%", "≥ 99.99%"]


def test_unknown_section_is_refused(run):
    run_dir, db, _ = run
    with pytest.raises(KeyError):
        Report(run_dir=run_dir, db_path=db).section("nope")
    assert len(SECTIONS) == 9


def test_missing_entries_split_into_not_yet_and_never_entered(tmp_path):
    run_dir, db, _ = make_run(tmp_path / "split")
    m = json.loads((run_dir / "metrics.json").read_text())
    m.update({"extract_date": "2021-11-03", "missing_entry_rate": 0.08, "missing_entry_rate_ci": [0.07, 0.09],
              "late_entry_rate": 0.05, "late_entry_rate_ci": [0.045, 0.056],
              "never_entered_rate": 0.03, "never_entered_rate_ci": [0.02, 0.04]})
    (run_dir / "metrics.json").write_text(json.dumps(m))
    kw = dict(run_dir=run_dir, db_path=db, province="40", period_start="2021-09-01", period_end="2021-10-31")
    en = Report(language="en", **kw)
    text = "".join(str(getattr(x, "data", x)) for x in en.summary() + en.entry_gap())
    assert "3 Nov 2021" in text and "not yet entered but expected" in text and "likely never entered" in text
    assert text.count("5.0%") >= 2 and "3.0%" in text  # summary and missing-entry section
    vi = Report(language="vi", **kw)
    text = "".join(str(getattr(x, "data", x)) for x in vi.summary())
    assert "03/11/2021" in text and "dự kiến sẽ được nhập" in text and "không bao giờ" in text
    # metrics without the split (an older run): no sentence, no error
    m2 = {k: v for k, v in m.items() if k not in ("late_entry_rate", "never_entered_rate")}
    (run_dir / "metrics.json").write_text(json.dumps(m2))
    assert "likely never entered" not in "".join(
        str(getattr(x, "data", x)) for x in Report(language="en", **kw).summary())


def test_the_entry_lags_alone_beside_the_split(tmp_path):
    """The missing-entry section gives the not-yet-entered share by the entry lags alone
    (late_doses_lag_model over the tallied doses, as late_entry_rate is late_doses over them) and
    what a rise of the never-entered share in the last days would mean; the summary stays as it is."""
    run_dir, db, _ = make_run(tmp_path / "lag")
    base = json.loads((run_dir / "metrics.json").read_text())
    base.update({"extract_date": "2021-11-03", "n_tally_doses": 1000, "missing_entry_rate": 0.08,
                 "missing_entry_rate_ci": [0.07, 0.09], "late_entry_rate": 0.05, "late_entry_rate_ci": [0.045, 0.056],
                 "never_entered_rate": 0.03, "never_entered_rate_ci": [0.02, 0.04]})
    kw = dict(run_dir=run_dir, db_path=db, province="40", period_start="2021-09-01", period_end="2021-10-31")

    def texts(nowcast, language):
        (run_dir / "metrics.json").write_text(json.dumps({**base, "method": {"nowcast": nowcast}}))
        rep = Report(language=language, **kw)
        words = lambda objs: "".join(str(x.data) for x in objs if isinstance(x, Markdown))  # noqa: E731
        return words(rep.summary()), words(rep.entry_gap())

    # the lag model alone: 38.2 of 1000 tallied doses, below the combined 5.0% (50 doses)
    summary, section = texts({"late_doses": 50.0, "late_doses_lag_model": 38.2}, "en")
    assert ("By the entry lags alone, 3.8% of tallied doses are not yet entered" in section
            and "nearer 3.8% and the share likely never entered nearer 4.2%" in section)  # 8.0% - 3.8%
    assert section.index("likely never entered.") < section.index("By the entry lags alone")  # after the split
    assert "entry lags alone" not in summary
    _, section = texts({"late_doses": 50.0, "late_doses_lag_model": 38.2}, "vi")
    assert "chỉ tính theo độ trễ nhập liệu, 3,8% số liều đã kiểm đếm là chưa nhập" in section
    assert "gần 3,8% hơn" in section and "gần 4,2% hơn" in section
    # above the combined figure: the tallies pulled it down, no rise to warn of
    _, section = texts({"late_doses": 50.0, "late_doses_lag_model": 61.0}, "en")
    assert "By the entry lags alone, 6.1% of tallied doses" in section and "points to fewer" in section
    # less than 0.1 percentage point apart: they agree
    _, section = texts({"late_doses": 50.0, "late_doses_lag_model": 49.2}, "en")
    assert "nearly the same share not yet entered (4.9%, less than 0.1 percentage point apart)" in section
    # an older metrics.json without the lag model's figure (or without the tallied doses): no sentence
    for nowcast, n_tally in (({"late_doses": 50.0}, 1000), ({"late_doses": 50.0, "late_doses_lag_model": 38.2}, None)):
        base["n_tally_doses"] = n_tally
        summary_old, section = texts(nowcast, "en")
        assert "likely never entered." in section and "entry lags alone" not in section
        assert summary_old == summary  # the summary never holds it


def test_reader_facing_fixes(run, tmp_path):
    """District column headed 'Huyện', districts sorted with a provincial line, one footnote,
    a quarantine paragraph even with nothing quarantined."""
    import shutil

    run_dir, db, _ = run
    html = Report(run_dir=run_dir, db_path=db, period_start="2021-09-01", period_end="2021-10-31").html()
    assert html.count("bị ẩn vì số đếm nhỏ hơn") == 1  # the footnote once
    cov = "".join(o.data for o in Report(run_dir=run_dir, db_path=db, period_start="2021-09-01",
                                         period_end="2021-10-31").coverage_district())
    assert '<th class="txt">Huyện</th>' in cov and ">Nhóm<" not in cov
    shown = re.findall(r'<tr><td class="txt">([^<]*)</td><td class="num">[^<]*</td><td class="num">([^<]*)</td>', cov)
    vals = [float(v.rstrip("%").replace(",", ".")) for _, v in shown if v != MARK]
    assert vals == sorted(vals, reverse=True) and len(vals) >= 2  # highest coverage first, hidden ones last
    assert [v for _, v in shown][-1] == MARK
    db2, run2 = tmp_path / "empty_quarantine.duckdb", tmp_path / "run2"
    shutil.copy(db, db2)
    shutil.copytree(run_dir, run2)
    con = duckdb.connect(str(db2))
    con.execute("delete from quarantine")
    con.close()
    write_report_tables(db2, run2)
    q = "".join(o.data for o in Report(run_dir=run2, period_start="2021-09-01",
                                       period_end="2021-10-31").quality())
    assert "Dòng dữ liệu bị cách ly" in q and "Không có dòng dữ liệu đầu vào nào bị cách ly" in q


def test_frame_from_the_manifest_time_bases_and_signature(run, tmp_path):
    """Issuer, number, report date (fixed in manifest.json), extract date, period, the
    aggregate-only line, contents, time bases of the figures and the signature block."""
    import shutil

    from vaxstudy.report.frame import FrameConfig, resolve

    run_dir, db, _ = run
    rd = tmp_path / "run"
    shutil.copytree(run_dir, rd)
    m = json.loads((rd / "metrics.json").read_text())
    (rd / "metrics.json").write_text(json.dumps({**m, "extract_date": "2021-11-03"}))
    frame = resolve(FrameConfig(report_number="125/BC-SYT", report_date="2021-11-15", signer_name="Nguyễn Văn A",
                                recipients=("Bộ Y tế",)), "40", "vi")
    (rd / "manifest.json").write_text(json.dumps({"parameters": {"province": "40"}, "frame": frame}))
    rep = Report(run_dir=rd, db_path=db, period_start="2021-09-01", period_end="2021-10-31")
    title = "".join(o.data for o in rep.section("title"))
    for text in ("SỞ Y TẾ TỈNH NGHỆ AN", "Số: 125/BC-SYT", "Nghệ An, ngày 15 tháng 11 năm 2021",
                 "từ 01/09/2021 đến 31/10/2021", "03/11/2021", "15/11/2021", "chỉ chứa số liệu tổng hợp",
                 'href="#sec-quality"'):
        assert text in title, text
    body = rep.html()
    assert "lũy kế từ đầu chiến dịch đến hết ngày 31/10/2021" in body  # the summary says it once in words
    assert body.count('class="vx-basis"') >= 6  # and every figure's section says which basis
    assert "GIÁM ĐỐC" in body and "Nguyễn Văn A" in body and "Bộ Y tế" in body
    assert re.search(r'<div class="vx-keep"><h2 id="sec-coverage_district"[^>]*>.*?</h2><p class="vx-basis">'
                     r'.*?</p><img', body)  # heading kept with its figure


def test_frame_defaults_and_a_bad_frame_file(tmp_path):
    from vaxstudy.report.frame import load_frame, resolve

    f = resolve(None, "40", "vi", today=date(2021, 11, 1))
    assert f["issuer"] == "Sở Y tế tỉnh Nghệ An" and f["report_date"] == "2021-11-01" and f["report_number"] is None
    assert resolve(None, "40", "en", today=date(2021, 11, 1))["signer_title"] == "Director"
    bad = tmp_path / "report.yaml"
    bad.write_text("issuer: Sở Y tế\nsigner: x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="signer"):
        load_frame(bad)
    ok = tmp_path / "ok.yaml"
    ok.write_text("issuer: Sở Y tế Hà Tĩnh\nreport_date: 2021-11-15\n", encoding="utf-8")
    assert load_frame(ok).report_date == date(2021, 11, 15)


def test_weekly_cumulative_coverage_and_its_thinning(run):
    from vaxstudy.report import data as rdata

    run_dir, db, inputs = run
    con = rdata.connect(db)
    try:
        w = rdata.weekly_cumulative_coverage(con, "40", "2021-10-31")
    finally:
        con.close()
    assert set(w.columns) == {"week", "district_code", "dose1", "dose2"}
    for _, g in w.groupby("district_code"):
        assert (g["dose1"].diff().dropna() >= 0).all() and (g["dose2"] <= g["dose1"]).all()  # cumulative
    assert w.groupby("week")["dose1"].sum().iloc[-1] > 200  # most of the 316 adults had a first dose
    keep = F.thin_cumulative([0, 0, 3, 12, 14, 25, 25], threshold=10)
    assert keep.tolist() == [True, True, False, True, False, True, True]  # no step below 10 drawn
    html = "".join(o.data for o in Report(run_dir=run_dir, db_path=db, period_start="2021-09-01",
                                           period_end="2021-10-31").section("coverage_district"))
    assert "Diễn biến bao phủ theo tuần" in html and "kỳ trước cùng độ dài" in html


def test_denominator_check_against_the_official_count(run, tmp_path):
    import shutil

    from vaxstudy.report.denominator import load_official

    run_dir, db, _ = run
    rd = tmp_path / "run"
    shutil.copytree(run_dir, rd)
    (rd / "official_population.csv").write_text(
        "district,age_group,count\n412,18-29,80\n412,30-49,80\n412,0-17,999\n413,18-29,120\n", encoding="utf-8")
    html = "".join(o.data for o in Report(run_dir=rd, db_path=db, period_start="2021-09-01",
                                           period_end="2021-10-31").section("coverage_district"))
    assert "Kiểm tra mẫu số" in html
    row = re.search(r'<tr><td class="txt">[^<]*</td><td class="num">160</td><td class="num">160</td>'
                    r'<td class="num">([^<]*)</td><td class="txt">([^<]*)</td>', html)
    assert row and row.groups() == ("1,00", "")  # the under-18 row left out
    assert re.search(r'<td class="num">90</td><td class="num">120</td><td class="num">0,75</td>'
                     r'<td class="txt">ngoài 0,9–1,1</td>', html)
    bad = tmp_path / "bad.csv"
    bad.write_text("district,count\nVinh,1000\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.csv: column district .*\['Vinh'\]"):
        load_official(bad)


def test_report_reads_the_aggregate_tables_not_the_database(run, tmp_path):
    """The same report with the database gone; the tables hold counts only; a run without
    them says so instead of failing."""
    import shutil

    from vaxstudy.report import aggregates

    run_dir, db, inputs = run
    kw = dict(period_start="2021-09-01", period_end="2021-10-31")
    html = Report(run_dir=run_dir, db_path=db, **kw).html()
    assert Report(run_dir=run_dir, db_path=tmp_path / "gone.duckdb", **kw).html() == html
    adults = aggregates.read(run_dir, "adults")
    assert adults["n"].sum() == 316 and set(adults.columns) == {"district_code", "sex", "age_group", "n"}
    names = set(inputs["population"]["full_name"]) | set(inputs["population"]["person_id"])
    for name in aggregates.TABLES:
        t = aggregates.read(run_dir, name)
        assert not names & {str(v) for v in t.to_numpy().ravel()}, name
    bands = aggregates.read(run_dir, "probability_bands")
    con = duckdb.connect(str(db), read_only=True)
    p = np.asarray(con.execute("select match_probability from record_links r join vaccinations_std v "
                               "using (record_id) where v.vaccination_date between '2021-09-01' and "
                               "'2021-10-31'").fetchall(), dtype=float).ravel()
    con.close()
    assert bands["n"].tolist() == np.histogram(p, bins=np.asarray(F.PROBABILITY_BANDS))[0].tolist()
    assert F.probability_bands(p)[1].tolist() == F.probability_bands(counts=bands["n"])[1].tolist()
    bare = tmp_path / "bare"
    shutil.copytree(run_dir, bare)
    shutil.rmtree(bare / aggregates.FOLDER)
    text = "".join(str(getattr(o, "data", o)) for o in Report(run_dir=bare, **kw).section("linkage"))
    assert "Không có trong kết quả của lần chạy này." in text


def test_unlinked_records_split_into_incomplete_entries_and_not_in_register(tmp_path):
    run_dir, db, _ = make_run(tmp_path / "unl")
    m = json.loads((run_dir / "metrics.json").read_text())
    kw = dict(run_dir=run_dir, db_path=db, province="40", period_start="2021-09-01", period_end="2021-10-31")

    def summary(split, language="en"):
        (run_dir / "metrics.json").write_text(json.dumps({**m, "unlinked_records": split}))
        return "".join(str(getattr(x, "data", x)) for x in Report(language=language, **kw).summary())

    text = summary({"n_unlinked_records": 412, "in_register_incomplete_entry": 37, "not_in_register": 375,
                    "suppressed_below": None})
    assert "in the register with an incomplete entry (no date of birth" in text and "37" in text and "375" in text
    assert "thiếu ngày sinh" in summary({"n_unlinked_records": 412, "in_register_incomplete_entry": 37,
                                         "not_in_register": 375, "suppressed_below": None}, "vi")
    # a small count is shown suppressed, never as its figure
    text = summary({"n_unlinked_records": 412, "in_register_incomplete_entry": None, "not_in_register": None,
                    "suppressed_below": 10})
    assert "incomplete entry" in text and "suppressed (< 10)" in text
    # none: no sentence
    assert "incomplete entry" not in summary({"n_unlinked_records": 412, "in_register_incomplete_entry": 0,
                                              "not_in_register": 412, "suppressed_below": None})
