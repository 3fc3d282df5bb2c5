"""Every stage on the small synthetic province: `vaxstudy report` and `vaxstudy report-all`."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from vaxstudy.cli import app
from vaxstudy.report import privacy
from vaxstudy.report.i18n import fmt_pct
from vaxstudy.report.sections import section_ids
from vaxstudy.report.suppress import MARK

pytestmark = pytest.mark.integration
PERIOD = "2021-09-01:2021-10-31"
# fewer bootstrap replicates than the default 1000: no test here checks an interval's width, and
# the three estimates of this module (the report, then report-all's two periods) cost a third
N_BOOT = 100
IMG = re.compile(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def single(small_province, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    res = CliRunner().invoke(app, ["report", "--data", str(small_province), "--province", "40",
                                   "--period", PERIOD, "--out", str(out), "--n-boot", str(N_BOOT),
                                   "--report-number", "7/BC-SYT", "--report-date", "2021-11-05"])
    assert res.exit_code == 0, res.output
    html = Path(res.stdout.strip().splitlines()[-1])
    assert html.exists()
    return out, html.parent


def test_output_folder_layout(single):
    out, run = single
    assert run == out / "40_2021-09-01_2021-10-31"
    names = {p.name for p in run.iterdir()}
    assert {"metrics.json", "report.ipynb", "report.html", "manifest.json", "data_quality",
            "link_model.json", "link_summary.json", "report_data"} <= names
    from vaxstudy.report.aggregates import TABLES  # the report's count tables, written by the estimate

    assert {p.stem for p in (run / "report_data").iterdir()} == set(TABLES)
    restricted = out / "restricted" / run.name  # record-level files, never beside the report
    assert not names & {"record_links.parquet", "quarantine.csv", "diagnostics"}
    assert {"record_links.parquet", "quarantine.csv", "diagnostics", "README.md"} <= {
        p.name for p in restricted.iterdir()}
    assert (out / "restricted" / "work" / "40.duckdb").exists()
    # the privacy scan's identifier set, kept by standardise beside the database (restricted)
    assert (out / "restricted" / "work" / "40_identifiers.npz").exists()
    for folder in (out, out / "restricted"):
        assert not [p for p in folder.iterdir() if p.name.startswith((".tmp", ".old"))]


def test_sensitivity_is_centred_on_the_threshold_the_linkage_chose(single):
    _, run = single
    chosen = json.loads((run / "link_summary.json").read_text())["decision"]["threshold"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["sensitivity"]["match_threshold"] == pytest.approx(chosen)
    assert metrics["method"]["n_boot"] == N_BOOT  # --n-boot reached the estimate


def test_sections_figures_and_numbers_from_the_metrics(single):
    _, run = single
    html = (run / "report.html").read_text(encoding="utf-8")
    metrics = json.loads((run / "metrics.json").read_text())
    for sid in section_ids():
        assert f'id="{sid}"' in html, sid
    assert len(IMG.findall(html)) >= 8
    assert "Tóm tắt trong một phút" in html  # Vietnamese by default
    assert fmt_pct(metrics["coverage_dose1"], "vi") in html
    assert fmt_pct(metrics["missing_entry_rate"], "vi") in html
    assert "def " not in html and "rep.show" not in html  # code hidden


def test_no_small_count_is_shown(single):
    _, run = single
    html = (run / "report.html").read_text(encoding="utf-8")
    cells = re.findall(r'<td class="num">([^<]*)</td>', html)
    ints = [c for c in cells if re.fullmatch(r"\d{1,3}(\.\d{3})*", c)]
    assert ints, "no count cells found"
    small = [c for c in ints if 0 < int(c.replace(".", "")) < 10]
    assert small == []
    assert cells.count(MARK) > 0  # the small province has small cells, and they are hidden


def test_no_name_id_or_phone_in_the_html_or_the_notebook(single, small_province):
    _, run = single
    pop = pd.read_csv(small_province / "population.csv", dtype=str)
    vax = pd.read_csv(small_province / "vaccinations.csv", dtype=str)
    ids = privacy.Identifiers(allowed=privacy.place_names())
    ids.add_names(pd.concat([pop["full_name"], vax["full_name"]]).dropna().unique())
    ids.add_numbers(pd.concat([pop["person_id"], pop["phone"], vax["id_number"], vax["phone"]]).dropna().unique())
    assert len(ids.numbers) > 5000 and len(ids.names) > 5000
    assert privacy.scan_files([run / "report.html", run / "report.ipynb"], ids) == []
    assert privacy.scan_folder(run, ids) == []  # the whole shareable folder, tables and JSON included


def test_manifest(single, small_province):
    _, run = single
    man = json.loads((run / "manifest.json").read_text())
    sha = hashlib.sha256((small_province / "population.csv").read_bytes()).hexdigest()
    assert man["inputs"]["sha256"]["population.csv"] == sha
    assert man["seed"] == 1 and man["parameters"]["province"] == "40"
    assert {"ingest", "standardize", "link", "estimate", "render"} <= set(man["timings_seconds"])
    assert man["packages"]["splink"]
    assert man["backend"] == {"name": "duckdb"}


def test_report_all_two_provinces_two_periods_one_failing(single, small_province, tmp_path):
    out, run = single
    empty = tmp_path / "province_42_without_tables"
    empty.mkdir()
    cfg = tmp_path / "reports.yaml"
    cfg.write_text(f"""
out: {tmp_path / 'batch'}
model: {run / 'link_model.json'}
n_boot: {N_BOOT}
provinces:
  - code: "40"
    data: {small_province}
  - code: "42"
    data: {empty}
