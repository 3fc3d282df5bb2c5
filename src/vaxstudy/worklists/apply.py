"""apply-corrections: a corrected copy of an export, as a registry operator would make it.

The data folder is copied whole to a new folder (never into or over the original) and
only the copy's vaccinations file is rewritten, in its own format (CSV with its encoding
and delimiter, Parquet, or the XLSX sheet below its header), its columns as the user named
them (columns.yaml). With the lines whose probability is at least ``min_probability``:

* ``set_field``: the row's field becomes the register's value (dates in the column's
  columns.yaml format, else ISO; sex in the column's own style);
* ``merge_subject``: the profile's rows move to the kept profile (subject_id) and take its
  person fields, as merging profiles does in the software;
* ``delete_duplicate_dose``: the row is removed;
* ``check_residence`` and ``enter_missing_doses`` need a field check or the paper records,
  ``complete_register_entry`` is a change to the register, not to the export: they are
  counted, never applied.

Refused with a clear message: an --out equal to or inside --data (or not empty), unknown
ids, a set_field whose current value is not the data's, and a corrections file made from
another export (its ``corrections_source.json`` checksum: another province, or changed since).
"""

from __future__ import annotations

import json
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from vaxstudy.worklists.corrections import CorrectionsError, read_corrections

PERSON_FIELDS = ("full_name", "date_of_birth", "sex", "id_number", "phone", "province_code", "district_code",
                 "commune_code")
NOT_APPLIED = ("check_residence", "complete_register_entry", "enter_missing_doses")
DEFAULT_MIN_PROBABILITY = 0.99


@dataclass
class ApplyResult:
    out_dir: Path
    vaccinations_file: Path
    applied: dict[str, int] = field(default_factory=dict)
    below_threshold: dict[str, int] = field(default_factory=dict)
    not_applicable: dict[str, int] = field(default_factory=dict)
    rows_before: int = 0
    rows_after: int = 0


@dataclass
class Export:
    """The vaccinations file as text, with its contract → header map and how to write it back."""

    path: Path
    frame: pd.DataFrame
    col: dict[str, str]
    fmt: str
    encoding: str = "utf-8"
    sep: str = ","
    header_idx: int = 0
    spec: dict = field(default_factory=dict)


def _read_export(data_dir: Path) -> Export:
    from vaxstudy.ingest import (EXCEL_HEADER_SEARCH, REQUIRED, _canon, _rename_map, _sniff_delimiter,
                                 detect_encoding, find_table_file, load_columns_yaml)

    spec = load_columns_yaml(data_dir).get("vaccinations", {}) or {}
    path = find_table_file(data_dir, "vaccinations", spec)
    if path is None:
        raise CorrectionsError(f"{data_dir} holds no vaccinations file (vaccinations.csv|parquet|xlsx)")
    renames = _rename_map(spec)
    ext = path.suffix.lower()
    ex = Export(path, pd.DataFrame(), {}, ext.lstrip("."), spec=spec)
    if ext == ".csv":
        ex.encoding = str(spec.get("encoding") or detect_encoding(path))
        with open(path, encoding=ex.encoding) as fh:
            ex.sep = _sniff_delimiter(fh.readline())
        ex.frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=ex.encoding, sep=ex.sep)
    elif ext == ".parquet":
        ex.frame = pd.read_parquet(path).astype(object).where(lambda f: f.notna(), "").astype(str)
    else:
        raw = pd.read_excel(path, sheet_name=spec.get("sheet", 0), header=None, dtype=str, engine="openpyxl")
        wanted = set(REQUIRED["vaccinations"])
        for i in range(min(EXCEL_HEADER_SEARCH, len(raw))):
            cells = {renames.get(_canon(str(v)), _canon(str(v))) for v in raw.iloc[i] if isinstance(v, str)}
            if wanted <= cells:
                ex.header_idx = i
                break
        ex.frame = raw.iloc[ex.header_idx + 1:].fillna("").reset_index(drop=True)
        ex.frame.columns = [str(v) for v in raw.iloc[ex.header_idx]]
    ex.col = {renames.get(_canon(h), _canon(h)): h for h in ex.frame.columns}
    for need in ("record_id", "subject_id"):
        if need not in ex.col:
            raise CorrectionsError(f"{path}: no {need} column (columns: {list(ex.frame.columns)[:12]})")
    return ex


