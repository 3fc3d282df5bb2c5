"""environment.yml and pyproject.toml list the same packages with the same lower bounds;
`make help` lists the targets."""

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# conda-forge names that differ from PyPI names
CONDA_TO_PYPI = {"pytorch": "torch"}
NOT_PACKAGES = {"python", "pip"}


def _parse(spec: str) -> tuple[str, str]:
    """(normalised name, version constraint) of 'name>=1.2,<2' / 'name==0.0.3'."""
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", spec)
    name = re.sub(r"[-_.]+", "-", m.group(1)).lower()
    return CONDA_TO_PYPI.get(name, name), m.group(3).replace(" ", "")


def _lower_bound(constraint: str) -> str | None:
    m = re.search(r"(>=|==)\s*([0-9][^,;]*)", constraint)
    return m.group(2) if m else None


def pyproject_deps() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    specs = list(data["project"]["dependencies"])
    for extra in data["project"].get("optional-dependencies", {}).values():
        specs += extra
    return dict(_parse(s) for s in specs)


def environment_deps() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for spec in dep.get("pip", []):
                if not spec.startswith("-"):
                    name, c = _parse(spec)
                    out[name] = c
        else:
            name, c = _parse(dep.replace(" ", ""))
            if name not in NOT_PACKAGES:
                out[name] = c
    return out


def test_parse():
    assert _parse("splink>=5.0,<6") == ("splink", ">=5.0,<6")
    assert _parse("charset_normalizer >=3.3") == ("charset-normalizer", ">=3.3")
    assert _lower_bound(">=5.0,<6") == "5.0" and _lower_bound("==0.0.3") == "0.0.3" and _lower_bound("") is None


def test_environment_has_every_pyproject_package():
    py, env = pyproject_deps(), environment_deps()
    # the spark extra needs Java too and is left to the user, so it may be absent from the conda file
    optional_only = {"pyspark"}
    missing = sorted(set(py) - set(env) - optional_only)
    assert not missing, f"in pyproject.toml but not environment.yml: {missing}"
    extra = sorted(set(env) - set(py))
    assert not extra, f"in environment.yml but not pyproject.toml: {extra}"


def test_lower_bounds_agree():
    py, env = pyproject_deps(), environment_deps()
    differ = {n: (py[n], env[n]) for n in set(py) & set(env) if _lower_bound(py[n]) != _lower_bound(env[n])}
    assert not differ, f"lower bounds differ (pyproject, environment.yml): {differ}"


def test_every_dependency_has_a_lower_bound():
    unbounded = sorted(n for n, c in pyproject_deps().items() if _lower_bound(c) is None)
    assert not unbounded, f"no lower bound in pyproject.toml: {unbounded}"


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_help_lists_targets():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout)  # drop colour codes
    for target in ("setup", "demo", "test", "bench", "help"):
        assert re.search(rf"^\s*{target}\s", text, re.M), (target, text)
