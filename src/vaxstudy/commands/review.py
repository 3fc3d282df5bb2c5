"""`vaxstudy review sample|score`: clerical review of a run's links and duplicates."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

review_app = typer.Typer(
    name="review",
    help="Measure linkage accuracy on your own registry: draw items to review, score the answers.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(msg: str) -> None:
    from vaxstudy.commands.output import fail

    fail("review", msg)


@review_app.command("sample")
def sample(
    run: Path = typer.Option(..., "--run", help="The run's folder (shareable or restricted)."),
    n: int = typer.Option(400, "--n", min=1, help="Items to draw."),
    seed: int = typer.Option(1, "--seed", help="Seed of the draw."),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Folder for the review files (default: <run's restricted folder>/review)."),
    language: str = typer.Option("vi", "--language", help="Workbook labels: vi (default) or en."),
) -> None:
    """Draw a stratified sample of links, unlinked rows and duplicates; write review.xlsx/.csv."""
    from rich.console import Console

    from vaxstudy import validate as v
    from vaxstudy.review.sample import sample_run

    if language not in ("vi", "en"):
        raise typer.BadParameter("vi or en", param_hint="--language")
    v.typer_check(v.data_dir, run, "--run")
    if out is not None:
        v.typer_check(v.out_dir, out)
    try:
        paths = sample_run(run, n=n, seed=seed, out=out, language=language)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        _fail(str(exc))
    c = Console()
    c.print(f"review workbook → {paths['xlsx']}")
    c.print(f"same items as CSV → {paths['csv']}; design → {paths['design']}; {paths['readme'].name} beside")


@review_app.command("score")
def score(
    run: Path = typer.Option(..., "--run", help="The run's folder (shareable or restricted)."),
    labels: Path = typer.Option(..., "--labels", help="The returned review.xlsx or review.csv."),
    design: Optional[Path] = typer.Option(
        None, "--design", help="review_design.json of the sample (default: beside the labels file, "
        "else the run's review folder)."),
) -> None:
    """Estimate link precision/recall and duplicate precision from a returned file; keep its decisions."""
    from rich.console import Console
    from rich.table import Table

    from rich.markup import escape

    from vaxstudy.review.returned import ReviewFileError
    from vaxstudy.review.score import score_run

    try:
        summary, path = score_run(run, labels, design)
    except (ReviewFileError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    c = Console()
    t = Table(title=f"review of {summary['n_reviewed']} items ({summary['n_unsure']} unsure)")
    t.add_column("figure")
    t.add_column("estimate", justify="right")
    t.add_column("95% interval", justify="right")
    for k in ("link_precision_est", "link_recall_est", "dup_subject_precision_est", "dup_dose_precision_est"):
        ci = summary.get(f"{k}_ci")
        t.add_row(k, "–" if summary[k] is None else f"{summary[k]:.4f}",
                  "–" if not ci else f"{ci[0]:.4f} – {ci[1]:.4f}")
    c.print(t)
    for s in summary["skipped"]:
        c.print(f"[yellow]skipped[/] row {s['row']}, column {escape(str(s['column']))}: {escape(str(s['reason']))}",
                highlight=False)
    if summary["not_returned"]:
        c.print(f"[yellow]{len(summary['not_returned'])} item(s) of the sample not in the file "
                f"(rows deleted?)[/]: {escape(', '.join(summary['not_returned'][:10]))}", highlight=False)
    c.print(f"summary → {path}")
    if summary["n_reviewed"] == 0:
        _fail("no valid decision in the file: nothing scored")