_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def cp1258_form(text: str) -> str:
    """Vietnamese text as Windows-1258 spells it: letters with their quality mark precomposed
    (ê, ơ, ư …), tone marks as combining characters after them (Python's codec does not do it)."""
    out, seg = [], ""

    def flush(s: str) -> str:
        return unicodedata.normalize("NFC", "".join(c for c in s if c not in _TONES)) \
            + "".join(c for c in s if c in _TONES)

    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch):
            seg += ch
        else:
            out.append(flush(seg))
            seg = ch
    out.append(flush(seg))
    return "".join(out)


def _write_export(ex: Export, path: Path) -> None:
    if ex.fmt == "csv":
        frame = ex.frame
        if ex.encoding.lower().replace("-", "").replace("_", "") in ("cp1258", "windows1258"):
            frame = frame.map(cp1258_form).rename(columns=cp1258_form)
        frame.to_csv(path, index=False, encoding=ex.encoding, sep=ex.sep)
    elif ex.fmt == "parquet":
        ex.frame.to_parquet(path, index=False)
    else:
        from openpyxl import load_workbook

        wb = load_workbook(path)
        sheet = ex.spec.get("sheet")
        ws = wb[sheet] if isinstance(sheet, str) else wb.worksheets[int(sheet or 0)]
        first = ex.header_idx + 2  # 1-based row below the header
        if ws.max_row >= first:
            ws.delete_rows(first, ws.max_row - first + 1)
        for row in ex.frame.itertuples(index=False):
            ws.append([v if v != "" else None for v in row])
        wb.save(path)


def _check_out(data_dir: Path, out_dir: Path) -> None:
    d, o = data_dir.resolve(), out_dir.resolve()
    if o == d or d in o.parents:
        raise CorrectionsError(f"--out {out_dir} is the data folder or inside it: the corrected copy must go "
                               "elsewhere (the original export is never modified)")
    if o.exists() and any(o.iterdir()):
        raise CorrectionsError(f"--out {out_dir} exists and is not empty: give a new folder")


def _check_source(corrections: Path, ex: Export) -> None:
    """Refuse corrections made from another export than this one (another province, or changed since)."""
    from vaxstudy.report.manifest import sha256_file

    src = corrections.parent / "corrections_source.json"
    if not src.exists():
        return
    info = json.loads(src.read_text(encoding="utf-8"))
    want = (info.get("ingest_sha256") or {}).get(ex.path.name)
    if want and sha256_file(ex.path) != want:
        raise CorrectionsError(
            f"{corrections} was made from run {info.get('run')} (province {info.get('province')}) on another "
            f"{ex.path.name} than the one in {ex.path.parent}: another province's export, or one changed since. "
            "Make the worklists again from a run on this data")


def _unknown(ids: pd.Series, known: set, what: str, path: Path) -> None:
    ids = ids[ids.ne("")]
    bad = sorted(set(ids) - known)
    if bad:
        raise CorrectionsError(f"{path}: {len(bad)} unknown {what}(s) not in the export, e.g. {bad[:5]}")


def _same_text(v) -> str:
    """A value as ingest reads it (NFC, trimmed): a Windows-1258 file decodes to combining tone
    marks, the database holds them composed."""
    return unicodedata.normalize("NFC", "" if v is None else str(v)).strip()


def _sex_style(values: pd.Series, v: str) -> str:
    if values.isin(["Nam", "Nữ", "nam", "nữ"]).any():
        return {"M": "Nam", "F": "Nữ"}.get(v, v)
    return v


def _date_style(ex: Export, iso: str) -> str:
    fmt = (ex.spec.get("date_formats") or {}).get("date_of_birth")
    return pd.Timestamp(iso).strftime(fmt) if fmt and iso else iso


