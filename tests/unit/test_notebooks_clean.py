"""Notebooks are committed without outputs, with a parameters cell, and hold no logic."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from vaxstudy import ReportParams

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_the_four_notebooks_exist():
    assert {p.name for p in NOTEBOOKS} >= {"report.ipynb", "data_quality.ipynb",
                                          "linkage_diagnostics.ipynb", "coverage.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs"
            assert cell.execution_count is None, f"{path.name}: a cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_and_no_logic(path):
    nb = nbformat.read(str(path), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    values = {t.id: ast.literal_eval(n.value) for n in ast.walk(ast.parse(tagged[0].source))
              if isinstance(n, ast.Assign) for t in n.targets}
    assert set(values) == set(ReportParams.model_fields)
    ReportParams(**values)  # the defaults are valid parameters
    assert "reports/demo" in tagged[0].source  # JupyterLab defaults point at the demo province
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While))]
        assert not defs, f"{path.name}: logic belongs in src/vaxstudy, not in a notebook cell"


def test_the_study_renders_with_report_params():
    """Study.report builds the notebook's parameters as a ReportParams (nothing else reaches
    papermill), so the cell, the model and the renderer cannot drift apart."""
    import inspect

    from vaxstudy.study import Study

    src = inspect.getsource(Study.report) + inspect.getsource(Study._render)
    assert "nb = ReportParams(" in src and "render(nb.model_dump()" in src
