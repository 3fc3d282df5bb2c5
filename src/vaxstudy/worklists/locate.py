"""Where a run's inputs to the worklists are, and whether the run still describes its data.

One place knows the paths (`run_files`): the run's folders come from
:class:`vaxstudy.layout.RunLayout`; the working database is where the layout puts it,
or, for runs made before the pipeline moved to the layout, `<out>/.work/<province>.duckdb`.
The link threshold is read in one function (`link_threshold`: the database's ``link_run``,
else link_summary.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from vaxstudy.layout import MANIFEST, METRICS, RunLayout

LEGACY_WORK = ".work"  # the pipeline's working folder before layout.py
LINK_SUMMARY = "link_summary.json"
WORKLISTS = "worklists"


class RunError(ValueError):
    """The run folder cannot be used for worklists (missing, other province, stale)."""


@dataclass(frozen=True)
class RunFiles:
    layout: RunLayout
    db: Path
    metrics: Path
    manifest: Path
    link_summary: Path | None

    @property
    def worklists_dir(self) -> Path:
        """Where the workbooks and corrections.csv go: personal data, restricted."""
        return self.layout.restricted / WORKLISTS


def _first(*paths: Path) -> Path | None:
    return next((p for p in paths if p.exists()), None)


def run_files(run_dir: str | Path) -> RunFiles:
    """The files of the run at `run_dir` (either of its two folders); RunError if one is missing."""
    try:
        lay = RunLayout.from_run_dir(run_dir)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    legacy_db = Path(lay.out) / LEGACY_WORK / f"{lay.province}.duckdb"
    db = _first(lay.db, legacy_db)
    if db is None:
        raise RunError(f"no working database for province {lay.province}: looked for {lay.db} "
                       f"and {legacy_db}; run `vaxstudy report` for this province first")
    metrics = _first(lay.shared / METRICS, lay.restricted / METRICS)
    manifest = _first(lay.shared / MANIFEST, lay.restricted / MANIFEST)
    for name, p in ((METRICS, metrics), (MANIFEST, manifest)):
        if p is None:
            raise RunError(f"{lay.shared} has no {name}: it is not a finished run")
    summary = _first(lay.restricted / LINK_SUMMARY, lay.shared / LINK_SUMMARY, lay.link_dir / LINK_SUMMARY,
                     Path(lay.out) / LEGACY_WORK / f"{lay.province}_link" / LINK_SUMMARY)
    return RunFiles(lay, db, metrics, manifest, summary)


def link_threshold(files: RunFiles, con=None) -> float | None:
    """The decision threshold of the link stage: its ``link_run`` record in the database open
    on ``con``, else (a database linked before that record existed) link_summary.json's."""
    if con is not None:
        from vaxstudy.link.run import read_link_run

        run = read_link_run(con)
        if run is not None:
            return float(run.threshold)
    if files.link_summary is None:
        return None
    try:
        t = json.loads(files.link_summary.read_text(encoding="utf-8")).get("decision", {}).get("threshold")
        return None if t is None else float(t)
    except (ValueError, AttributeError):
        return None


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