def apply_corrections(data_dir: str | Path, corrections: str | Path, out_dir: str | Path,
                      min_probability: float = DEFAULT_MIN_PROBABILITY) -> ApplyResult:
    """Write a corrected copy of ``data_dir`` to ``out_dir`` (see the module's docstring)."""
    data_dir, corrections, out_dir = Path(data_dir), Path(corrections), Path(out_dir)
    if not data_dir.is_dir():
        raise CorrectionsError(f"--data {data_dir} is not a folder")
    _check_out(data_dir, out_dir)
    if not 0.0 <= float(min_probability) <= 1.0:
        raise CorrectionsError(f"--min-probability must be in [0, 1], not {min_probability}")
    lines = read_corrections(corrections)
    ex = _read_export(data_dir)
    _check_source(corrections, ex)
    f, col = ex.frame, ex.col
    rec, subj = f[col["record_id"]], f[col["subject_id"]]
    by_act = {a: lines[lines["action"] == a] for a in lines["action"].unique()}
    empty = lines.iloc[:0]
    sf, mg, dl = (by_act.get(a, empty) for a in ("set_field", "merge_subject", "delete_duplicate_dose"))
    known_rec, known_subj = set(rec), set(subj)
    for a in ("set_field", "delete_duplicate_dose", "check_residence"):
        _unknown(by_act.get(a, empty)["record_id"], known_rec, f"{a} record_id", corrections)
    _unknown(dl["target_id"], known_rec, "delete_duplicate_dose target_id", corrections)
    _unknown(pd.concat([mg["subject_id"], mg["target_id"]]), known_subj, "merge_subject subject_id", corrections)
    missing_field = sorted(set(sf["field"]) - set(col))
    if missing_field:
        raise CorrectionsError(f"{ex.path}: no column for set_field field(s) {missing_field}")
    pos = pd.Series(np.arange(len(f)), index=rec.to_numpy())
    if len(sf):
        cur = np.array([f[col[fl]].iat[pos[r]] for r, fl in zip(sf["record_id"], sf["field"])], dtype=object)
        stale = np.array([_same_text(a) != _same_text(b) for a, b in zip(cur, sf["current_value"])], dtype=bool)
        if stale.any():
            i = int(np.flatnonzero(stale)[0])
            raise CorrectionsError(
                f"{corrections}: {int(stale.sum())} set_field line(s) whose current value is not the export's, "
                f"e.g. {sf['record_id'].iat[i]} {sf['field'].iat[i]}: file says {sf['current_value'].iat[i]!r}, "
                f"export holds {cur[i]!r}. The export changed since the worklists were made")

    def chosen(fr: pd.DataFrame) -> pd.DataFrame:
        p = fr["probability"]
        return fr[p >= min_probability] if min_probability > 0 else fr[p.isna() | (p >= 0)]

    res = ApplyResult(out_dir, out_dir / ex.path.relative_to(data_dir), rows_before=len(f))
    for a, fr in by_act.items():
        if a in NOT_APPLIED:
            res.not_applicable[a] = len(fr)
        else:
            res.below_threshold[a] = len(fr) - len(chosen(fr))
    # 1. identity fields, on the rows as they are
    s1 = chosen(sf)
    for fl, g in s1.groupby("field"):
        c = col[fl]
        vals = g["proposed_value"].astype(str)
        if fl == "sex":
            vals = vals.map(lambda v: _sex_style(f[c], v))
        elif fl == "date_of_birth":
            vals = vals.map(lambda v: _date_style(ex, v))
        f.iloc[pos[g["record_id"]].to_numpy(), f.columns.get_loc(c)] = vals.to_numpy()
    res.applied["set_field"] = len(s1)
    # 2. merges: follow chains to the final kept profile; rows take its person fields
    m1 = chosen(mg)
    into = dict(zip(m1["subject_id"], m1["target_id"]))
    for s in list(into):
        seen = {s}
        while into[s] in into and into[s] not in seen:
            seen.add(into[s])
            into[s] = into[into[s]]
    if into:
        first_of = f.drop_duplicates(col["subject_id"]).set_index(col["subject_id"])
        moved = subj.isin(into.keys()).to_numpy()
        targets = subj[moved].map(into)
        for fl in PERSON_FIELDS:
            if fl in col:
                f.loc[moved, col[fl]] = first_of[col[fl]].reindex(targets).to_numpy()
        f.loc[moved, col["subject_id"]] = targets.to_numpy()
    res.applied["merge_subject"] = len(m1)
    # 3. duplicate doses
    d1 = chosen(dl)
    keep = ~f[col["record_id"]].isin(set(d1["record_id"])).to_numpy()
    ex.frame = f[keep].reset_index(drop=True)
    res.applied["delete_duplicate_dose"] = len(d1)
    res.rows_after = len(ex.frame)
    shutil.copytree(data_dir, out_dir, dirs_exist_ok=True)
    _write_export(ex, res.vaccinations_file)
    return res
