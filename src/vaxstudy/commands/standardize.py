"""`vaxstudy standardize`: build population_std and vaccinations_std in the DuckDB file."""

from __future__ import annotations

from pathlib import Path

import typer


def standardize(
    db: Path = typer.Option(..., "--db", help="DuckDB database file written by `vaxstudy ingest`."),
) -> None:
    """Standardise names, dates of birth, IDs, phones, sex and admin codes (Vietnamese rules)."""
    from rich.console import Console
    from rich.table import Table

    from vaxstudy.standardize import standardize_db

    console = Console()
    try:
        with console.status("standardising …") as status:
            standardize_db(db, progress=lambda msg: status.update(f"standardising {msg} …"))
    except (FileNotFoundError, ValueError) as exc:
        Console(stderr=True).print(f"[bold red]standardize failed:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None

    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        t = Table(title=f"standardize → {db}")
        for col in ("table", "rows", "full dob", "valid phone", "CCCD", "ID consistent", "commune valid"):
            t.add_column(col, justify="left" if col == "table" else "right")
        for name in ("population_std", "vaccinations_std"):
            n, dob, ph, cccd, cons, comm = con.execute(
                f"""SELECT count(*), count(dob), count_if(phone_valid), count_if(id_type = 'CCCD'),
                           count_if(id_consistent), count_if(commune_valid) FROM {name}"""
            ).fetchone()
            t.add_row(name, *(f"{v:,}" for v in (n, dob, ph, cccd, cons, comm)))
        console.print(t)
    finally:
        con.close()
