"""The `vaxstudy` command line: one command per stage, plus `demo`."""

from __future__ import annotations

import typer

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


from vaxstudy.commands.ingest import ingest as _ingest_cmd  # noqa: E402

app.command("ingest")(_ingest_cmd)
from vaxstudy.commands.standardize import standardize as _standardize_cmd  # noqa: E402

app.command("standardize")(_standardize_cmd)
from vaxstudy.commands.link import link as _link_cmd  # noqa: E402

app.command("link")(_link_cmd)
from vaxstudy.commands.evaluate import evaluate as _evaluate_cmd  # noqa: E402

app.command("evaluate")(_evaluate_cmd)
from vaxstudy.commands.synth import synth as _synth_cmd  # noqa: E402

app.command("synth")(_synth_cmd)
from vaxstudy.commands.estimate import estimate as _estimate_cmd  # noqa: E402

app.command("estimate")(_estimate_cmd)
from vaxstudy.commands.report import demo as _demo_cmd  # noqa: E402
from vaxstudy.commands.report import report as _report_cmd  # noqa: E402
from vaxstudy.commands.report import report_all as _report_all_cmd  # noqa: E402

app.command("report")(_report_cmd)
app.command("report-all")(_report_all_cmd)
app.command("demo")(_demo_cmd)

if __name__ == "__main__":  # pragma: no cover
    app()
