"""vaxstudy installed from its wheel into a fresh virtual environment outside the repository
works from an empty folder: synth, report, report-all and notebooks --copy (issue 20).

Marked ``install``: `make test` runs it as its own step beside the suite (`make test-wheel`).
uv (the dev extra) builds the wheel and installs it with its dependencies from uv's cache.
The environment of the commands has no trace of the checkout (no PYTHONPATH, no
VIRTUAL_ENV, only the fresh environment on PATH), an empty Jupyter data folder, and a
registered ``python3`` kernel that cannot start: rendering must run on vaxstudy's own Python
whatever kernels are registered.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2021-03-08:2021-10-31"
RUN = "40_2021-03-08_2021-10-31"


def _uv() -> str:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not installed: `make setup` installs it (dev extra of pyproject.toml)")
    return uv


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _run(cmd: list[str], *, cwd: Path, env: dict | None = None, timeout: int = 600) -> tuple[float, float]:
    """(wall, CPU) seconds of ``cmd`` and its children."""
    t0, c0 = time.perf_counter(), _cpu()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return time.perf_counter() - t0, _cpu() - c0


def _clean_env(venv: Path, home: Path) -> dict:
    """Only the fresh environment on PATH; Jupyter sees a python3 kernel that cannot start.
    Bytecode may be written (no PYTHONDONTWRITEBYTECODE, which the machine may set): uv installs
    without .pyc files, and each of the commands and report kernels below would otherwise
    compile pandas, matplotlib, Splink … from source again."""
    jupyter = home / "jupyter"
    spec = jupyter / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": ["/nonexistent/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (another environment)", "language": "python"}))
    keep = {k: os.environ[k] for k in ("HOME", "TMPDIR", "LANG") if k in os.environ}
    return {**keep, "PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin", "JUPYTER_PATH": str(jupyter),
            "JUPYTER_DATA_DIR": str(jupyter), "LC_ALL": "C.UTF-8"}


def test_wheel_in_a_fresh_venv_renders_reports_from_an_empty_folder(tmp_path):
    uv = _uv()
    times = {}
    dist = tmp_path / "dist"
    # sdist, then the wheel from the sdist: what is not packaged is missing here too
    times["build"] = _run([uv, "build", "-q", "--out-dir", str(dist), str(ROOT)], cwd=tmp_path)
    (wheel,) = dist.glob("vaxstudy-*.whl")
    venv = tmp_path / "venv"
    times["venv"] = _run([uv, "venv", "-q", "--python", sys.executable, str(venv)], cwd=tmp_path)
    times["install"] = _run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(wheel)],
                            cwd=tmp_path)
    env = _clean_env(venv, tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    vx = str(venv / "bin" / "vaxstudy")
    times["synth"] = _run([vx, "synth", "--scale", "0.003", "--out", "prov"], cwd=work, env=env)
    # 100 bootstrap replicates, not 1000: the intervals' width is no business of this check
    times["report"] = _run([vx, "report", "--data", "prov", "--province", "40", "--period", PERIOD,
                            "--n-boot", "100", "--out", "reports"], cwd=work, env=env)
    html = work / "reports" / RUN / "report.html"
    assert html.is_file() and "Nghệ An" in html.read_text(encoding="utf-8")
    model = next((work / "reports").rglob("link_model.json"))
    (work / "batch.yaml").write_text(
        f"out: all\nmodel: {model.relative_to(work)}\nn_boot: 100\nprovinces:\n  - code: \"40\"\n    data: prov\n"
        f"periods:\n  - {PERIOD}\n", encoding="utf-8")
    times["report-all"] = _run([vx, "report-all", "--config", "batch.yaml"], cwd=work, env=env)
    assert (work / "all" / "index.html").is_file() and (work / "all" / RUN / "report.html").is_file()
    times["notebooks"] = _run([vx, "notebooks", "--copy", "nb"], cwd=work, env=env)
    copied = {p.name for p in (work / "nb").glob("*.ipynb")}
    assert copied >= {"coverage.ipynb", "data_quality.ipynb", "linkage_diagnostics.ipynb", "report.ipynb"}, copied
    params = json.loads((work / "nb" / "report.ipynb").read_text(encoding="utf-8"))["cells"]
    assert any('"../data/synthetic/nghe_an"' in "".join(c["source"]) for c in params)
    print("\nwheel check, wall/CPU s: " + ", ".join(f"{k} {w:.1f}/{c:.1f}" for k, (w, c) in times.items())
          + f"; total {sum(w for w, _ in times.values()):.0f}/{sum(c for _, c in times.values()):.0f}")
