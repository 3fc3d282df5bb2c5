"""The `vaxstudy` command line: one command per stage, plus `demo`.

Each command lives in `vaxstudy.commands.<name>` and imports its heavy
dependencies inside its body, so `vaxstudy --help` stays quick.
"""

from __future__ import annotations

import typer

from vaxstudy.commands.estimate import estimate
from vaxstudy.commands.evaluate import evaluate
from vaxstudy.commands.ingest import ingest
from vaxstudy.commands.link import link
from vaxstudy.commands.notebooks import notebooks
from vaxstudy.commands.report import demo, report, report_all
from vaxstudy.commands.review import review_app
from vaxstudy.commands.standardize import standardize
from vaxstudy.commands.synth import synth
from vaxstudy.commands.worklists import apply_corrections, worklists

app = typer.Typer(
    name="vaxstudy",
    help="Audit COVID-19 vaccination registries against the population register.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main() -> None:
    """Audit COVID-19 vaccination registries against the population register."""


@app.command("version")
def version() -> None:
    """Print the vaxstudy version."""
    from vaxstudy import __version__

    typer.echo(__version__)


# In pipeline order.
app.command("synth")(synth)
app.command("ingest")(ingest)
app.command("standardize")(standardize)
app.command("link")(link)
app.command("estimate")(estimate)
app.command("evaluate")(evaluate)
app.command("report")(report)
app.command("report-all")(report_all)
app.command("worklists")(worklists)
app.command("apply-corrections")(apply_corrections)
app.command("demo")(demo)
app.command("notebooks")(notebooks)
app.add_typer(review_app, name="review")

if __name__ == "__main__":  # pragma: no cover
    app()
