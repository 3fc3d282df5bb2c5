"""`vaxstudy evaluate`: linkage accuracy of a run against truth files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def evaluate(
    truth: Path = typer.Option(..., "--truth", help="Folder with truth.csv|parquet (and vaccinations)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder of a `vaxstudy link` run."),
    db: Optional[Path] = typer.Option(None, "--db", help="DuckDB file holding record_links."),
) -> None:
    """Link precision/recall/F1, duplicate-dose precision/recall/F1, persons vs truth."""
    from vaxstudy import validate as v
    from vaxstudy.commands.output import fail
    from vaxstudy.evaluate import evaluate as _evaluate

    if out is None and db is None:
        raise typer.BadParameter("give --out (a link run folder) or --db", param_hint="--out / --db")
    v.typer_check(v.data_dir, truth, "--truth")
    if out is not None:
        v.typer_check(v.data_dir, out, "--out")
    if db is not None:
        v.typer_check(v.db_file, db, must_exist=True)
    try:
        res = _evaluate(out if out is not None else db, truth, db_path=db)
    except (OSError, ValueError) as exc:
        fail("evaluate", exc)
    typer.echo(json.dumps(res, indent=2))
