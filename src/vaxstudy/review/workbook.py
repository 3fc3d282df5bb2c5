"""review.xlsx and review.csv: one row per item, the two sides next to each other.

The workbook is for a commune health worker in Excel: Vietnamese headers by default, the
registry row ("l_" columns) beside the register person or other profile it is compared with
("r_" columns), fields that differ after standardisation highlighted, a drop-down in the
``decision`` column, frozen header, and the machine columns (CONTRACT §2) at the right. The CSV
holds the same columns under their machine names. Both carry the run's fingerprint.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from vaxstudy.review.labels import (
    DECISION_LABELS,
    DISPLAY_FIELDS,
    HEADERS,
    MACHINE_COLUMNS,
    QUESTIONS,
    README_TEXT,
    SHEET,
)

_RAW = {"name": "full_name", "dob": "date_of_birth", "sex": "sex", "id": "id_number",
        "phone": "phone", "commune": "commune_code"}
#: standardised columns compared to highlight a difference
_STD = {"name": ["name_norm"], "dob": ["dob", "birth_year"], "sex": ["sex"], "id": ["id_number"],
        "phone": ["phone"], "commune": ["commune_code"]}


def _records(con: duckdb.DuckDBPyConnection, ids: list[str]) -> pd.DataFrame:
    con.register("review_ids", pd.DataFrame({"record_id": sorted(set(ids))}))
    return con.execute("""
        SELECT CAST(v.record_id AS VARCHAR) AS key, CAST(v.subject_id AS VARCHAR) AS subject_id,
               v.full_name, CAST(v.date_of_birth AS VARCHAR) AS date_of_birth, v.sex, v.id_number,
               v.phone, v.commune_code, v.vaccination_date, v.dose_number, v.site_id,
               s.name_norm AS s_name_norm, s.dob AS s_dob, s.birth_year AS s_birth_year,
               s.sex AS s_sex, s.id_number AS s_id_number, s.phone AS s_phone,
               s.commune_code AS s_commune_code
        FROM vaccinations v JOIN review_ids w ON CAST(v.record_id AS VARCHAR) = w.record_id
        LEFT JOIN vaccinations_std s ON CAST(s.unique_id AS VARCHAR) = w.record_id""").df()


def _persons(con: duckdb.DuckDBPyConnection, ids: list[str]) -> pd.DataFrame:
    con.register("review_pids", pd.DataFrame({"person_id": sorted(set(ids))}))
    return con.execute("""
        SELECT CAST(p.person_id AS VARCHAR) AS key, p.full_name,
               CAST(p.date_of_birth AS VARCHAR) AS date_of_birth, p.sex,
               CAST(p.person_id AS VARCHAR) AS id_number, p.phone, p.commune_code,
               s.name_norm AS s_name_norm, s.dob AS s_dob, s.birth_year AS s_birth_year,
               s.sex AS s_sex, s.id_number AS s_id_number, s.phone AS s_phone,
               s.commune_code AS s_commune_code
        FROM population p JOIN review_pids w ON CAST(p.person_id AS VARCHAR) = w.person_id
        LEFT JOIN population_std s ON CAST(s.unique_id AS VARCHAR) = w.person_id""").df()


def _doses(con: duckdb.DuckDBPyConnection, by: str, keys: list[str]) -> pd.Series:
    """'1: 2021-05-03 S012; 2: …' for each subject_id (by='subject') or linked person."""
    con.register("review_dkeys", pd.DataFrame({"k": sorted(set(keys))}))
    key = ("CAST(v.subject_id AS VARCHAR)" if by == "subject" else "CAST(l.person_id AS VARCHAR)")
    d = con.execute(f"""
        SELECT {key} AS k, string_agg(coalesce(CAST(v.dose_number AS VARCHAR), '?') || ': '
               || CAST(v.vaccination_date AS VARCHAR) || ' ' || coalesce(v.site_id, ''), '; '
               ORDER BY v.vaccination_date, v.dose_number) AS doses
        FROM vaccinations v JOIN record_links l ON CAST(l.record_id AS VARCHAR) = CAST(v.record_id AS VARCHAR)
        JOIN review_dkeys w ON w.k = {key}
        GROUP BY 1""").df()
    return d.set_index("k")["doses"]


def _norm(v) -> str | None:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT:
        return None
    s = str(v).strip().casefold()
    return s or None


def _differs(a: pd.Series | None, b: pd.Series | None, field: str) -> bool:
    """Fields differ when both sides have a standardised value and those values differ."""
    if a is None or b is None:
        return False
    for col in _STD[field]:
        x, y = _norm(a.get(f"s_{col}")), _norm(b.get(f"s_{col}"))
        if x is not None and y is not None:
            return x != y
    return False


def review_table(db: Path, items: pd.DataFrame, fingerprint: str) -> pd.DataFrame:
    """Items with the display columns of both sides and the ``diff_<field>`` flags."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        person = items["kind"].isin(["link", "unlinked"])
        subj = items["kind"] == "dup_subject"
        first = con.execute(
            "SELECT CAST(subject_id AS VARCHAR) s, CAST(arg_min(record_id, _row) AS VARCHAR) r "
            "FROM vaccinations GROUP BY 1").df().set_index("s")["r"] if subj.any() else pd.Series(dtype=str)
        right_rec = items["candidate_id"].where(items["kind"] == "dup_dose", None)
        right_rec = right_rec.where(~subj, items["candidate_id"].map(first))
        recs = _records(con, items["record_id"].tolist() + right_rec.dropna().tolist()).set_index("key")
        pers = _persons(con, items.loc[person, "candidate_id"].tolist()).set_index("key")
        sdoses = _doses(con, "subject", recs["subject_id"].dropna().tolist())
        pdoses = _doses(con, "person", items.loc[person, "candidate_id"].tolist())
    finally:
        con.close()
    rows = []
    for it, rr in zip(items.itertuples(index=False), right_rec):
        left = recs.loc[it.record_id] if it.record_id in recs.index else None
        if it.kind in ("link", "unlinked"):
            right = pers.loc[it.candidate_id] if it.candidate_id in pers.index else None
            r_doses = pdoses.get(it.candidate_id, "")
        else:
            right = recs.loc[rr] if isinstance(rr, str) and rr in recs.index else None
            r_doses = sdoses.get(right["subject_id"], "") if right is not None else ""
        row = {c: getattr(it, c) for c in ("review_id", "kind", "record_id", "candidate_id", "stratum",
                                          "inclusion_prob")}
        row["other_candidates"] = getattr(it, "other_candidates", "") or ""
        for f in DISPLAY_FIELDS:
            row[f"l_{f}"] = _text(left, _RAW[f])
            row[f"r_{f}"] = _text(right, _RAW[f])
            row[f"diff_{f}"] = _differs(left, right, f)
        row["l_dose"] = _dose_text(left)
        row["r_dose"] = _dose_text(right) if it.kind.startswith("dup") else ""
        row["l_doses"] = sdoses.get(left["subject_id"], "") if left is not None else ""
        row["r_doses"] = r_doses
        row["decision"] = ""
        row["note"] = ""
        row["other_person_id"] = ""
        row["run_fingerprint"] = fingerprint
        rows.append(row)
    return pd.DataFrame(rows)


