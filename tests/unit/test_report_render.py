"""papermill + nbconvert rendering, the manifest, and a study's atomic report folders on a hand-made run."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from helpers.reportrun import make_run
from vaxstudy.report import manifest as mf
from vaxstudy.report.render import RenderError, render, start_kernel



def tiny_notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell('x = 1\nlabel = "a"')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def test_render_hides_code_embeds_figures_and_applies_parameters(tmp_path, capfd):
    nb = tiny_notebook(tmp_path / "t.ipynb",
                       "import matplotlib.pyplot as plt\n"
                       "from IPython.display import display\n"
                       "fig, ax = plt.subplots(); ax.bar([1, 2], [x, 2 * x]); display(fig); plt.close(fig)\n"
                       "print('value', x * 10, label)")
    res = render({"x": 7, "label": "zz"}, tmp_path / "out", notebook=nb, title="T")
    html = res.html.read_text(encoding="utf-8")
    assert "value 70 zz" in html
    assert "plt.subplots" not in html and "print(" not in html  # code hidden
    assert len(re.findall(r'<img[^>]*src="data:image/png;base64,', html)) == 1  # figure embedded
    assert not any(s in html for s in ('src="https://', "src='https://"))  # no external scripts
    out_nb = nbformat.read(str(res.ipynb), as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in out_nb.cells)
    # the kernel's localhost-TCP warning is not shown to report users
    assert "without encryption" not in capfd.readouterr().err


def test_a_kernel_started_ahead_runs_the_notebook_in_its_folder_and_is_shut_down(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    km = start_kernel(out, warm_up="import sys; sys.warmed = 1")  # silent: no execution count
    assert km is not None and km.has_kernel
    nb = tiny_notebook(tmp_path / "t.ipynb", "import os, sys\nprint('cwd', os.path.basename(os.getcwd()), sys.warmed, x)")
    res = render({"x": 3}, out, notebook=nb, km=km)
    assert "cwd out 1 3" in res.html.read_text(encoding="utf-8")  # that kernel, in that folder
    cells = nbformat.read(str(res.ipynb), as_version=4).cells
    assert [c.execution_count for c in cells if c.cell_type == "code"] == [1, 2, 3]
    assert not km.has_kernel  # shut down after the render
    assert start_kernel(out, kernel_name="no-such-kernel") is None  # named kernels start their own


def test_failing_cell_is_named(tmp_path):
    nb = tiny_notebook(tmp_path / "bad.ipynb", "y = 1\nraise ValueError('no metrics for this period')")
    with pytest.raises(RenderError) as err:
        render({}, tmp_path / "out", notebook=nb)
    msg = str(err.value)
    assert "cell" in msg and "ValueError" in msg and "no metrics for this period" in msg
    assert err.value.cell_index is not None


def test_manifest_checksums_versions_and_timings(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "population.csv").write_text("person_id\n1\n")
    (data / ".hidden.csv").write_text("x")
    m = mf.build_manifest({"province": "40", "period_start": "2021-10-01"}, data_dir=data, seed=3,
                          timings={"link": 1.23456})
    assert m["inputs"]["sha256"] == {
        "population.csv": hashlib.sha256(b"person_id\n1\n").hexdigest()}
    assert m["seed"] == 3 and m["timings_seconds"] == {"link": 1.235}
    assert m["packages"]["pandas"] and m["python"].count(".") == 2
    p = mf.write_manifest(tmp_path / "manifest.json", m)
    assert mf.read_manifest(p)["parameters"]["province"] == "40"


def _fake_study(tmp_path, monkeypatch):
    """A Study over the hand-made DB (its link folder holding the model); estimate_db replaced by
    copying hand-made metrics."""
    import duckdb

    import vaxstudy.estimate as est
    from vaxstudy.study import Study

    run, db, _ = make_run(tmp_path / "hand")
    con = duckdb.connect(str(db))
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'record_links'").fetchone()[0]:
        con.execute("CREATE OR REPLACE TABLE record_links AS SELECT 'r1' AS record_id, CAST(NULL AS VARCHAR) AS person_id, CAST(NULL AS DOUBLE) AS match_probability, 'k1' AS person_key, false AS is_duplicate_dose")
    con.close()
    study = Study(db, link_dir=tmp_path / "link")
    study.link_dir.mkdir()
    shutil.copy(run / "link_model.json", study.link_dir / "link_model.json")
    (study.link_dir / "diagnostics").mkdir()
    (study.link_dir / "diagnostics" / "clerical_review.csv").write_text("record_id\nr1\n")
    study.data_dir = tmp_path / "data"
    study.data_dir.mkdir()
    (study.data_dir / "population.csv").write_text("person_id\n")

    def fake_estimate(db_path, province, start, end, out_dir, seed=1, **kw):
        m = json.loads((run / "metrics.json").read_text())
        m.update(period_start=start, period_end=end)
        (Path(out_dir) / "metrics.json").write_text(json.dumps(m))
        return m

    monkeypatch.setattr(est, "estimate_db", fake_estimate)
    return study


def test_report_writes_both_folders_and_a_failure_keeps_the_good_report(tmp_path, monkeypatch):
    from vaxstudy.progress import StageError

    study = _fake_study(tmp_path, monkeypatch)
    out = tmp_path / "reports"
    stale = out / ".tmp-40_2021-09-01_2021-10-31-pid999999999-x"  # left by a killed run
    stale.mkdir(parents=True)
    kept = out / "restricted" / "40_2021-09-01_2021-10-31" / "review" / "review.csv"  # another command's file
    kept.parent.mkdir(parents=True)
    kept.write_text("x")
    res = study.report("40", ("2021-09-01", "2021-10-31"), out, language="en")
    assert not stale.exists() and kept.read_text() == "x"
    names = {p.name for p in res.run_dir.iterdir()}
    assert {"metrics.json", "report.ipynb", "report.html", "manifest.json", "link_model.json"} <= names
    assert not names & {"record_links.parquet", "quarantine.csv", "diagnostics"}  # personal data: restricted
    assert res.run_dir.name == "40_2021-09-01_2021-10-31"
    restricted = res.layout.restricted
    assert restricted == out / "restricted" / "40_2021-09-01_2021-10-31"
    assert {"README.md", "record_links.parquet", "diagnostics"} <= {p.name for p in restricted.iterdir()}
    assert "personal data" in (restricted / "README.md").read_text().lower()
    html = res.report_html.read_text(encoding="utf-8")
    assert "One-minute summary" in html and "Run manifest" in html
    man = json.loads((res.run_dir / "manifest.json").read_text())
    assert set(man["timings_seconds"]) >= {"estimate"}
    good = res.report_html.read_bytes()

    bad = tiny_notebook(tmp_path / "bad.ipynb", "raise RuntimeError('boom in section')")
    with pytest.raises(StageError) as err:
        study.report("40", ("2021-09-01", "2021-10-31"), out, notebook=bad)
    assert err.value.stage == "render" and "cell" in str(err.value) and "boom in section" in str(err.value)
    assert res.report_html.read_bytes() == good  # the good report is untouched
    assert [p.name for p in out.iterdir() if p.name.startswith(".tmp")] == []  # no half-written folder
    assert [p.name for p in (out / "restricted").iterdir() if p.name.startswith(".tmp")] == []


def test_pdf_without_chromium_says_what_to_install(tmp_path, monkeypatch):
    from vaxstudy.report import pdf

    html = tmp_path / "report.html"
    html.write_text("<html><body>x</body></html>", encoding="utf-8")
    monkeypatch.setattr(pdf, "find_browser", lambda: None)
    with pytest.raises(pdf.PdfUnavailable, match="headless Chromium on the PATH.*apt-get install chromium"):
        pdf.print_pdf(html)


def test_pdf_is_a4_with_the_print_stylesheet(tmp_path):
    from vaxstudy.report import pdf
    from vaxstudy.report.tables import CSS

    if pdf.find_browser() is None:
        pytest.skip("no headless Chromium on the PATH")
    html = tmp_path / "report.html"
    html.write_text(f'<html lang="vi"><head><meta charset="utf-8">{CSS}</head><body><h2>Tóm tắt</h2>'
                    '<p>1.234,5</p></body></html>', encoding="utf-8")
    out = pdf.print_pdf(html)
    data = out.read_bytes()
    assert out == tmp_path / "report.pdf" and data.startswith(b"%PDF")
    assert re.search(rb"/MediaBox \[0 0 59[45]\.?\d* 84[12]\.?\d*\]", data)  # A4 in points
