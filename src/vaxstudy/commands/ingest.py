"""`vaxstudy ingest`: load a data folder into the DuckDB file and print the row accounting."""

from __future__ import annotations

from pathlib import Path

import typer


def ingest(
    data: Path = typer.Option(..., "--data", help="Data folder holding the CONTRACT tables (.csv/.parquet/.xlsx)."),
    db: Path = typer.Option(..., "--db", help="DuckDB database file to write (created if absent)."),
    quarantine: Path = typer.Option(None, "--quarantine",
                                    help="Where to write quarantine.csv (default: next to the database)."),
) -> None:
    """Read population, vaccinations, sites, tallies (and truth) into DuckDB; quarantine unusable rows."""
    from rich.console import Console

    from vaxstudy import validate as v
    from vaxstudy.commands.output import fail, say, warn
    from vaxstudy.ingest import IngestError, summary_table
    from vaxstudy.progress import Progress, StageError
    from vaxstudy.study import Study

    v.typer_check(v.data_dir, data)
    v.typer_check(v.db_file, db)
    if quarantine is not None:
        v.typer_check(v.output_file, quarantine, "--quarantine")
    console = Console()
    try:
        with console.status("ingesting …") as status:
            progress = Progress(False, on_note=lambda _, t: status.update(f"ingesting {t} …"))
            with Study(db, progress=progress, quarantine_path=quarantine or db.parent / "quarantine.csv") as study:
                result = study.ingest(data, fresh=False)
    except StageError as exc:  # an unusable table: its own message, as ingest words it
        fail("ingest", exc.cause if isinstance(exc.cause, IngestError) else exc)
    console.print(summary_table(result))
    for note in result.notes:
        warn(note)
    if result.rows_quarantined:
        say(f"{result.rows_quarantined:,} row(s) quarantined with their reasons: {result.quarantine_path}")
