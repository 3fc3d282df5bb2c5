"""The Excel workbooks: one per district, and the province summary (openpyxl).

Made for a commune health worker: an instructions sheet first, one sheet per task with
a title row, bold wrapped headings frozen above the lines, set column widths, an
autofilter, dates as dd/mm/yyyy, probabilities as 0.000, and a last column to tick.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from vaxstudy.worklists.queries import Items
from vaxstudy.worklists.text import CHECK, COLUMNS, DONE, GUIDE, SHEETS, TITLES, t

DATE_FMT = "DD/MM/YYYY"
PROB_FMT = "0.000"
HEADER_ROW = 3  # row 1: title, row 2: count, row 3: headings
GUIDE_WIDTH = 85  # characters per line of the instructions sheet
TASKS = ("subjects", "doses", "identity", "unlinked", "tally")


def _cell_value(v, kind: str):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, (np.generic,)):
        v = v.item()
    if kind == "date":
        if isinstance(v, str):
            return v
        ts = pd.Timestamp(v)
        return None if pd.isna(ts) else ts.to_pydatetime().date()
    if kind == "int":
        return int(v)
    if kind == "prob":
        return float(v)
    return str(v)


def _styles():
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="999999")
    return {
        "title": Font(bold=True, size=14),
        "head_font": Font(bold=True, color="FFFFFF"),
        "head_fill": PatternFill("solid", fgColor="305496"),
        "head_align": Alignment(wrap_text=True, vertical="center", horizontal="center"),
        "border": Border(bottom=thin),
        "warn": Font(bold=True, color="C00000"),
        "keep_fill": PatternFill("solid", fgColor="E2EFDA"),
        "wrap": Alignment(wrap_text=True, vertical="top"),
    }


def _display(frame: pd.DataFrame, task: str, lang: str) -> pd.DataFrame:
    """The lines of a sheet with values in the reader's language."""
    f = frame.copy()
    if task == "subjects" and len(f):
        f["role"] = [t(r, lang) for r in f["role"]]
        f["differs"] = [", ".join(t(x, lang) for x in str(s).split(", ") if x) for s in f["differs"].fillna("")]
    if task == "doses" and len(f):
        f["same_subject"] = [t("yes" if b else "no", lang) for b in f["same_subject"]]
    if task == "identity" and len(f):
        sexes = f["field"] == "sex"
        f.loc[sexes, "proposed_value"] = [t(v, lang) for v in f.loc[sexes, "proposed_value"]]
        dobs = f["field"] == "date_of_birth"
        f.loc[dobs, "proposed_value"] = pd.to_datetime(f.loc[dobs, "proposed_value"]).dt.strftime("%d/%m/%Y")
        f["field"] = [t(x, lang) for x in f["field"]]
        f["problem"] = [t(x, lang) for x in f["problem"]]
    if task == "unlinked" and len(f):
        f["residence"] = [" / ".join(str(x) if isinstance(x, str) else "—" for x in r)
                          for r in zip(f["province_code"], f["res_district"], f["commune_code"])]
        f["non_resident"] = [t("yes", lang) if b else "" for b in f["non_resident"]]
        f["task"] = [t(x, lang) for x in f["task"]]
    return f


