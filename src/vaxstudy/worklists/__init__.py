"""From findings to fixes: cleaning worklists per district and a corrections file (stage ``worklists``).

``build_worklists`` reads a finished run (its working database and metrics.json), finds the
five kinds of task with the estimate's own definitions (:mod:`.queries`, :mod:`.duplicates`),
and writes, under the run's restricted folder (``<out>/restricted/<run>/worklists/``):
one workbook per district (:mod:`.workbook`), a province summary workbook that reconciles
the counts with metrics.json, ``corrections.csv`` (:mod:`.corrections`), a README and
``corrections_source.json`` (the run and the export's checksum, which
:mod:`.apply` checks before changing a copy of the export).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from vaxstudy.worklists.locate import RunError, check_fresh, check_province, link_threshold, run_files, worklists_dir

__all__ = ["RunError", "WorklistsResult", "build_worklists", "reconciliation"]

SOURCE_FILE = "corrections_source.json"
CORRECTIONS_FILE = "corrections.csv"


@dataclass(frozen=True)
class WorklistsResult:
    out_dir: Path
    district_files: dict[str, Path]
    summary_file: Path
    corrections_file: Path
    counts: dict
    reconciliation: list[tuple[str, float | None, float]]
    notes: list[str]


def reconciliation(counts: dict, metrics: dict) -> list[tuple[str, float | None, float]]:
    """(figure, from metrics.json, from the worklists): the counts behind each record rate."""
    def times(rate: str, n: str) -> float | None:
        r = metrics.get(rate)
        return None if r is None else round(float(r) * float(metrics.get(n, 0)), 3)

    return [
        ("n_records", float(metrics.get("n_records", 0)), float(counts["n_records"])),
        ("n_subjects", float(metrics.get("n_subjects", 0)), float(counts["n_subjects"])),
        ("duplicate_subject_rate × n_subjects", times("duplicate_subject_rate", "n_subjects"),
         float(counts["worklist_merge_lines"])),
        ("duplicate_dose_rate × n_records", times("duplicate_dose_rate", "n_records"),
         float(counts["worklist_dose_lines"])),
        ("unlinked_record_rate × n_records", times("unlinked_record_rate", "n_records"),
         float(counts["worklist_unlinked_lines"])),
        ("missing_entry_rate × n_tally_doses", times("missing_entry_rate", "n_tally_doses"),
         float(counts["worklist_doses_to_enter"] - counts["worklist_doses_over_tally"])),
    ]


def _ingest_log(con) -> list[tuple[str, str]]:
    from vaxstudy.estimate.data import table_exists

    if not table_exists(con, "ingest_log"):
        return []
    return [(str(a), str(b)) for a, b in con.execute("SELECT source_file, sha256 FROM ingest_log").fetchall()]


def build_worklists(run_dir: str | Path, province: str, out: str | Path | None = None,
                    language: str = "vi") -> WorklistsResult:
    """Write the worklists of the run at ``run_dir`` for ``province`` (refused if the run is of
    another province or stale). ``out`` defaults to the run's restricted worklists folder."""
    import duckdb

    from vaxstudy.worklists.corrections import build_corrections, write_corrections
    from vaxstudy.worklists.queries import find_items
    from vaxstudy.worklists.text import LANGUAGES, README
    from vaxstudy.worklists.workbook import write_district_workbook, write_summary_workbook

    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
    files = run_files(run_dir)
    check_province(files, province)
    lay = files.layout
    metrics = json.loads(files.metrics.read_text(encoding="utf-8"))
    con = duckdb.connect(str(files.db), read_only=True)
    try:
        notes = check_fresh(files, _ingest_log(con))
        items = find_items(con, lay.province, lay.period_start, lay.period_end,
                           link_threshold=link_threshold(files, con), extract_date=metrics.get("extract_date"))
        vax_sha = dict(_ingest_log(con))
    finally:
        con.close()
    notes += items.notes
    out_dir = Path(out) if out is not None else worklists_dir(files)
    out_dir.mkdir(parents=True, exist_ok=True)
    recon = reconciliation(items.counts, metrics)
    district_files, per_district = {}, {}
    for d in items.districts():
        path = out_dir / f"district_{d}.xlsx"
        per_district[d] = write_district_workbook(items, d, path, language)
        district_files[d] = path
    summary = out_dir / f"summary_{lay.province}.xlsx"
    write_summary_workbook(items, per_district, {d: p.name for d, p in district_files.items()}, recon,
                           summary, language)
    corrections = write_corrections(build_corrections(items), out_dir / CORRECTIONS_FILE)
    (out_dir / SOURCE_FILE).write_text(json.dumps({
        "run": lay.name, "province": lay.province, "period_start": lay.period_start,
        "period_end": lay.period_end, "ingest_sha256": vax_sha,
    }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / "README.md").write_text(README[language].format(
        province=lay.province, start=lay.period_start, end=lay.period_end, run=lay.name), encoding="utf-8")
    return WorklistsResult(out_dir, district_files, summary, corrections, items.counts, recon, notes)
