"""manifest.json: what a report was made from, with what, and how long it took."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

KEY_PACKAGES = (
    "vaxstudy",
    "splink",
    "duckdb",
    "pandas",
    "numpy",
    "pyarrow",
    "matplotlib",
    "papermill",
    "nbconvert",
    "ipykernel",
    "pydantic",
)
DATA_SUFFIXES = (".csv", ".parquet", ".xlsx", ".json", ".yaml", ".yml", ".tsv", ".txt")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def input_files(data_dir: str | Path) -> list[Path]:
    """The data files of an input folder (CONTRACT §1 tables, columns.yaml, truth), sorted."""
    root = Path(data_dir)
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def input_checksums(data_dir: str | Path, files: Iterable[Path] | None = None) -> dict[str, str]:
    """{path relative to data_dir: sha256} of every input file."""
    root = Path(data_dir)
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in (files or input_files(root))}


def package_versions(packages: Iterable[str] = KEY_PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def build_manifest(
    parameters: Mapping[str, Any],
    *,
    data_dir: str | Path | None = None,
    seed: int | None = None,
    timings: Mapping[str, float] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict:
    """The manifest: parameters, input checksums, Python + package versions, seed, timings (s)."""
    m: dict[str, Any] = {
        "parameters": _jsonable(dict(parameters)),
        "seed": seed,
        "inputs": {
            "data_dir": str(data_dir) if data_dir is not None else None,
            "sha256": input_checksums(data_dir) if data_dir is not None else {},
        },
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "timings_seconds": {k: round(float(v), 3) for k, v in (timings or {}).items()},
        "created_utc": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
    if extra:
        m.update(_jsonable(dict(extra)))
    return m


def write_manifest(path: str | Path, manifest: Mapping[str, Any]) -> Path:
    path = Path(path)
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n",
                    encoding="utf-8")
    return path


def read_manifest(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
