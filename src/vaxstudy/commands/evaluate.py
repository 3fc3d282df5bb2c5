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
    from rich.console import Console

    from vaxstudy.evaluate import evaluate as _evaluate

    if out is None and db is None:
        Console(stderr=True).print("[bold red]evaluate:[/] give --out or --db", highlight=False)
        raise typer.Exit(code=2)
    try:
        res = _evaluate(out if out is not None else db, truth, db_path=db)
    except FileNotFoundError as exc:
        Console(stderr=True).print(f"[bold red]evaluate failed:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None
    typer.echo(json.dumps(res, indent=2))