def _text(side: pd.Series | None, col: str) -> str:
    if side is None:
        return ""
    v = side.get(col)
    return "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)


def _dose_text(side: pd.Series | None) -> str:
    if side is None:
        return ""
    return f"{_text(side, 'dose_number')}: {_text(side, 'vaccination_date')[:10]} {_text(side, 'site_id')}"


def ordered_columns() -> list[str]:
    """Sheet order: what to judge first, the pairs side by side, the machine keys at the right."""
    pairs = [f"{s}_{f}" for f in (*DISPLAY_FIELDS, "dose", "doses") for s in ("l", "r")]
    return ["review_id", "question", "decision", "other_person_id", "note", *pairs, "other_candidates",
            "kind", "record_id", "candidate_id", "stratum", "inclusion_prob", "run_fingerprint"]


def write_review_files(db: Path, items: pd.DataFrame, target: Path, *, fingerprint: str,
                       language: str = "vi", design: dict | None = None) -> dict[str, Path]:
    """review.xlsx, review.csv and README.md in ``target``."""
    table = review_table(db, items, fingerprint)
    table["question"] = table["kind"].map(lambda k: QUESTIONS[k][language])
    cols = ordered_columns()
    csv_path = target / "review.csv"
    table[[c for c in cols if c != "question"]].to_csv(csv_path, index=False, encoding="utf-8-sig")
    xlsx = target / "review.xlsx"
    _write_xlsx(table, cols, xlsx, language, fingerprint)
    readme = target / "README.md"
    n_kind = table["kind"].value_counts().to_dict()
    readme.write_text(README_TEXT[language].format(
        n=len(table), fingerprint=fingerprint, kinds=", ".join(f"{k}: {v}" for k, v in n_kind.items()),
        labels=" / ".join(DECISION_LABELS[language].values()),
        run=(design or {}).get("run", "")), encoding="utf-8")
    return {"xlsx": xlsx, "csv": csv_path, "readme": readme}


