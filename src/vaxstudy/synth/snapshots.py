"""Successive exports of one registry: the rows entered by each date, each export a prefix of
the next (the same record ids, earlier rows first, in their order), as a weekly export grows.

``generate(..., extract_date=...)`` draws a province as it stood on a date, but two such
draws are two random provinces (other record ids, other typos). An incremental link
(``vaxstudy link --update``) needs the same export seen twice, the second with rows
appended: :func:`snapshots` cuts one generated province by its ``entered_date``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

#: files cut by entry date (the rest of the folder is copied as it is)
_CUT = ("vaccinations", "truth")


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    return pd.read_parquet(path)


def _write(df: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".csv":
        df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    else:
        df.to_parquet(path, index=False)


def snapshots(src: str | Path, out: str | Path, dates: list[str]) -> list[Path]:
    """One folder per date under ``out`` (``export_<date>``): ``src``'s files, its
    vaccination rows entered on or before the date (and their truth rows). Rows are ordered
    by the first export they appear in, then by their order in ``src``, so every export is
    the previous one with rows appended. Returns the folders, in date order."""
    src, out = Path(src), Path(out)
    vpath = next((p for p in (src / "vaccinations.csv", src / "vaccinations.parquet") if p.exists()), None)
    if vpath is None:
        raise FileNotFoundError(f"{src}: no vaccinations.csv or vaccinations.parquet")
    vac = _read(vpath)
    if "entered_date" not in vac.columns:
        raise ValueError(f"{vpath}: no entered_date column, so no export can be cut by date")
    entered = pd.to_datetime(vac["entered_date"].replace("", None)).dt.normalize()
    cuts = sorted(pd.Timestamp(d) for d in dates)
    # the index of the first export holding each row (len(cuts): in none)
    first = pd.Series(len(cuts), index=vac.index)
    for i in reversed(range(len(cuts))):
        first[entered <= cuts[i]] = i
    order = first.sort_values(kind="stable").index
    truth = {p.suffix: p for p in (src / "truth.csv", src / "truth.parquet") if p.exists()}
    tdf = _read(next(iter(truth.values()))) if truth else None
    folders = []
    for i, cut in enumerate(cuts):
        dest = out / f"export_{cut.date().isoformat()}"
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for f in src.iterdir():
            if f.is_file() and f.stem not in _CUT:
                shutil.copy2(f, dest / f.name)
        rows = vac.loc[order[first[order].to_numpy() <= i]]
        _write(rows, dest / vpath.name)
        if tdf is not None:
            t = next(iter(truth.values()))
            _write(tdf[tdf["record_id"].isin(set(rows["record_id"]))], dest / t.name)
        folders.append(dest)
    return folders
