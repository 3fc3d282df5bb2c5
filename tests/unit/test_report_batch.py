"""report-all: the YAML config, continuing past failures, and index.html (stages faked, no kernel)."""

from __future__ import annotations

import re
from pathlib import Path

import pydantic
import pytest

from vaxstudy.options import parse_period
from vaxstudy.progress import StageError
from vaxstudy.study import Study
from vaxstudy.report import batch
from vaxstudy.report.batch import BatchConfig, BatchEntry, clean_error, load_config, write_index

CONFIG = """
out: out
language: en
seed: 3
provinces:
  - code: 40
    data: data/a
  - code: "42"
    data: /abs/b
    model: m.json
periods:
  - 2021-09-01:2021-09-30
  - [2021-10-01, 2021-10-31]
"""


def test_config_is_read_with_paths_relative_to_the_file(tmp_path):
    p = tmp_path / "reports.yaml"
    p.write_text(CONFIG)
    cfg = load_config(p)
    assert cfg.out == tmp_path / "out"
    assert [x.code for x in cfg.provinces] == ["40", "42"]
    assert cfg.provinces[0].data == tmp_path / "data/a"
    assert cfg.provinces[1].data == Path("/abs/b") and cfg.provinces[1].model == tmp_path / "m.json"
    assert cfg.periods == (("2021-09-01", "2021-09-30"), ("2021-10-01", "2021-10-31"))
    assert cfg.language == "en" and cfg.suppression_threshold == 10
    with pytest.raises(pydantic.ValidationError):
        cfg.seed = 4  # frozen


@pytest.mark.parametrize("bad", [
    "provinces: [{code: '40', data: x}]\nperiods: ['2021-10-31:2021-10-01']",  # reversed period
    "provinces: [{code: '40', data: x}]\nperiods: ['2021-10-01:2021-10-31']\nlanguge: en",  # typo key
    "provinces: [{code: '40', data: x, extra: 1}]\nperiods: ['2021-10-01:2021-10-31']",
    "provinces: [{code: 'Nghe An', data: x}]\nperiods: ['2021-10-01:2021-10-31']",
    "provinces: []\nperiods: ['2021-10-01:2021-10-31']",
    "provinces: [{code: '40', data: x}]\nperiods: ['2021-10-01:2021-10-31']\nlanguage: fr",
])
def test_bad_configs_are_refused(tmp_path, bad):
    p = tmp_path / "r.yaml"
    p.write_text(bad)
    with pytest.raises((pydantic.ValidationError, ValueError)):
        load_config(p)


def test_parse_period():
    assert parse_period("2021-10-01:2021-10-31") == ("2021-10-01", "2021-10-31")
    for bad in ("2021-10-01", "2021-10-31:2021-10-01", "a:b"):
        with pytest.raises(ValueError):
            parse_period(bad)


def test_error_messages_lose_long_digit_runs():
    assert clean_error("duplicate person_id 040123456789 at row 3") == "duplicate person_id … at row 3"


def test_batch_continues_past_failures_and_indexes_everything(tmp_path, monkeypatch):
    from types import SimpleNamespace

    calls = []

    def fake_prepare(self, data, link=None, **kw):
        if self.db.stem == "42":
            raise StageError("ingest", FileNotFoundError("data folder /x does not exist"))
        return self

    def fake_report(self, province, period, out=None, **kw):
        start, end = period
        calls.append((province, start))
        if start == "2021-10-01":
            raise StageError("render", "notebook report.ipynb, cell 5 failed: KeyError: 'x'")
        run = Path(out) / f"{province}_{start}_{end}"
        run.mkdir(parents=True)
        m = {"coverage_dose1": 0.8123, "coverage_dose1_ci": [0.8, 0.82], "coverage_dose2": 0.5,
             "coverage_dose2_ci": [0.49, 0.51], "duplicate_dose_rate": 0.01, "missing_entry_rate": 0.05}
        return SimpleNamespace(run_dir=run, metrics=m)

    monkeypatch.setattr(Study, "prepare", fake_prepare)
    monkeypatch.setattr(Study, "report", fake_report)
    cfg = BatchConfig(out=tmp_path / "r", language="en",
                      provinces=[{"code": "40", "data": tmp_path}, {"code": "42", "data": tmp_path / "nope"}],
                      periods=["2021-09-01:2021-09-30", "2021-10-01:2021-10-31"])
    res = batch.run_batch(cfg, progress=False)
    assert calls == [("40", "2021-09-01"), ("40", "2021-10-01")]
    assert len(res.entries) == 4 and len(res.failed) == 3
    assert {(e.province, e.stage) for e in res.failed} == {("40", "render"), ("42", "ingest")}
    html = res.index_html.read_text(encoding="utf-8")
    assert 'href="40_2021-09-01_2021-09-30/report.html"' in html
    assert "81.2%" in html and "80.0%–82.0%" in html
    assert html.count(">failed<") == 3 and "cell 5" in html
    assert len(re.findall(r'<img[^>]*src="data:image/png;base64,', html)) == 2  # province 40: coverage, quality


