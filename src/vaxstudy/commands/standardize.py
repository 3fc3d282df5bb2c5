"""`vaxstudy standardize`: build population_std and vaccinations_std in the DuckDB file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def standardize(
    db: Path = typer.Option(..., "--db", help="DuckDB database file written by `vaxstudy ingest`."),
    backend: str = typer.Option("duckdb", "--backend", help="Engine: duckdb (default) or spark."),
    spark_master: Optional[str] = typer.Option(
        None, "--spark-master", help="Spark master URL (default: $SPARK_MASTER, else local mode)."
    ),
) -> None:
    """Standardise names, dates of birth, IDs, phones, sex and admin codes (Vietnamese rules)."""
    from rich.console import Console
    from rich.table import Table

    from vaxstudy import validate as v
    from vaxstudy.engines import BackendUnavailable, get_engine
    from vaxstudy.commands.output import fail, number
    from vaxstudy.progress import Progress
    from vaxstudy.study import Study

    v.typer_check(v.db_file, db, must_exist=True)
    console = Console()
    try:
        engine = get_engine(backend, spark_master=spark_master)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--backend") from None
    except BackendUnavailable as exc:
        fail("standardize", exc)
    try:
        with console.status("standardising …") as status:
            Study(db, engine, progress=Progress(False, on_note=lambda _, m: status.update(f"standardising {m} …"))).standardize()
    except (OSError, ValueError, RuntimeError) as exc:  # StageError, BackendUnavailable
        fail("standardize", exc)
    finally:
        engine.close()

    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        t = Table(title=f"standardize → {db}")
        for col in ("table", "rows", "full dob", "valid phone", "CCCD", "ID consistent", "commune valid"):
            t.add_column(col, justify="left" if col == "table" else "right")
        for name in ("population_std", "vaccinations_std"):
            # count_if is NULL when every value is NULL (e.g. no phone typed at all)
            n, dob, ph, cccd, cons, comm = con.execute(
                f"""SELECT count(*), count(dob), count_if(phone_valid), count_if(id_type = 'CCCD'),
                           count_if(id_consistent), count_if(commune_valid) FROM {name}"""
            ).fetchall()[0]
            t.add_row(name, *(number(0 if v is None else v) for v in (n, dob, ph, cccd, cons, comm)))
        console.print(t)
    finally:
        con.close()
