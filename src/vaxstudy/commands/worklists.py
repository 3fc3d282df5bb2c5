"""`vaxstudy worklists` and `vaxstudy apply-corrections`: from findings to fixes."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def worklists(
    run: Path = typer.Option(..., "--run", help="The run folder (<out>/<province>_<start>_<end>, or its restricted twin)."),
    province: str = typer.Option(..., "--province", help="2-digit GSO province code; must be the run's."),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Folder for the lists (default: <out>/restricted/<run>/worklists; personal data)."),
    language: str = typer.Option("vi", "--language", help="Workbook language: vi (default) or en."),
) -> None:
    """Cleaning worklists: one Excel workbook per district, a province summary and corrections.csv."""
    from vaxstudy import validate as v
    from vaxstudy.worklists import RunError, build_worklists

    province = v.typer_check(v.province, province)
    v.typer_check(v.data_dir, run, "--run")
    if out is not None:
        v.typer_check(v.out_dir, out)
    try:
        r = build_worklists(run, province, out=out, language=language)
    except (RunError, ValueError) as exc:
        typer.echo(f"worklists refused: {exc}", err=True)
        raise typer.Exit(code=1) from None
    c = r.counts
    typer.echo(f"{len(r.district_files)} district workbooks, summary and corrections.csv in {r.out_dir} "
               "(personal data: see its README.md before sharing)")
    typer.echo(f"  profiles to merge {c['worklist_merge_lines']:,}, duplicate doses to delete "
               f"{c['worklist_dose_lines']:,}, rows not in the register {c['worklist_unlinked_lines']:,}, "
               f"doses to enter {c['worklist_doses_to_enter']:,}")
    bad = [k for k, a, b in r.reconciliation if a is None or abs(a - b) >= 0.5]
    typer.echo("  counts equal those behind metrics.json" if not bad else f"  differ from metrics.json: {bad}")
    for n in r.notes:
        typer.echo(f"  note: {n}")


def apply_corrections(
    data: Path = typer.Option(..., "--data", help="The export's data folder (never modified)."),
    corrections: Path = typer.Option(..., "--corrections", help="corrections.csv made by `vaxstudy worklists`."),
    out: Path = typer.Option(..., "--out", help="New folder for the corrected copy (not inside --data)."),
    min_probability: float = typer.Option(
        0.99, "--min-probability", min=0.0, max=1.0,
        help="Apply only lines at least this probable (0: all, including lines without a probability)."),
) -> None:
    """Write a corrected copy of the export, as a registry operator would after acting on the lists."""
    from vaxstudy import validate as v
    from vaxstudy.worklists.apply import apply_corrections as apply
    from vaxstudy.worklists.corrections import CorrectionsError

    v.typer_check(v.data_dir, data)
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{out} is a file, not a folder; give a new folder", param_hint="--out")
    if not corrections.is_file():
        raise typer.BadParameter(f"{corrections}: no such file", param_hint="--corrections")
    try:
        r = apply(data, corrections, out, min_probability)
    except CorrectionsError as exc:
        typer.echo(f"apply-corrections refused: {exc}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"wrote {r.out_dir} ({r.rows_before:,} → {r.rows_after:,} vaccination rows)")
    typer.echo(f"  applied: {r.applied}")
    typer.echo(f"  below --min-probability {min_probability}: {r.below_threshold}")
    typer.echo(f"  not applied (need a field check or the paper records): {r.not_applicable}")
