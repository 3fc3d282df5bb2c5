"""`vaxstudy report --chunks N` and report-all's `chunks:` reach link_db and manifest.json, and
a study's engine runs its estimates (fast: the stages are faked)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pydantic
import pytest
from typer.testing import CliRunner

from vaxstudy.cli import app
from vaxstudy.options import LinkOptions
from vaxstudy.progress import StageError
from vaxstudy.study import Study


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
    import vaxstudy.commands.report as cr

    seen = {}

    def fake_run_one(*a, **kw):
        seen.update(kw)
        return SimpleNamespace(report_html=tmp_path / "r.html")

    monkeypatch.setattr(cr, "_run_one", fake_run_one)
    args = ["report", "--data", str(tmp_path), "--province", "40", "--period", "2021-09-01:2021-09-30",
            "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(app, [*args, "--chunks", "3"])
    assert r.exit_code == 0, r.output
    assert seen["link"].n_chunks == 3 and seen["engine"].name == "duckdb"
    CliRunner().invoke(app, args)
    assert seen["link"].n_chunks == 1
    r = CliRunner().invoke(app, [*args, "--chunks", "0"])
    assert r.exit_code == 2


def test_prepare_passes_chunks_to_link_db(tmp_path, monkeypatch):
    import vaxstudy.ingest as ing
    import vaxstudy.link as lk

    seen = {}
    monkeypatch.setattr(ing, "ingest", lambda *a, **k: None)

    def fake_link_db(db, out, options, **kw):
        seen.update(options.model_dump(), **kw)
        return SimpleNamespace(model_path=None)

    monkeypatch.setattr(lk, "link_db", fake_link_db)
    monkeypatch.setattr("vaxstudy.study.check_db", lambda *a: None)  # nothing was written to check
    monkeypatch.setattr("vaxstudy.report.privacy.store_identifiers", lambda *a: None)  # nor to hash
    monkeypatch.setattr("vaxstudy.link.update.record_inputs", lambda *a: None)  # nor linked
    engine = FakeEngine()
    data = tmp_path / "data"
    data.mkdir()
    study = Study.in_folder(tmp_path / "w", "40", engine).prepare(data, LinkOptions(n_chunks=4))
    assert seen["n_chunks"] == 4 and seen["backend"] is engine and engine.standardized
    assert study.db == tmp_path / "w" / "restricted" / "work" / "40.duckdb"
    assert "personal data" in (study.db.parent / "README.md").read_text()  # the restricted folder says so
    study.close()
    assert not engine.closed  # an engine object is left to its owner


def test_report_estimates_on_the_engine_and_records_chunks(tmp_path, monkeypatch):
    import vaxstudy.estimate as est

    rr = importlib.import_module("vaxstudy.report.render")  # the package re-exports a function of that name
    seen = []
    monkeypatch.setattr(est, "estimate_db", lambda *a, **k: seen.append(k.get("backend")) or {"x": 1})

    def fake_render(params, run_dir, **kw):
        (run_dir / "report.html").write_text("<html></html>")
        (run_dir / "report.ipynb").write_text("{}")
        return SimpleNamespace(html=run_dir / "report.html", ipynb=run_dir / "report.ipynb")

    monkeypatch.setattr(rr, "render", fake_render)
    engine = FakeEngine()
    study = Study.in_folder(tmp_path / "out", "40", engine)
    study.db.parent.mkdir(parents=True)
    duckdb.connect(str(study.db)).execute("CREATE OR REPLACE TABLE record_links AS SELECT 'r1' AS record_id, CAST(NULL AS VARCHAR) AS person_id, CAST(NULL AS DOUBLE) AS match_probability, 'k1' AS person_key, false AS is_duplicate_dose").close()
    study.link_options = LinkOptions(n_chunks=5)
    res = study.report("40", ("2021-09-01", "2021-09-30"), privacy_check=False)
    assert seen == [engine]
    man = json.loads((res.run_dir / "manifest.json").read_text())
    assert man["parameters"]["link_chunks"] == 5 and man["backend"] == {"name": "fake"}


CONFIG = """provinces:
  - code: "40"
    data: d
periods:
  - 2021-09-01:2021-09-30
"""


def test_batch_config_chunks_reach_prepare(tmp_path, monkeypatch):
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

    def fake_prepare(self, data, link=None, **kw):
        seen.append(link.n_chunks)
        raise StageError("ingest", "stop here")

    monkeypatch.setattr(Study, "prepare", fake_prepare)
    res = batch.run_batch(cfg.model_copy(update={"out": tmp_path / "out"}), progress=False)
    assert seen == [6] and len(res.failed) == 1
    assert Path(res.index_html).exists()
