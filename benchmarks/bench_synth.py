"""Time and peak memory of `vaxstudy.synth.generate` at scale 0.01 and 1.0 (full Nghệ An),
and the four figures of Nghệ An's table of 15 October 2021 read from the truth, beside the seed's.

Each scale runs in a fresh subprocess so that ru_maxrss is that run's peak.
Usage: python benchmarks/bench_synth.py [scale ...] [--seed N]   (default: 0.01 1.0, seed 1)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

from machine import describe  # benchmarks/machine.py

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from vaxstudy.synth import generate

out = generate(sys.argv[1], province="40", scale=float(sys.argv[2]), seed=int(sys.argv[3]))
dt = time.perf_counter() - t0
from vaxstudy.synth.calibration import campaign_figures
figures = campaign_figures(out)
s = json.loads((Path(out) / "truth_summary.json").read_text(encoding="utf-8"))
size = sum(p.stat().st_size for p in Path(out).iterdir())
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
print(json.dumps({"seconds": dt, "peak_rss_mib": rss / 1024, "n_records": s["n_records"],
                  "n_subjects": s["n_subjects"], "bytes_written": size, "figures": figures}))
"""


def machine() -> str:
    return describe("numpy", "pandas", "pyarrow")


def main(scales: list[float], seed: int = 1) -> None:
    from vaxstudy.synth.calibration import table

    print(f"machine: {machine()}")
    for scale in scales:
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run([sys.executable, "-c", CHILD, tmp, str(scale), str(seed)], capture_output=True, text=True,
                               check=True)
            res = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"scale {scale:g}: {res['seconds']:.1f} s, peak RSS {res['peak_rss_mib']:.0f} MiB, "
                  f"{res['n_records']:,} records, {res['n_subjects']:,} subjects, "
                  f"{res['bytes_written'] / 1e6:.0f} MB written", flush=True)
            print(table(res["figures"], f"scale {scale:g} ×{1 / scale:g}"), flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    seed = 1
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    main([float(a) for a in args] or [0.01, 1.0], seed)
