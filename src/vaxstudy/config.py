"""Path constants and project-wide defaults, in one place."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# The repository root when vaxstudy is installed in editable mode from a clone (meaningless in an
# installed wheel: commands take their paths from the user; the notebooks they run are package data,
# vaxstudy.report.notebooks).
PROJECT_DIR = PACKAGE_DIR.parents[1]
DATA_DIR = PROJECT_DIR / "data"
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"
SYNTHETIC_DIR = DATA_DIR / "synthetic"
REPORTS_DIR = PROJECT_DIR / "reports"
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"
SCHEMAS_DIR = PACKAGE_DIR / "schemas"

DEMO_PROVINCE = "40"  # Nghệ An
DEMO_DATA_DIR = SYNTHETIC_DIR / "nghe_an"
DEMO_PERIOD = ("2021-03-08", "2021-10-31")
CAMPAIGN_START = "2021-03-08"  # first COVID-19 dose given in Viet Nam

# Input tables of CONTRACT.md section 1, in load order.
TABLES = ("population", "vaccinations", "sites", "tallies")
OPTIONAL_TABLES = ("truth",)

DEFAULT_SEED = 1
SUPPRESSION_THRESHOLD = 10
