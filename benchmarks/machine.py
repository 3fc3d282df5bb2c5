"""What machine a benchmark ran on, printed beside its figures (shared by every bench script)."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def _ram_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def _java() -> str:
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
        lines = out.stderr.splitlines()
        return lines[0] if lines else "java: no version"
    except (OSError, subprocess.TimeoutExpired):
        return "no java"


def describe(*packages: str, java: bool = False) -> str:
    """One line: OS, CPU, cores, RAM, load, Python and the versions of `packages` (and Java)."""
    parts = [
        f"{platform.system()} {platform.release()} {platform.machine()}",
        _cpu_model(),
        f"{os.cpu_count()} cores",
        f"{_ram_gib():.1f} GiB RAM",
    ]
    try:
        parts.append("load average %.1f %.1f %.1f" % os.getloadavg())
    except OSError:
        pass
    parts.append(f"Python {platform.python_version()}")
    for name in packages:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} absent")
    if java:
        parts.append(_java())
    return ", ".join(parts)