periods:
  - {PERIOD}
  - 2021-10-01:2021-10-31
""")
    res = CliRunner().invoke(app, ["report-all", "--config", str(cfg)])
    assert res.exit_code == 1, res.output  # one province failed
    index = tmp_path / "batch" / "index.html"
    assert index.exists()
    html = index.read_text(encoding="utf-8")
    for name in ("40_2021-09-01_2021-10-31", "40_2021-10-01_2021-10-31"):
        assert (tmp_path / "batch" / name / "report.html").exists()
        assert f'href="{name}/report.html"' in html
        man = json.loads((tmp_path / "batch" / name / "manifest.json").read_text())
        assert man["parameters"]["model_path"] == str(run / "link_model.json")  # the saved model reused
        assert json.loads((tmp_path / "batch" / name / "metrics.json").read_text())["method"]["n_boot"] == N_BOOT
    # a folder without the tables fails at ingest (a missing folder is refused before anything runs)
    assert html.count(">lỗi<") == 2 and "ingest" in html and "not found" in html
    for name in ("40_2021-09-01_2021-10-31", "40_2021-10-01_2021-10-31"):  # each report shows its trend
        assert "Diễn biến bao phủ theo tuần" in (tmp_path / "batch" / name / "report.html").read_text(encoding="utf-8")
    assert len(IMG.findall(html)) == 2  # the coverage and quality series of the province that worked
    # same inputs (data, seed, and the model the first run trained) -> the same figures
    again = IMG.findall((tmp_path / "batch" / "40_2021-09-01_2021-10-31" / "report.html").read_text())
    first = IMG.findall((run / "report.html").read_text())
    assert len(first) >= 8 and again == first


def test_analyst_notebooks_run_top_to_bottom_on_a_run(single, small_province, tmp_path):
    from vaxstudy.config import NOTEBOOKS_DIR
    from vaxstudy.report.render import execute

    out, run = single
    params = {"data_dir": str(small_province), "run_dir": str(run), "db_path": str(out / "restricted" / "work" / "40.duckdb"),
              "period_start": "2021-09-01", "period_end": "2021-10-31", "model_path": None}
    for name in ("data_quality", "linkage_diagnostics", "coverage"):
        nb = execute(NOTEBOOKS_DIR / f"{name}.ipynb", tmp_path / f"{name}.ipynb", params, cwd=tmp_path)
        cells = json.loads(nb.read_text())["cells"]
        outputs = [o for c in cells if c["cell_type"] == "code" for o in c["outputs"]]
        assert outputs and not [o for o in outputs if o["output_type"] == "error"], name


# English words a Vietnamese report must not hold outside file names, identifiers and numbers
ENGLISH = {"the", "of", "and", "with", "to", "is", "are", "rate", "rates", "records", "record", "coverage", "dose",
           "doses", "duplicate", "missing", "match", "exact", "other", "comparisons", "weight", "district", "site",
           "sites", "period", "report", "entered", "tallied", "linkage", "summary", "null", "true", "false",
           "ingest", "standardize", "estimate", "render", "quarantine", "parameter", "manifest", "stage", "empty",
           "level", "missing", "agree", "agrees", "same", "year", "ascii", "edit"}


def visible_words(html: str) -> list[str]:
    """The words a reader sees: no markup, styles, scripts, file names, paths or snake_case identifiers."""
    import html as _h

    text = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", html, flags=re.S | re.I)
    text = _h.unescape(re.sub(r"<[^>]+>", " ", text))
    text = re.sub(r"\S*[/\\]\S*|\S+\.(csv|parquet|json|xlsx|yaml|duckdb)\b|\w+_\w+", " ", text)
    return re.findall(r"[^\W\d_]+", text)  # whole words: "toàn" is not "to"


def test_frame_lang_annex_and_no_english_in_the_vietnamese_report(single):
    """Issue 15: the frame fields, lang, the annex files, and Vietnamese throughout."""
    _, run = single
    html = (run / "report.html").read_text(encoding="utf-8")
    man = json.loads((run / "manifest.json").read_text())
    assert re.search(r'<html[^>]*\blang="vi"', html)
    assert man["frame"]["report_date"] == "2021-11-05" and man["frame"]["report_number"] == "7/BC-SYT"
    for text in ("SỞ Y TẾ TỈNH NGHỆ AN", "Số: 7/BC-SYT", "ngày 05 tháng 11 năm 2021", "từ 01/09/2021 đến 31/10/2021",
                 "chỉ chứa số liệu tổng hợp", "Mục lục", "GIÁM ĐỐC", "lũy kế"):
        assert text in html, text
    metrics = json.loads((run / "metrics.json").read_text())
    if metrics.get("extract_date"):
        from vaxstudy.report.i18n import fmt_date

        assert fmt_date(metrics["extract_date"], "vi") in html
    # the annex: every table of the report, as shown, in the shareable folder and linked
    csvs = sorted((run / "tables").glob("*.csv"))
    assert (run / "tables.xlsx").exists() and 'href="tables.xlsx"' in html
    n_tables = len(re.findall(r'<table class="vx-table[ "]', html))
    assert len(csvs) == n_tables >= 8
    cov = next(p for p in csvs if "coverage_district" in p.name)
    shown = pd.read_csv(cov, dtype=str, encoding="utf-8-sig")
    assert list(shown.columns)[0] == "Huyện"
    for cell in shown.iloc[:, 2].dropna():  # the cells exactly as printed, suppressed ones as x
        assert f'<td class="num">{cell}</td>' in html
    found = sorted({w for w in visible_words(html) if w.lower() in ENGLISH})
    assert found == [], found