def write_task_sheet(wb, task: str, frame: pd.DataFrame, lang: str) -> None:
    """One task sheet: title, line count, frozen headings, the lines, a column to tick."""
    from openpyxl.utils import get_column_letter

    st = _styles()
    ws = wb.create_sheet(t(task, lang, SHEETS))
    cols = COLUMNS[task]
    extra = CHECK if task == "unlinked" else DONE
    heads = [c[1 if lang == "vi" else 2] for c in cols] + [extra[0 if lang == "vi" else 1]]
    widths = [c[3] for c in cols] + [14]
    ws.cell(row=1, column=1, value=t(task, lang, TITLES)).font = st["title"]
    n_lines = int((frame["role"] == "merge").sum()) if task == "subjects" and len(frame) else len(frame)
    ws.cell(row=2, column=1, value=(f"Số việc: {n_lines}" if lang == "vi" else f"Tasks: {n_lines}"))
    for j, (h, w) in enumerate(zip(heads, widths), start=1):
        c = ws.cell(row=HEADER_ROW, column=j, value=h)
        c.font, c.fill, c.alignment = st["head_font"], st["head_fill"], st["head_align"]
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.row_dimensions[HEADER_ROW].height = 45
    f = _display(frame, task, lang)
    data = [f[c[0]].to_numpy() if c[0] in f else np.full(len(f), None) for c in cols]
    kinds = [c[4] for c in cols]
    unknown = t("unknown_prob", lang)
    keep = (frame["role"] == "keep").to_numpy() if task == "subjects" and len(frame) else None
    for i in range(len(f)):
        r = HEADER_ROW + 1 + i
        for j, (arr, kind) in enumerate(zip(data, kinds), start=1):
            v = _cell_value(arr[i], kind)
            if kind == "prob" and v is None and cols[j - 1][0] == "probability":
                v = unknown
            c = ws.cell(row=r, column=j, value=v)
            if kind == "date" and isinstance(v, (date, datetime)):
                c.number_format = DATE_FMT
            elif kind == "prob" and isinstance(v, float):
                c.number_format = PROB_FMT
            if keep is not None and keep[i]:
                c.fill = st["keep_fill"]
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
    last = get_column_letter(len(heads))
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + max(len(f), 1)}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def write_guide(wb, lang: str, **fmt) -> None:
    st = _styles()
    ws = wb.active
    ws.title = t("guide", lang, SHEETS)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.column_dimensions["A"].width = GUIDE_WIDTH
    for i, (line, kind) in enumerate(GUIDE[lang], start=1):
        text = line.format(**fmt)
        c = ws.cell(row=i, column=1, value=text)
        c.alignment = st["wrap"]
        # spreadsheet programs do not grow a row to its wrapped text on opening: size it here
        ws.row_dimensions[i].height = 16 * (1 + len(text) // GUIDE_WIDTH) + (6 if kind == "title" else 2)
        if kind == "title":
            c.font = st["title"]
        elif kind == "warn":
            c.font = st["warn"]


def _fmt(items: Items, district: str, lang: str) -> dict:
    d = lambda x: x.strftime("%d/%m/%Y")  # noqa: E731
    return {"province": items.province, "district": district, "start": d(items.period_start),
            "end": d(items.period_end), "made": d(date.today())}


def district_frames(items: Items, district: str) -> dict[str, pd.DataFrame]:
    """The lines of one district (a duplicate-subject group goes where a profile to merge is)."""
    out = {}
    for task in TASKS:
        f = getattr(items, task)
        if task == "subjects" and len(f):
            keys = set(f.loc[(f["role"] == "merge") & (f["district_code"].astype(str) == district), "person_key"])
            g = f[f["person_key"].isin(keys)].copy()
            g["group"] = pd.factorize(g["group"])[0] + 1  # groups numbered 1, 2, … within the district
            out[task] = g
        else:
            out[task] = f[f["district_code"].astype(str) == district] if len(f) else f
    return out


def write_district_workbook(items: Items, district: str, path: Path, lang: str = "vi") -> dict[str, int]:
    """The workbook of one district; returns its task counts."""
    from openpyxl import Workbook

    wb = Workbook()
    write_guide(wb, lang, **_fmt(items, district, lang))
    frames = district_frames(items, district)
    for task in TASKS:
        write_task_sheet(wb, task, frames[task], lang)
    wb.save(path)
    return district_counts(items, district, frames)


def district_counts(items: Items, district: str, frames: dict[str, pd.DataFrame] | None = None) -> dict[str, int]:
    f = frames or district_frames(items, district)
    s = f["subjects"]
    return {
        "merge_subject": int(((s["role"] == "merge") & (s["district_code"].astype(str) == district)).sum())
        if len(s) else 0,
        "delete_duplicate_dose": int(len(f["doses"])),
        "set_field": int(len(f["identity"])),
        "check_residence": int(len(f["unlinked"])),
        "doses_to_enter": int(f["tally"]["gap"].sum()) if len(f["tally"]) else 0,
    }


SUMMARY_HEADS = {
    "vi": ["Mã huyện", "Hồ sơ cần gộp", "Mũi tiêm cần xoá", "Trường định danh cần sửa",
           "Mũi tiêm không có trong CSDL", "Liều cần nhập thêm", "Tệp"],
    "en": ["District", "Profiles to merge", "Doses to delete", "Identity fields to fix",
           "Rows not in register", "Doses to enter", "File"],
}
RECON_HEADS = {"vi": ["Số đếm", "Theo metrics.json", "Theo danh sách", "Khớp"],
               "en": ["Count", "From metrics.json", "From the worklists", "Equal"]}


def write_summary_workbook(items: Items, per_district: dict[str, dict[str, int]], files: dict[str, str],
                           recon: list[tuple[str, float | None, float]], path: Path, lang: str = "vi") -> None:
    """The province workbook: tasks per district and the reconciliation with metrics.json."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    st = _styles()
    wb = Workbook()
    write_guide(wb, lang, **_fmt(items, "—", lang))
    for name, heads, rows in (
        ("summary", SUMMARY_HEADS[lang],
         [[d, *c.values(), files.get(d, "")] for d, c in sorted(per_district.items())]
         + [["Tổng" if lang == "vi" else "Total",
             *[sum(c[k] for c in per_district.values()) for k in next(iter(per_district.values()), {})], ""]]),
        ("reconcile", RECON_HEADS[lang],
         [[k, a, b, t("yes" if a is not None and abs(a - b) < 0.5 else "no", lang)] for k, a, b in recon]),
    ):
        ws = wb.create_sheet(t(name, lang, SHEETS))
        for j, h in enumerate(heads, start=1):
            c = ws.cell(row=1, column=j, value=h)
            c.font, c.fill, c.alignment = st["head_font"], st["head_fill"], st["head_align"]
            ws.column_dimensions[get_column_letter(j)].width = 30 if j == 1 else 18
        for i, row in enumerate(rows, start=2):
            for j, v in enumerate(row, start=1):
                ws.cell(row=i, column=j, value=v)
        ws.freeze_panes = "A2"
    wb.save(path)
