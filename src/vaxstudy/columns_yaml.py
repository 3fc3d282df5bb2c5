"""The schema of ``columns.yaml``: a typo is refused with the nearest valid key, never ignored.

A user maps their layout onto the contract per table (see :mod:`vaxstudy.ingest`). Each
table's entry is a :class:`TableSpec` (pydantic, ``extra="forbid"``); an unknown key
(``colums:``, ``header_row:``), an unknown table, or a mapping onto a column the table
does not have stops ingest with :class:`ColumnsYamlError` naming the file, the key and
the closest valid spelling (difflib).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

NAMES = ("columns.yaml", "columns.yml")


class ColumnsYamlError(ValueError):
    """columns.yaml cannot be used: says where and what to write instead."""


class TableSpec(BaseModel):
    """How one table's file is laid out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str | None = None  # file name, when not <table>.<ext>
    encoding: str | None = None  # skip detection
    sheet: str | int | None = None  # xlsx sheet (default: the first)
    columns: dict[str, str] | None = None  # their header -> contract column
    date_formats: dict[str, str] | None = None  # contract date column -> strptime format

    @field_validator("columns", "date_formats", mode="before")
    @classmethod
    def _text_keys(cls, v: Any) -> Any:
        if isinstance(v, dict):  # YAML reads `2021: x` as an int key
            return {str(k): (str(x) if isinstance(x, (int, float)) else x) for k, x in v.items()}
        return v

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str | None) -> str | None:
        if v is not None:
            import codecs

            try:
                codecs.lookup(v)
            except LookupError:
                raise ValueError(f"unknown encoding {v!r} (e.g. utf-8, utf-16, cp1258)") from None
        return v


def suggest(word: str, valid, what: str = "keys") -> str:
    """'did you mean 'x'?' for the closest valid word (difflib), else the list of valid words."""
    valid = list(valid)
    near = difflib.get_close_matches(str(word), valid, n=1, cutoff=0.6)
    return f"did you mean {near[0]!r}?" if near else f"valid {what}: {', '.join(valid)}"


def _message(path: Path, table: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        if err["type"] == "extra_forbidden":
            key = str(err["loc"][-1])
            parts.append(f"{table}.{loc}: unknown key; {suggest(key, TableSpec.model_fields)}")
        else:
            parts.append(f"{table}.{loc}: {err['msg']} (got {err.get('input')!r})")
    return f"{path}: " + "; ".join(parts)


def validate(cfg: Any, path: Path, columns: dict[str, tuple[str, ...]],
             date_columns: dict[str, tuple[str, ...]]) -> dict[str, TableSpec]:
    """The validated specs of ``cfg`` (the parsed YAML), per table.

    ``columns``: the contract columns of each table; ``date_columns``: those that are dates.
    """
    if cfg is None:
        return {}
    if not isinstance(cfg, dict):
        raise ColumnsYamlError(f"{path}: expected a mapping of table names ({', '.join(columns)}), "
                               f"got {type(cfg).__name__}")
    out: dict[str, TableSpec] = {}
    for table, spec in cfg.items():
        if table not in columns:
            raise ColumnsYamlError(f"{path}: unknown table {table!r}; {suggest(table, columns, 'tables')}")
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise ColumnsYamlError(f"{path}: entry {table!r} must be a mapping (file:, columns: …), "
                                   f"got {spec!r}")
        try:
            ts = TableSpec.model_validate(spec)
        except ValidationError as exc:
            raise ColumnsYamlError(_message(path, table, exc)) from None
        for theirs, target in (ts.columns or {}).items():
            if target not in columns[table]:
                raise ColumnsYamlError(
                    f"{path}: {table}.columns maps {theirs!r} to {target!r}, not a column of {table!r}; "
                    f"{suggest(target, columns[table], 'columns')}")
        for col in ts.date_formats or {}:
            if col not in date_columns[table]:
                raise ColumnsYamlError(
                    f"{path}: {table}.date_formats names {col!r}, not a date column of {table!r}; "
                    f"{suggest(col, date_columns[table], 'date columns') if date_columns[table] else 'it has none'}")
        out[table] = ts
    return out


def load(data_dir: Path, columns: dict[str, tuple[str, ...]],
         date_columns: dict[str, tuple[str, ...]]) -> dict[str, dict[str, Any]]:
    """Read and validate ``columns.yaml`` (or ``.yml``) of the data folder; {} when absent.

    Returns plain dicts (unset keys left out), as the readers take them."""
    import yaml

    for name in NAMES:
        path = Path(data_dir) / name
        if not path.exists():
            continue
        try:
            cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ColumnsYamlError(f"{path}: not valid YAML (UTF-8): {exc}") from None
        specs = validate(cfg, path, columns, date_columns)
        return {t: s.model_dump(exclude_none=True) for t, s in specs.items()}
    return {}
