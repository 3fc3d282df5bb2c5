"""Every CLI command answers --help (fast: heavy imports live in command bodies)."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from vaxstudy.cli import app


def _commands():
    import typer.main

    group = typer.main.get_command(app)
    return sorted(group.commands)


def test_top_level_help():
    r = CliRunner().invoke(app, ["--help"])
    assert r.exit_code == 0 and "ingest" in r.output and "standardize" in r.output


@pytest.mark.parametrize("command", _commands())
def test_command_help(command):
    r = CliRunner().invoke(app, [command, "--help"])
    assert r.exit_code == 0, r.output
    assert "Usage" in r.output


def test_ingest_and_standardize_options():
    runner = CliRunner()
    assert "--data" in runner.invoke(app, ["ingest", "--help"]).output
    assert "--quarantine" in runner.invoke(app, ["ingest", "--help"]).output
    assert "--db" in runner.invoke(app, ["standardize", "--help"]).output


def test_console_script_help():
    r = subprocess.run([sys.executable, "-m", "vaxstudy.cli", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "ingest" in r.stdout


def test_engine_and_chunk_options():
    runner = CliRunner()
    for cmd in ("report", "link", "standardize", "estimate"):
        out = runner.invoke(app, [cmd, "--help"]).output
        assert "--backend" in out and "--spark-master" in out, cmd
    for cmd in ("report", "link"):
        assert "--chunks" in runner.invoke(app, [cmd, "--help"]).output, cmd