def _write_xlsx(table: pd.DataFrame, cols: list[str], path: Path, language: str, fingerprint: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([HEADERS[c][language] for c in cols])
    for r in table.itertuples(index=False):
        ws.append([_cell(getattr(r, c)) for c in cols])
    bold, grey = Font(bold=True), Font(color="808080")
    diff_fill = PatternFill("solid", start_color="FFE699", end_color="FFE699")
    head_fill = PatternFill("solid", start_color="DDEBF7", end_color="DDEBF7")
    for j, c in enumerate(cols, start=1):
        h = ws.cell(row=1, column=j)
        h.font, h.fill = bold, head_fill
        h.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(j)].width = _WIDTHS.get(c) or _WIDTHS.get(c.split("_", 1)[-1], 14)
        if c in MACHINE_COLUMNS and c != "decision" and c != "review_id":
            for i in range(2, len(table) + 2):
                ws.cell(row=i, column=j).font = grey
    col_ix = {c: j for j, c in enumerate(cols, start=1)}
    for i, r in enumerate(table.itertuples(index=False), start=2):
        for f in DISPLAY_FIELDS:
            if getattr(r, f"diff_{f}"):
                ws.cell(row=i, column=col_ix[f"l_{f}"]).fill = diff_fill
                ws.cell(row=i, column=col_ix[f"r_{f}"]).fill = diff_fill
    labels = list(DECISION_LABELS[language].values())
    dv = DataValidation(type="list", formula1='"' + ",".join(labels) + '"', allow_blank=True,
                        showErrorMessage=True, errorTitle=HEADERS["decision"][language],
                        error=" / ".join(labels))
    ws.add_data_validation(dv)
    dcol = get_column_letter(col_ix["decision"])
    if len(table):
        dv.add(f"{dcol}2:{dcol}{len(table) + 1}")
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{len(table) + 1}"
    meta = wb.create_sheet("meta")
    meta.append(["run_fingerprint", fingerprint])
    meta.append(["language", language])
    meta.sheet_state = "hidden"
    wb.save(path)


def _cell(v):
    if isinstance(v, float) and pd.isna(v):
        return ""
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else ("" if v is None else str(v))


_WIDTHS = {"review_id": 8, "question": 34, "decision": 18, "other_person_id": 16, "note": 20, "name": 24, "dob": 12, "sex": 7,
           "id": 15, "phone": 13, "commune": 9, "dose": 24, "doses": 40, "candidates": 30,
           "kind": 11, "record_id": 14, "candidate_id": 15, "stratum": 18, "inclusion_prob": 12,
           "fingerprint": 18}
