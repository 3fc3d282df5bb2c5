"""Study.prepare(update=True): re-ingest into the kept database and link only the new rows;
a refused update falls back to a full link with the reason kept; other failures propagate
(stages faked: no data, no Splink)."""

from __future__ import annotations

import pytest

from vaxstudy.link.update import UpdateRefused
from vaxstudy.options import LinkOptions
from vaxstudy.progress import StageError
from vaxstudy.study import Study


@pytest.fixture
def calls(monkeypatch):
    seen: list = []
    monkeypatch.setattr(Study, "ingest", lambda self, d, fresh=True: seen.append(("ingest", fresh)))
    monkeypatch.setattr(Study, "standardize", lambda self: seen.append(("standardize",)))
    monkeypatch.setattr(Study, "link", lambda self, o=None: seen.append(("link", o)))
    return seen


def _study(tmp_path, exists=True):
    db = tmp_path / "p.duckdb"
    if exists:
        db.write_bytes(b"")
    return Study(db, link_dir=tmp_path / "link")


def test_update_links_only_the_new_rows(tmp_path, calls, monkeypatch):
    monkeypatch.setattr(Study, "update_link", lambda self, full=False: calls.append(("update",)))
    st = _study(tmp_path).prepare(tmp_path, LinkOptions(seed=3), update=True)
    assert calls == [("ingest", False), ("standardize",), ("update",)]
    assert st.update_refused is None
    assert st.link_options.model_path == tmp_path / "link" / "link_model.json" and st.link_options.seed == 3


def test_refused_update_falls_back_to_a_full_link(tmp_path, calls, monkeypatch):
    def refuse(self, full=False):
        raise StageError("link", UpdateRefused("the person register (population_std) changed"))

    monkeypatch.setattr(Study, "update_link", refuse)
    st = _study(tmp_path).prepare(tmp_path, LinkOptions(seed=3), update=True)
    assert [c[0] for c in calls] == ["ingest", "standardize", "link"]
    assert "person register" in st.update_refused


def test_other_link_failures_are_not_hidden(tmp_path, calls, monkeypatch):
    def broken(self, full=False):
        raise StageError("link", RuntimeError("disk full"))

    monkeypatch.setattr(Study, "update_link", broken)
    with pytest.raises(StageError, match="disk full"):
        _study(tmp_path).prepare(tmp_path, update=True)


def test_without_a_database_or_without_update_the_study_is_built_afresh(tmp_path, calls):
    _study(tmp_path, exists=False).prepare(tmp_path, update=True)
    _study(tmp_path).prepare(tmp_path)
    assert [c[:2] for c in calls] == [("ingest", True), ("standardize",), ("link", None)] * 2
