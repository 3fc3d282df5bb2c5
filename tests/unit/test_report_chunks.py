"""`vaxstudy report --chunks N` and report-all's `chunks:` reach link_db and manifest.json, and
the engine that prepared a province runs its estimates (fast: the stages are faked)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import SimpleNamespace

import pydantic
import pytest
from typer.testing import CliRunner

from vaxstudy.cli import app
from vaxstudy.pipeline import PipelineError, Prepared


class FakeEngine:
    name = "fake"

    def __init__(self) -> None:
        self.standardized = []
        self.closed = False

    def standardize(self, db, progress=None):
        self.standardized.append(db)

    def describe(self):
        return {"name": self.name}

    def close(self):
        self.closed = True


def test_report_cli_passes_chunks(tmp_path, monkeypatch):
    import vaxstudy.pipeline as pl

    seen = {}

    def fake_run_report(*a, **kw):
        seen.update(kw)
        return SimpleNamespace(report_html=tmp_path / "r.html")

    monkeypatch.setattr(pl, "run_report", fake_run_report)
    args = ["report", "--data", str(tmp_path), "--province", "40", "--period", "2021-09-01:2021-09-30",
            "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(app, [*args, "--chunks", "3"])
    assert r.exit_code == 0, r.output
    assert seen["n_chunks"] == 3 and seen["backend"].name == "duckdb"
    CliRunner().invoke(app, args)
    assert seen["n_chunks"] == 1
    r = CliRunner().invoke(app, [*args, "--chunks", "0"])
    assert r.exit_code == 2


def test_prepare_passes_chunks_to_link_db(tmp_path, monkeypatch):
    import vaxstudy.ingest as ing
    import vaxstudy.link as lk
    from vaxstudy.pipeline import prepare

    seen = {}
    monkeypatch.setattr(ing, "ingest", lambda *a, **k: None)

    def fake_link_db(db, out, **kw):
        seen.update(kw)
        return SimpleNamespace(model_path=None)

    monkeypatch.setattr(lk, "link_db", fake_link_db)
    engine = FakeEngine()
    data = tmp_path / "data"
    data.mkdir()
    prep = prepare(data, "40", tmp_path / "w", backend=engine, n_chunks=4)
    assert seen["n_chunks"] == 4 and seen["backend"] is engine and engine.standardized
    assert prep.n_chunks == 4 and prep.engine is engine and prep.backend == {"name": "fake"}


def test_render_period_estimates_on_the_engine_and_records_chunks(tmp_path, monkeypatch):
    import vaxstudy.estimate as est
    from vaxstudy.pipeline import render_period

    rr = importlib.import_module("vaxstudy.report.render")  # the package re-exports a function of that name
    seen = []
    monkeypatch.setattr(est, "estimate_db", lambda *a, **k: seen.append(k.get("backend")) or {"x": 1})

    def fake_render(params, run_dir, **kw):
        (run_dir / "report.html").write_text("<html></html>")
        (run_dir / "report.ipynb").write_text("{}")
        return SimpleNamespace(html=run_dir / "report.html", ipynb=run_dir / "report.ipynb")

    monkeypatch.setattr(rr, "render", fake_render)
    data = tmp_path / "data"
    data.mkdir()
    engine = FakeEngine()
    prep = Prepared(data_dir=data, province="40", db_path=tmp_path / "db", link_dir=tmp_path / "l",
                    quarantine_path=tmp_path / "q", model_path=None, seed=1, backend=engine.describe(),
                    engine=engine, n_chunks=5)
    res = render_period(prep, "2021-09-01", "2021-09-30", tmp_path / "out", privacy_check=False)
    assert seen == [engine]
    man = json.loads((res.run_dir / "manifest.json").read_text())
    assert man["parameters"]["link_chunks"] == 5 and man["backend"] == {"name": "fake"}
    other = FakeEngine()
    render_period(prep, "2021-09-01", "2021-09-30", tmp_path / "out", privacy_check=False, backend=other)
    assert seen[-1] is other


CONFIG = """provinces:
  - code: "40"
    data: d
periods:
  - 2021-09-01:2021-09-30
"""


def test_batch_config_chunks_reach_prepare(tmp_path, monkeypatch):
    import vaxstudy.pipeline as pl
    from vaxstudy.report import batch

    p = tmp_path / "r.yaml"
    p.write_text(CONFIG)
    assert batch.load_config(p).chunks == 1
    p.write_text(CONFIG + "chunks: 6\n")
    cfg = batch.load_config(p)
    assert cfg.chunks == 6
    for bad in ("chunks: 0\n", "chunks: many\n"):
        p.write_text(CONFIG + bad)
        with pytest.raises(pydantic.ValidationError):
            batch.load_config(p)
    seen = []

    def fake_prepare(data, province, work, **kw):
        seen.append(kw["n_chunks"])
        raise PipelineError("ingest", "stop here")

    monkeypatch.setattr(pl, "prepare", fake_prepare)
    res = batch.run_batch(cfg.model_copy(update={"out": tmp_path / "out"}), progress=False)
    assert seen == [6] and len(res.failed) == 1
    assert Path(res.index_html).exists()
