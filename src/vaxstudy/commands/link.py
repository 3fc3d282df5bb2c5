"""`vaxstudy link`: link every vaccination row to its register person (Splink)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def link(
    db: Path = typer.Option(..., "--db", help="DuckDB file holding population_std and vaccinations_std."),
    out: Path = typer.Option(..., "--out", help="Output folder (record_links.parquet, model, diagnostics)."),
    model: Optional[Path] = typer.Option(
        None, "--model", help="Saved link_model.json to reuse (no retraining)."
    ),
    seed: int = typer.Option(1, "--seed", help="Seed of the random sampling in training."),
    threshold: Optional[float] = typer.Option(
        None, "--threshold", help="Override the automatically chosen match-probability threshold."
    ),
    no_diagnostics: bool = typer.Option(False, "--no-diagnostics", help="Skip charts and review files."),
    chunks: int = typer.Option(
        1, "--chunks", min=1,
        help="Score the pairs in N slices of the registry (national runs: bounds the pairs held at once).",
    ),
    backend: str = typer.Option("duckdb", "--backend", help="Engine Splink scores on: duckdb (default) or spark."),
    spark_master: Optional[str] = typer.Option(
        None, "--spark-master", help="Spark master URL (default: $SPARK_MASTER, else local mode)."
    ),
    update: bool = typer.Option(
        False, "--update",
        help="Link only the rows added since the previous run of this export, with its model, priors and "
        "threshold (refused, with the reason, when a full re-link is needed).",
    ),
) -> None:
    """Registry -> register linkage, unlinked-row deduplication, duplicate-dose flags."""
    from rich.console import Console
    from rich.table import Table

    from vaxstudy import validate as v
    from vaxstudy.commands.output import fail, number, say
    from vaxstudy.options import LinkOptions
    from vaxstudy.study import Study

    console = Console()
    v.typer_check(v.db_file, db, must_exist=True)
    if model is not None and not model.is_file():
        fail("link", f"{model} not found")
    v.typer_check(v.out_dir, out)
    from vaxstudy.engines import get_engine

    if update:
        if model is not None or threshold is not None or chunks != 1 or backend != "duckdb":
            raise typer.BadParameter("--update reuses the previous run's model and threshold on DuckDB: "
                                     "drop --model, --threshold, --chunks and --backend", param_hint="--update")
        _update(db, out, console)
        return
    try:
        options = LinkOptions(model_path=model, seed=seed, threshold=threshold, diagnostics=not no_diagnostics,
                              n_chunks=chunks)
    except ValueError as exc:  # pydantic's ValidationError
        raise typer.BadParameter(str(exc).splitlines()[-1].strip(), param_hint="--threshold") from None
    try:
        engine = get_engine(backend, spark_master=spark_master)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--backend") from None
    except RuntimeError as exc:  # BackendUnavailable: no pyspark / Java
        fail("link", exc)
    try:
        with console.status("linking …"):
            res = Study(db, engine, link_dir=out).link(options)
    except (RuntimeError, OSError) as exc:  # includes BackendUnavailable
        fail("link", exc)
    finally:
        engine.close()
    # Counts only: no personal data is ever printed.
    t = Table(title=f"link → {out}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    rows = [
        ("register persons", number(res.n_register)),
        ("vaccination rows", number(res.n_records)),
        ("distinct identities", number(res.n_identities)),
        ("rows linked to the register", number(res.n_linked_records)),
        # not linked (the register entry lacks the date of birth): to complete, not create
        ("unlinked rows, person in the register without a date of birth",
         number(json.loads(Path(res.summary_path).read_text(encoding="utf-8"))["results"]
                .get("n_unlinked_in_register_incomplete"))),
        ("estimated persons", number(res.n_persons_est)),
        ("duplicate doses", number(res.n_duplicate_doses)),
        ("threshold (match probability)", number(res.threshold, "g")),
        ("prior", number(res.prior, ".3g")),
        ("time link+dedupe (s)", number(res.timings.get("total_link_dedupe", 0), ".1f")),
    ]
    for a, b in rows:
        t.add_row(a, b)
    console.print(t)
    say(f"record_links → {res.parquet_path}; model → {res.model_path}; summary → {res.summary_path}")


def _update(db: Path, out: Path, console: object) -> None:
    """`vaxstudy link --update`: the rows added since the previous run, linked and clustered."""
    from vaxstudy.commands.output import fail, number, say
    from vaxstudy.link.update import UPDATE_SUMMARY_FILE
    from vaxstudy.study import Study

    try:
        with console.status("linking the new rows …"):
            res = Study(db, link_dir=out).update_link()
    except (RuntimeError, OSError) as exc:  # UpdateRefused says why a full re-link is needed
        fail("link --update", exc)
    for label, value in (("vaccination rows", number(res.n_records)),
                         ("rows added since the previous run", number(res.n_new_records)),
                         ("identities decided again", number(res.n_identities_decided)),
                         ("identities re-clustered", number(res.n_dedupe_nodes)),
                         ("rows linked to the register", number(res.n_linked_records)),
                         ("estimated persons", number(res.n_persons_est)),
                         ("duplicate doses", number(res.n_duplicate_doses)),
                         ("time (s)", number(res.timings.get("total", 0), ".1f"))):
        console.print(f"{label}: {value}")
    say(f"record_links updated in {db}; summary → {out / UPDATE_SUMMARY_FILE}")
