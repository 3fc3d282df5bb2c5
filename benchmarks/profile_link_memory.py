"""The link stage's memory step by step: a 0.1 s RSS sampler and wrappers around link_db's steps.

    python benchmarks/profile_link_memory.py DB OUT ['{"memory_limit": "4GB"}']

Links the standardised project database DB (outputs in OUT) with ``LinkOptions(seed=1, **json)``
and prints, for each step (prepare, training, each Splink predict, the decisions, the wide
pass, dedupe, record_links, diagnostics), its span and the process's peak RSS within it
(issue 18: where the link's peak is). Seconds are only comparable between runs at one load.
"""
import functools
import importlib
import json
import sys
import threading
import time

import psutil

db, out = sys.argv[1], sys.argv[2]
extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
me = psutil.Process()
samples = []
stop = threading.Event()
def sample():
    while not stop.is_set():
        samples.append((time.perf_counter(), me.memory_info().rss))
        stop.wait(0.1)
th = threading.Thread(target=sample, daemon=True); th.start()
marks = []
def wrap(mod, name, label=None):
    m = importlib.import_module(mod)
    f = getattr(m, name)
    @functools.wraps(f)
    def g(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            marks.append((label or name, t, time.perf_counter()))
    setattr(m, name, g)
import vaxstudy.link.core as core
for n in ["prepare_inputs", "dedupe_unlinked", "key_rows", "build_record_links", "apply_review_decisions"]:
    wrap("vaxstudy.link.core", n)
wrap("vaxstudy.link.train", "train_model")
wrap("vaxstudy.link.wide", "wide_pass")
wrap("vaxstudy.link.diagnostics", "write_diagnostics")
for n in ["load_link_pairs", "best_candidates", "refine_prior", "refine_pi", "threshold_curve", "subject_rescue"]:
    wrap("vaxstudy.link.decide", n)
# a profiling tool only: Splink's predict is marked through its inference class (the package itself
# uses Splink's public API alone, tests/unit/test_architecture.py)
from splink.internals.linker_components.inference import LinkerInference  # noqa: E402
for n in ["predict", "compute_blocked_pairs_for_predict"]:
    f = getattr(LinkerInference, n)
    def mk(f, n):
        def g(self, *a, **k):
            t = time.perf_counter()
            try: return f(self, *a, **k)
            finally: marks.append((n, t, time.perf_counter()))
        return g
    setattr(LinkerInference, n, mk(f, n))
from vaxstudy.link import link_db
from vaxstudy.options import LinkOptions
t0 = time.perf_counter()
res = link_db(db, out, LinkOptions(seed=1, **extra))
t1 = time.perf_counter()
stop.set(); th.join()
def peak(a, b):
    v = [r for t, r in samples if a <= t <= b]
    return max(v) / 1e9 if v else float('nan')
print(f"total {t1-t0:.1f} s, peak {peak(t0, t1):.2f} GB, timings {json.dumps({k: round(v,1) for k,v in res.timings.items()})}")
for name, a, b in sorted(marks, key=lambda m: m[1]):
    print(f"  {name:<34} {a-t0:7.1f} → {b-t0:7.1f}  {b-a:6.1f} s  peak {peak(a, b):.2f} GB")
# gaps: the top peaks' time positions
top = sorted(samples, key=lambda s: -s[1])[:1]
print("top sample at", round(top[0][0]-t0,1), round(top[0][1]/1e9,2))
