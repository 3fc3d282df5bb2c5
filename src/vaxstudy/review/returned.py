"""Reading a returned review file (xlsx or csv) and checking it against the sample's design.

A file-level fault (unreadable, a required column missing, drawn from another run) refuses the
whole file with :class:`ReviewFileError`. A row-level fault (edited key, row added, missing or
unknown decision) skips that row only, named by row number and column; every valid decision of
the other rows is kept. Rows of the sample absent from the file are listed as deleted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from vaxstudy.review.labels import MACHINE_COLUMNS, OTHER_KINDS, SHEET, column_name, decision_value

KEY_COLUMNS = ("kind", "record_id", "candidate_id", "stratum", "inclusion_prob")


class ReviewFileError(ValueError):
    """The returned file cannot be used at all (the message says where and why)."""


@dataclass
class Checked:
    """Valid decisions (review_id, kind, record_id, candidate_id, stratum, decision,
    other_person_id, row) and
    what was skipped ({row, column, value, reason}), plus the sample's items not returned."""

    valid: pd.DataFrame
    skipped: list[dict] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def read_returned(path: str | Path) -> pd.DataFrame:
    """The file's rows as text under machine column names, with ``_row`` (the row number a user
    sees: header is row 1)."""
    path = Path(path)
    if not path.exists():
        raise ReviewFileError(f"{path} not found")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable workbook
            raise ReviewFileError(f"{path} is not a readable workbook: {exc}") from None
        ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        wb.close()
        if not rows:
            raise ReviewFileError(f"{path}: sheet {ws.title!r} is empty")
        header, body = rows[0], rows[1:]
        df = pd.DataFrame(body, columns=[f"_c{j}" for j in range(len(header))], dtype=object)
    elif path.suffix.lower() == ".csv":
        try:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", header=None)
        except Exception as exc:  # noqa: BLE001
            raise ReviewFileError(f"{path} is not a readable CSV file: {exc}") from None
        if raw.empty:
            raise ReviewFileError(f"{path} is empty")
        header, df = list(raw.iloc[0]), raw.iloc[1:].reset_index(drop=True)
        df.columns = [f"_c{j}" for j in range(len(header))]
    else:
        raise ReviewFileError(f"{path}: expected a .xlsx or .csv file")
    names = {}
    for j, h in enumerate(header):
        c = column_name(h) if h is not None else None
        if c is not None and c not in names.values():
            names[f"_c{j}"] = c
    missing = [c for c in MACHINE_COLUMNS if c not in names.values()]
    if missing:
        raise ReviewFileError(f"{path}: column {missing[0]!r} is missing from the header row "
                              f"(row 1); the file needs {', '.join(MACHINE_COLUMNS)}")
    df = df[list(names)].rename(columns=names)
    df = df.map(_text)
    df["_row"] = range(2, len(df) + 2)
    # rows left entirely empty (Excel keeps formatted blank rows) are not rows
    return df[(df[list(names.values())] != "").any(axis=1)].reset_index(drop=True)


def _text(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v).strip()


def _same_prob(a: str, b: float) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except ValueError:
        return False


def check_returned(df: pd.DataFrame, design: dict, source: str = "file",
                   register_ids: set[str] | None = None) -> Checked:
    """Valid decisions of ``df`` against the design; row faults skipped and listed.
    ``register_ids``: the register persons among the file's ``other_person_id`` values (an ID
    not among them is skipped; None: not checked)."""
    fp = design["run_fingerprint"]
    marks = set(df["run_fingerprint"]) - {""}
    if marks and fp not in marks:
        r = df.iloc[0]
        raise ReviewFileError(
            f"{source} comes from another run: row {r['_row']}, column run_fingerprint is "
            f"{r['run_fingerprint']!r}, the sample of this run is {fp!r}; draw a new sample "
            "(`vaxstudy review sample`) or score against the run the file was drawn from")
    items = {it["review_id"]: it for it in design["items"]}
    seen: set[str] = set()
    valid, skipped = [], []

    def skip(r, col, reason):
        skipped.append({"row": int(r["_row"]), "column": col, "value": r.get(col, ""),
                        "reason": reason, "review_id": r.get("review_id", "")})

    for _, r in df.iterrows():
        rid = r["review_id"]
        it = items.get(rid)
        if it is None:
            skip(r, "review_id", f"row added: review_id {rid!r} is not in the sample")
            continue
        if rid in seen:
            skip(r, "review_id", f"row added: review_id {rid!r} appears more than once")
            continue
        seen.add(rid)
        if r["run_fingerprint"] not in ("", fp):
            skip(r, "run_fingerprint", f"edited key: run_fingerprint is {r['run_fingerprint']!r}, "
                                       f"the sample has {fp!r}")
            continue
        bad = next((c for c in KEY_COLUMNS if not (
            _same_prob(r[c], it[c]) if c == "inclusion_prob" else r[c] == str(it[c] or ""))), None)
        if bad is not None:
            skip(r, bad, f"edited key: {bad} is {r[bad]!r}, the sample has {it[bad]!r}")
            continue
        d = decision_value(r["decision"]) if r["decision"] != "" else None
        if r["decision"] == "":
            skip(r, "decision", "missing decision")
            continue
        if d is None:
            skip(r, "decision", f"unknown decision {r['decision']!r}: use same, different, other or "
                                "unsure (or the drop-down's labels)")
            continue
        if d == "other" and it["kind"] not in OTHER_KINDS:
            skip(r, "decision", f"'other' (someone else in the register) answers only registry row → "
                                f"register person items, not {it['kind']} (use different)")
            continue
        other_id = r.get("other_person_id", "") or ""
        if other_id and d != "other":
            skip(r, "other_person_id", f"a register person's ID is given but the decision is {d!r}: "
                                       "choose 'other' (someone else in the register) or clear the ID")
            continue
        if other_id and register_ids is not None and other_id not in register_ids:
            skip(r, "other_person_id", f"{other_id!r} is not a person of the register (population): "
                                       "give the ID as the register has it, or leave it empty")
            continue
        if d == "same" and not it["candidate_id"]:
            skip(r, "decision", "'same' needs a candidate: this row has none (use different or unsure)")
            continue
        valid.append({"review_id": rid, "kind": it["kind"], "record_id": it["record_id"],
                      "candidate_id": it["candidate_id"] or "", "stratum": it["stratum"],
                      "decision": d, "other_person_id": other_id, "row": int(r["_row"])})
    deleted = [rid for rid in items if rid not in seen
               and rid not in {s["review_id"] for s in skipped}]
    cols = ["review_id", "kind", "record_id", "candidate_id", "stratum", "decision", "other_person_id", "row"]
    return Checked(valid=pd.DataFrame(valid, columns=cols), skipped=skipped, deleted=deleted)
