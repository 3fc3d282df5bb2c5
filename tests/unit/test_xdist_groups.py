"""`make test-suite` runs under `--dist loadgroup`: every test marked ``xdist_group`` must
really be grouped (one worker owns the Spark session and the fixtures built on it). pytest-xdist
groups by a suffix it adds to the test ids; where pytest drops it (pytest 9.2 with xdist 3.8,
pytest-dev/pytest-xdist#1386) the tests silently spread over the workers and the suite takes
minutes longer. Without xdist (``-n 0``) there is nothing to check."""

from __future__ import annotations


def _groups(item) -> list[str]:
    return sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                   for m in item.iter_markers("xdist_group")})


def test_loadgroup_keeps_every_group_on_one_worker(request):
    if not getattr(request.config.option, "loadgroup", False):
        return  # not under `--dist loadgroup`
    grouped = [i for i in request.session.items if _groups(i)]
    assert grouped, "no test is marked xdist_group (the Spark tests are)"
    lost = [i.nodeid for i in grouped if not i.nodeid.endswith("@" + "_".join(_groups(i)))]
    assert lost == [], (f"--dist loadgroup is not grouping {len(lost)} tests (e.g. {lost[0]}): "
                        "pytest-xdist#1386; install pytest<9.2 (pyproject.toml)")
