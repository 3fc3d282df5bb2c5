"""The run a worklist is made from: its files (:func:`vaxstudy.layout.locate_run`), and whether
it still describes its data.

`run_files` adds what the worklists need on top of the shared locator: a finished run
(metrics.json and manifest.json present). The link threshold comes from
:func:`vaxstudy.link.run.run_threshold` (the database's ``link_run``, else link_summary.json).
"""

from __future__ import annotations

import json
from pathlib import Path

from vaxstudy.layout import MANIFEST, METRICS, RunFiles, RunNotFound, locate_run
from vaxstudy.link.run import run_threshold

WORKLISTS = "worklists"


class RunError(ValueError):
    """The run folder cannot be used for worklists (missing, other province, stale)."""


def worklists_dir(files: RunFiles) -> Path:
    """Where the workbooks and corrections.csv go: personal data, restricted."""
    return files.layout.restricted / WORKLISTS


def run_files(run_dir: str | Path) -> RunFiles:
    """The files of the finished run at `run_dir` (either of its two folders); RunError if the
    run, its database, metrics.json or manifest.json is missing."""
    try:
        files = locate_run(run_dir)
    except (ValueError, RunNotFound) as exc:
        raise RunError(str(exc)) from None
    for name, p in ((METRICS, files.metrics), (MANIFEST, files.manifest)):
        if p is None:
            raise RunError(f"{files.layout.shared} has no {name}: it is not a finished run")
    return files


def link_threshold(files: RunFiles, con=None) -> float | None:
    """The decision threshold of the run's link stage (database open on ``con`` first)."""
    return run_threshold(con, files.link_summary)


def check_province(files: RunFiles, province: str) -> None:
    """Refuse a run of another province than the one asked for."""
    want = str(province).strip().zfill(2)
    got = files.layout.province
    m = json.loads(files.metrics.read_text(encoding="utf-8"))
    if got != want or str(m.get("province_code", got)) != want:
        raise RunError(f"{files.layout.shared} is a run of province {got}, not {want}: "
                       f"give --province {got} or the run folder of province {want}")


def _manifest_inputs(files: RunFiles) -> tuple[Path | None, dict[str, str]]:
    man = json.loads(files.manifest.read_text(encoding="utf-8"))
    inputs = man.get("inputs") or {}
    d = inputs.get("data_dir") or (man.get("parameters") or {}).get("data_dir")
    return (Path(d) if d else None), dict(inputs.get("sha256") or {})


def check_fresh(files: RunFiles, ingest_log: list[tuple[str, str]]) -> list[str]:
    """Refuse a stale run: input files changed since the run (manifest checksums against the
    data folder's files now), or a working database rebuilt from other files since (its
    ingest_log against the manifest). Returns notes on what could not be checked."""
    from vaxstudy.report.manifest import sha256_file

    data_dir, sums = _manifest_inputs(files)
    notes: list[str] = []
    if not sums:
        notes.append("manifest.json lists no input checksums: freshness not checked")
        return notes
    changed = [f"{name} (the database was ingested from other data: sha256 {sha[:12]}…)"
               for name, sha in ingest_log if name in sums and sums[name] != sha]
    if data_dir is not None and data_dir.is_dir():
        for name, sha in sorted(sums.items()):
            p = data_dir / name
            if not p.exists():
                changed.append(f"{name} (no longer in {data_dir})")
            elif sha256_file(p) != sha:
                changed.append(f"{name} (changed since the run)")
    else:
        notes.append(f"data folder {data_dir} not found: only the database was checked against the run")
    if changed:
        raise RunError(f"the run {files.layout.name} is stale: " + "; ".join(changed)
                       + ". Re-run `vaxstudy report` on the current data, then make the worklists")
    return notes