def test_index_trend_is_per_province_and_vietnamese_by_default(tmp_path):
    entries = [BatchEntry("40", f"2021-0{m}-01", f"2021-0{m}-28", True, run_dir=tmp_path / f"40_{m}",
                          metrics={"coverage_dose1": 0.1 * m, "coverage_dose2": 0.05 * m}) for m in (7, 8, 9)]
    entries += [BatchEntry("42", "2021-09-01", "2021-09-30", True, run_dir=tmp_path / "42",
                           metrics={"coverage_dose1": 0.5, "coverage_dose2": 0.2})]
    html = write_index(entries, tmp_path).read_text(encoding="utf-8")
    assert "Danh sách báo cáo tỉnh" in html and "Nghệ An (40)" in html and "Hà Tĩnh (42)" in html
    assert "70,0%" in html
    # per province: coverage across periods, and the duplicate / missing / unmatched rates across periods
    assert len(re.findall(r'<img[^>]*src="data:image/png;base64,', html)) == 4
    assert "Tỷ lệ nhập trùng, chưa nhập và không khớp theo giai đoạn" in html


def test_config_backend_and_spark_master(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text(CONFIG)
    assert load_config(p).backend == "duckdb" and load_config(p).spark_master is None
    p.write_text(CONFIG + "backend: spark\nspark_master: spark://m:7077\n")
    cfg = load_config(p)
    assert (cfg.backend, cfg.spark_master) == ("spark", "spark://m:7077")
    for bad in ("backend: flink\n", "spark_master: spark://m:7077\n", "backend: duckdb\nspark_master: local[1]\n"):
        p.write_text(CONFIG + bad)
        with pytest.raises(pydantic.ValidationError):
            load_config(p)


@pytest.mark.parametrize("backend, master, expected", [
    ("duckdb", None, {"name": "duckdb"}),
    ("spark", "spark://m:7077", {"name": "spark", "spark_master": "spark://m:7077"}),
])
def test_batch_passes_one_backend_to_every_province(tmp_path, monkeypatch, backend, master, expected):
    """The config's backend reaches prepare (one engine for the batch, closed at the end);
    no Spark session is started here: prepare is faked."""
    if backend == "spark":
        pytest.importorskip("pyspark")
    seen = []

    def fake_prepare(self, data, link=None, **kw):
        seen.append(self.engine)
        raise StageError("ingest", "stop here")

    monkeypatch.setattr(Study, "prepare", fake_prepare)
    cfg = BatchConfig(out=tmp_path / "r", backend=backend, spark_master=master,
                      provinces=[{"code": "40", "data": tmp_path}, {"code": "42", "data": tmp_path}],
                      periods=["2021-09-01:2021-09-30"])
    res = batch.run_batch(cfg, progress=False)
    assert len(res.failed) == 2
    assert len(seen) == 2 and seen[0] is seen[1]
    assert seen[0].name == backend and seen[0].describe() == expected


def test_manifest_records_the_engine(tmp_path, monkeypatch):
    """Study.report writes the engine's description (Spark: with its master) into manifest.json."""
    import importlib
    import json

    import duckdb

    import vaxstudy.estimate as est

    rr = importlib.import_module("vaxstudy.report.render")  # the package re-exports a function of that name

    monkeypatch.setattr(est, "estimate_db", lambda *a, **k: {"coverage_dose1": 0.5})

    def fake_render(params, run_dir, **kw):
        (run_dir / "report.html").write_text("<html></html>")
        (run_dir / "report.ipynb").write_text("{}")
        return type("R", (), {"html": run_dir / "report.html", "ipynb": run_dir / "report.ipynb"})()

    monkeypatch.setattr(rr, "render", fake_render)

    class Described:
        name = "fake"

        def __init__(self, d):
            self.d = d

        def describe(self):
            return self.d

        def close(self):
            pass

    for b in ({"name": "spark", "spark_master": "spark://m:7077"}, {"name": "duckdb"}):
        study = Study.in_folder(tmp_path / "out", "40", Described(b))
        study.db.parent.mkdir(parents=True, exist_ok=True)
        duckdb.connect(str(study.db)).execute("CREATE OR REPLACE TABLE record_links AS SELECT 'r1' AS record_id, CAST(NULL AS VARCHAR) AS person_id, CAST(NULL AS DOUBLE) AS match_probability, 'k1' AS person_key, false AS is_duplicate_dose").close()
        res = study.report("40", ("2021-09-01", "2021-09-30"), privacy_check=False)
        assert res.manifest["backend"] == b
        assert json.loads((res.run_dir / "manifest.json").read_text())["backend"] == b
