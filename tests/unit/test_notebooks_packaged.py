"""The notebooks the commands run ship in the package and are the repository's notebooks/;
`vaxstudy notebooks --copy` writes them out with working defaults; the kernel is this Python."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from vaxstudy.report import notebooks as nbs
from vaxstudy.report.render import THIS_PYTHON, RenderError, kernel_options, render

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_holds_the_repository_notebooks():
    assert {p.name for p in (ROOT / "notebooks").glob("*.ipynb")} == set(nbs.notebook_names()), (
        "notebooks/ and the packaged src/vaxstudy/notebooks/ hold different notebooks: run `make notebooks`")
    assert {"report.ipynb", "data_quality.ipynb", "linkage_diagnostics.ipynb", "coverage.ipynb"} <= set(nbs.notebook_names())
    for name in nbs.notebook_names():
        assert nbs.packaged(name).read_bytes() == (ROOT / "notebooks" / name).read_bytes(), (
            f"notebooks/{name} and the packaged src/vaxstudy/notebooks/{name} differ: edit notebooks/ and run "
            "`make notebooks` (copies them into the package)")


def test_unknown_notebook_named():
    with pytest.raises(ValueError, match="report.ipynb"):
        nbs.packaged("nope.ipynb")


def _parameters(path: Path) -> dict:
    nb = nbformat.read(str(path), as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    return {t.id: n.value.value for n in ast.parse(cell.source).body if isinstance(n, ast.Assign)
            and isinstance(n.value, ast.Constant) for t in n.targets}


def test_copy_points_the_defaults_at_the_demo_of_the_root(tmp_path):
    root, dest = tmp_path / "project", tmp_path / "elsewhere" / "nb"
    written = nbs.copy_notebooks(dest, root)
    assert sorted(p.name for p in written) == sorted(nbs.notebook_names())
    repo = _parameters(ROOT / "notebooks" / "report.ipynb")
    got = _parameters(dest / "report.ipynb")
    for key in ("data_dir", "run_dir", "db_path"):
        assert repo[key].startswith("../")
        assert (dest / got[key]).resolve() == (root / repo[key][3:]).resolve(), key
    assert got["province"] == repo["province"] and got["period_end"] == repo["period_end"]
    meta = json.loads((dest / "report.ipynb").read_text(encoding="utf-8"))["metadata"]
    assert meta["kernelspec"]["name"] == "python3"
    with pytest.raises(FileExistsError, match="--force"):
        nbs.copy_notebooks(dest, root)
    (dest / "coverage.ipynb").write_text("edited", encoding="utf-8")
    nbs.copy_notebooks(dest, root, force=True)
    assert nbformat.read(str(dest / "coverage.ipynb"), as_version=4).cells


def test_cli_notebooks_copy(tmp_path, monkeypatch):
    from vaxstudy.cli import app

    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["notebooks", "--copy", "nb"])
    assert r.exit_code == 0, r.output
    assert _parameters(tmp_path / "nb" / "report.ipynb")["data_dir"] == "../data/synthetic/nghe_an"
    again = CliRunner().invoke(app, ["notebooks", "--copy", "nb"])
    assert again.exit_code != 0 and "--force" in again.output
    listing = CliRunner().invoke(app, ["notebooks"])
    assert listing.exit_code == 0 and "report.ipynb" in listing.output


def test_kernel_choice():
    opts = kernel_options(None)
    assert opts["kernel_name"] == THIS_PYTHON and "kernel_manager_class" in opts
    with pytest.raises(RenderError, match="registered"):
        kernel_options("no-such-kernel-anywhere")


def test_render_runs_on_this_python_whatever_python3_is(tmp_path, monkeypatch):
    """A registered python3 that cannot start is not used; the kernel is sys.executable."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": ["/nonexistent/python", "-m", "ipykernel_launcher", "-f",
                                                           "{connection_file}"], "display_name": "x", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell("x = 1")
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell("import sys\nprint('exe', sys.executable, x)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(tmp_path / "t.ipynb"))
    import sys

    res = render({"x": 5}, tmp_path / "out", notebook=tmp_path / "t.ipynb")
    assert f"exe {sys.executable} 5" in res.html.read_text(encoding="utf-8")
    with pytest.raises(RenderError):  # naming the broken kernel explicitly fails, and says so
        render({"x": 5}, tmp_path / "out2", notebook=tmp_path / "t.ipynb", kernel_name="python3",
               execution_timeout=30)
