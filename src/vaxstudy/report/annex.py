"""The report's annex: every table of the report, as shown (suppressed cells as "x"),
in one workbook (`tables.xlsx`, a sheet per table) and a folder of CSVs (`tables/`).

The tables are aggregates only and sit in the shareable folder beside report.html;
a reader who wants to reuse a figure copies it from here instead of retyping it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import pandas as pd

XLSX = "tables.xlsx"
CSV_DIR = "tables"
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")


def file_stem(i: int, key: str) -> str:
    """`03_coverage_district_1`: the table's place in the report and its section."""
    return f"{i:02d}_{key}"


def write_annex(tables: Mapping[str, pd.DataFrame], titles: Mapping[str, str], out_dir: str | Path) -> list[Path]:
    """Write tables.xlsx (sheet per table, its title in the first row) and tables/NN_key.csv
    (UTF-8 with BOM, so Excel opens Vietnamese text correctly); return the paths written."""
    out = Path(out_dir)
    csv_dir = out / CSV_DIR
    csv_dir.mkdir(parents=True, exist_ok=True)
    for old in csv_dir.glob("*.csv"):
        old.unlink()
    written: list[Path] = []
    with pd.ExcelWriter(out / XLSX, engine="openpyxl") as xl:
        for i, (key, tab) in enumerate(tables.items(), start=1):
            stem = file_stem(i, key)
            tab = tab.copy()
            tab.columns = [str(c) for c in tab.columns]
            path = csv_dir / f"{stem}.csv"
            tab.to_csv(path, index=False, encoding="utf-8-sig")
            written.append(path)
            sheet = _BAD_SHEET.sub("_", stem)[:31]
            tab.to_excel(xl, sheet_name=sheet, index=False, startrow=1)
            ws = xl.sheets[sheet]
            ws.cell(row=1, column=1, value=titles.get(key, key))
            for col in ws.columns:
                width = max(len(str(c.value or "")) for c in col[1:]) if len(col) > 1 else 10
                ws.column_dimensions[col[0].column_letter].width = min(60, max(8, width + 2))
    written.insert(0, out / XLSX)
    return written
