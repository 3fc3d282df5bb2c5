"""Benchmark: ingest + standardise 1M vaccination rows and 3M population rows.

Generates the two tables (plus small sites/tallies) with vectorised DuckDB SQL — Vietnamese
names from weighted surname / middle / given lists, the registry's usual noise (names without
diacritics or in capitals, hoà/hòa spellings, dd/mm/yyyy and year-only birth dates, +84 and
old 11-digit phones, CMND instead of CCCD, a few unusable rows) — writes CSVs, then times
``vaxstudy.ingest.ingest`` and ``vaxstudy.standardize.standardize_db`` and prints rows/s,
CPU seconds (wall time is unreliable on a shared machine), peak memory (max RSS of this
process, DuckDB included) and the machine.

    python benchmarks/bench_ingest.py                 # 1M + 3M rows
    python benchmarks/bench_ingest.py --scale 0.1     # 100k + 300k, a quick check
    # an existing province, this tree against another version (a git ref), one after the
    # other in fresh processes, then every table both wrote compared row by row:
    python benchmarks/bench_ingest.py --data DIR --baseline main --rounds 1 --workdir W
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from machine import describe  # benchmarks/machine.py

SURNAMES = (["Nguyễn"] * 38 + ["Trần"] * 11 + ["Lê"] * 9 + ["Phạm"] * 7 + ["Hoàng"] * 5 + ["Huỳnh"] * 2
            + ["Phan"] * 4 + ["Vũ"] * 3 + ["Võ"] * 3 + ["Đặng"] * 2 + ["Bùi"] * 2 + ["Đỗ"] * 2 + ["Hồ"] * 2
            + ["Ngô", "Dương", "Lý", "Đinh", "Đào", "Cao", "Lương", "Thái", "Chu", "Quách", "Tạ"])
MIDDLE_M = ["Văn"] * 6 + ["Hữu", "Đức", "Minh", "Quang", "Thanh", "Xuân", "Công", "Đình", "Ngọc", "Quốc",
                          "Trọng", "Văn Hoàng", "Bá", "Tiến", "Anh", "Duy", "Gia"]
MIDDLE_F = ["Thị"] * 8 + ["Ngọc", "Thu", "Thanh", "Thùy", "Minh", "Phương", "Kim", "Hồng", "Mai", "Bảo",
                          "Thị Thu", "Diệu", "Khánh", "Tôn Nữ"]
GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hiếu", "Hoàng", "Hùng", "Huy", "Khánh", "Khoa",
           "Long", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Quang", "Sơn", "Tài", "Thắng",
           "Thành", "Tiến", "Toàn", "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Hòa", "Thủy", "Khỏe",
           "Quý", "Quyết", "Hoàn", "Lực", "Chiến", "Lâm", "Định", "Giang", "Hưng", "Kiên", "Nhân"]
GIVEN_F = ["Anh", "Châu", "Chi", "Dung", "Duyên", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hòa",
           "Hồng", "Huệ", "Hương", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Ngọc",
           "Nhung", "Oanh", "Phương", "Quỳnh", "Tâm", "Thảo", "Thủy", "Thúy", "Trang", "Trinh", "Tuyết",
           "Uyên", "Vân", "Xuân", "Yến", "Ánh", "Diệp", "Khuê", "Ngoan", "Nguyệt", "Thoa"]


def _lit(values) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _pick(values, seed_expr: str) -> str:
    """SQL: a pseudo-random element of a list literal, from a hash."""
    return f"{_lit(values)}[1 + (hash({seed_expr}) % {len(values)})::INTEGER]"


def generate(out: Path, n_pop: int, n_vac: int, province: str = "40") -> None:
    """Write population.csv, vaccinations.csv, sites.csv, tallies.csv to ``out``."""
    from vaxstudy import geo

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    communes = geo.province_communes(province)
    places = [f"{d}|{c}" for d, c in zip(communes["district_code"], communes["commune_code"])]
    con.execute(f"""
        CREATE TABLE pop AS
        WITH b AS (
            SELECT i, (hash(i, 'sex') % 2)::INTEGER AS female,
                   DATE '1925-01-01' + (hash(i, 'dob') % 32000)::INTEGER AS dob,
                   {_pick(places, "i, 'place'")} AS place
            FROM range({n_pop}) t(i))
        SELECT i,
               printf('%03d%d%02d%06d', 40 + (i // 1000000)::INTEGER,
                      female + 2 * (year(dob) >= 2000)::INTEGER, year(dob) % 100, i % 1000000) AS person_id,
               {_pick(SURNAMES, "i, 's'")} || ' ' ||
               CASE WHEN female = 1 THEN {_pick(MIDDLE_F, "i, 'm'")} || ' ' || {_pick(GIVEN_F, "i, 'g'")}
                    ELSE {_pick(MIDDLE_M, "i, 'm'")} || ' ' || {_pick(GIVEN_M, "i, 'g'")} END AS full_name,
               dob AS date_of_birth,
               CASE WHEN female = 1 THEN 'Nữ' ELSE 'Nam' END AS sex,
               '{province}' AS province_code, split_part(place, '|', 1) AS district_code,
               split_part(place, '|', 2) AS commune_code,
               CASE WHEN hash(i, 'hasph') % 10 < 7
                    THEN {_pick(['090', '091', '098', '097', '086', '032', '035', '038', '039', '070', '077', '081', '085', '056'], "i, 'pp'")}
                         || lpad((hash(i, 'ph') % 10000000)::VARCHAR, 7, '0')
               END AS phone
        FROM b""")
    con.execute(f"COPY (SELECT * EXCLUDE (i) FROM pop ORDER BY i) TO '{out / 'population.csv'}' (HEADER)")
    n_sites = 60
    con.execute(f"""
        CREATE TABLE vac AS
        WITH v AS (
            SELECT j, (j // 2) * 7 % {n_pop} AS i, (j % 2) + 1 AS dose_number,
                   DATE '2021-03-08' + ((hash(j // 2, 'd1') % 150) + (j % 2) * 60)::INTEGER AS vdate,
                   hash(j, 'noise') % 1000 AS u
            FROM range({n_vac}) t(j))
        SELECT v.j,
               'R' || lpad(v.j::VARCHAR, 8, '0') AS record_id,
               'S' || lpad((v.i + CASE WHEN v.u < 30 THEN 5000000 ELSE 0 END)::VARCHAR, 8, '0') AS subject_id,
               CASE WHEN v.u < 400 THEN strip_accents(replace(replace(p.full_name, 'đ', 'd'), 'Đ', 'D'))
                    WHEN v.u < 500 THEN upper(p.full_name)
                    WHEN v.u < 600 THEN replace(replace(replace(p.full_name, 'òa', 'oà'), 'úy', 'uý'), 'ủy', 'uỷ')
                    ELSE p.full_name END AS full_name,
               CASE WHEN v.u % 10 < 5 THEN strftime(p.date_of_birth, '%d/%m/%Y')
                    WHEN v.u % 10 < 8 THEN year(p.date_of_birth)::VARCHAR
                    ELSE strftime(p.date_of_birth, '%Y-%m-%d') END AS date_of_birth,
               CASE WHEN v.u % 7 = 0 THEN NULL WHEN v.u % 7 = 1 THEN (p.sex = 'Nam')::INTEGER::VARCHAR
                    WHEN v.u % 7 = 2 THEN CASE WHEN p.sex = 'Nam' THEN 'M' ELSE 'F' END ELSE p.sex END AS sex,
               CASE WHEN v.u % 10 < 6 THEN p.person_id WHEN v.u % 10 = 6
                    THEN lpad((hash(v.i, 'cmnd') % 1000000000)::VARCHAR, 9, '1') END AS id_number,
               CASE WHEN p.phone IS NULL OR v.u % 5 = 0 THEN NULL
                    WHEN v.u % 5 = 1 THEN '+84' || substr(p.phone, 2)
                    WHEN v.u % 5 = 2 AND p.phone LIKE '03%' THEN '016' || substr(p.phone, 3)
                    ELSE p.phone END AS phone,
               p.province_code, CASE WHEN v.u % 20 = 0 THEN NULL ELSE p.district_code END AS district_code,
               CASE WHEN v.u % 20 = 0 THEN NULL ELSE ltrim(p.commune_code, '0') END AS commune_code,
               CASE WHEN v.u = 999 THEN 'xx/yy/2021'
                    WHEN v.u % 2 = 0 THEN strftime(v.vdate, '%d/%m/%Y') ELSE strftime(v.vdate, '%Y-%m-%d') END
                    AS vaccination_date,
               CASE WHEN v.u = 998 THEN 0 ELSE v.dose_number END AS dose_number,
               {_pick(['AstraZeneca', 'Pfizer', 'Moderna', 'Sinopharm', 'Sputnik V'], "v.i, 'vx'")} AS vaccine,
               'SITE' || lpad((hash(p.commune_code) % {n_sites})::VARCHAR, 3, '0') AS site_id,
               strftime(v.vdate + (v.u % 4)::INTEGER, '%Y-%m-%d') AS entered_date
        FROM v JOIN pop p USING (i)""")
    con.execute(f"COPY (SELECT * EXCLUDE (j) FROM vac ORDER BY j) TO '{out / 'vaccinations.csv'}' (HEADER)")
    con.execute(f"""COPY (SELECT DISTINCT site_id, 'Trạm y tế ' || site_id AS site_name, '{province}' AS province_code,
                    NULL AS district_code, NULL AS commune_code FROM vac ORDER BY 1)
                    TO '{out / 'sites.csv'}' (HEADER)""")
    con.execute(f"""COPY (SELECT site_id, vaccination_date, dose_number, count(*) + 1 AS doses_administered
                    FROM vac WHERE dose_number > 0 AND vaccination_date NOT LIKE 'xx%' GROUP BY ALL ORDER BY ALL)
                    TO '{out / 'tallies.csv'}' (HEADER)""")
    con.close()


def machine() -> str:
    return describe("duckdb")


def peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / (1024 * 1024) if sys.platform == "darwin" else kib / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all threads, DuckDB's included)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import vaxstudy
assert vaxstudy.__file__.startswith(sys.argv[1]), vaxstudy.__file__
from vaxstudy.ingest import ingest
from vaxstudy.standardize import standardize_db
def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime
t, c = time.perf_counter(), cpu()
ingest(sys.argv[2], sys.argv[3], quarantine_path=sys.argv[4])
t1, c1 = time.perf_counter(), cpu()
standardize_db(sys.argv[3])
t2, c2 = time.perf_counter(), cpu()
print("BENCH_JSON " + json.dumps({"ingest": t1 - t, "ingest_cpu": c1 - c, "standardize": t2 - t1,
      "standardize_cpu": c2 - c1, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_version(src: Path, data: Path, db: Path) -> dict:
    """ingest + standardize of ``data`` by the vaxstudy of ``src``, in a fresh process."""
    import json
    import subprocess

    db.unlink(missing_ok=True)
    r = subprocess.run([sys.executable, "-c", CHILD, str(src), str(data), str(db),
                        str(db.with_suffix(".quarantine.csv"))],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(src)})
    lines = [x for x in r.stdout.splitlines() if x.startswith("BENCH_JSON ")]
    if r.returncode or not lines:
        raise SystemExit(f"{src}: failed\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    return json.loads(lines[-1][len("BENCH_JSON "):])


def compare_dbs(a: Path, b: Path) -> list[str]:
    """Differences between two databases: table sets, column types, rows in their stored
    order (rowid, every value; EXCEPT ALL both ways), and the quarantine files beside them."""
    import filecmp

    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY); ATTACH '{b}' AS b (READ_ONLY)")
    tables = {db: {r[0] for r in con.execute(
        f"SELECT table_name FROM duckdb_tables() WHERE database_name = '{db}'").fetchall()} for db in "ab"}
    diffs = [f"tables only in {x}: {sorted(tables[x] - tables[y])}" for x, y in ("ab", "ba") if tables[x] - tables[y]]
    for t in sorted(tables["a"] & tables["b"]):
        cols = [con.execute(f"DESCRIBE a.main.{t}" if d == "a" else f"DESCRIBE b.main.{t}").fetchall() for d in "ab"]
        if cols[0] != cols[1]:
            diffs.append(f"{t}: columns differ")
            continue
        n = [con.execute(f"SELECT count(*) FROM {d}.main.{t}").fetchone()[0] for d in "ab"]
        extra = [con.execute(f"SELECT count(*) FROM (SELECT rowid AS _rid, * FROM {x}.main.{t} EXCEPT ALL "
                             f"SELECT rowid AS _rid, * FROM {y}.main.{t})").fetchone()[0] for x, y in ("ab", "ba")]
        print(f"  {t:<28} {n[0]:>10,} rows  vs {n[1]:>10,}; rows (with rowid) only in one: {extra}")
        if n[0] != n[1] or any(extra):
            diffs.append(f"{t}: {n} rows, {extra} rows differ")
    con.close()
    qa, qb = a.with_suffix(".quarantine.csv"), b.with_suffix(".quarantine.csv")
    if not filecmp.cmp(qa, qb, shallow=False):
        diffs.append("quarantine.csv files differ")
    return diffs


def versus(args) -> None:
    """This tree against ``args.baseline`` on the province ``args.data`` (see the docstring)."""
    import subprocess

    work = args.workdir or Path(tempfile.mkdtemp(prefix="vaxstudy-bench-"))
    base_src = work / "baseline"
    shutil.rmtree(base_src, ignore_errors=True)
    base_src.mkdir(parents=True)
    repo = Path(__file__).resolve().parents[1]
    rev = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", args.baseline],
                         capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run(f"git -C {repo} archive {rev} src | tar -x -C {base_src}", shell=True, check=True)
    versions = {f"baseline {rev}": base_src / "src", "this tree": repo / "src"}
    print(f"machine: {machine()}\nprovince: {args.data}\nload at the start: {os.getloadavg()}")
    runs: dict[str, list[dict]] = {k: [] for k in versions}
    for i in range(args.rounds):
        for k, src in versions.items():
            db = work / f"{'base' if k.startswith('baseline') else 'new'}.duckdb"
            r = run_version(src, args.data, db)
            runs[k].append(r)
            print(f"round {i + 1} {k:<18} ingest {r['ingest']:6.1f} s (CPU {r['ingest_cpu']:5.1f})  standardize "
                  f"{r['standardize']:6.1f} s (CPU {r['standardize_cpu']:5.1f})  peak {r['peak_mib']:,.0f} MiB  "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    print("identical outputs? every table of both databases, row by row in stored order:")
    diffs = compare_dbs(work / "base.duckdb", work / "new.duckdb")
    print("  IDENTICAL" if not diffs else "  DIFFERENT: " + "; ".join(diffs))
    print(f"load at the end: {os.getloadavg()}")
    if diffs:
        raise SystemExit(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="an existing province folder (no generation)")
    ap.add_argument("--baseline", default=None, help="git ref to compare with (needs --data)")
    ap.add_argument("--rounds", type=int, default=1, help="with --baseline: runs of each version")
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = 1M vaccination + 3M population rows")
    ap.add_argument("--workdir", type=Path, default=None, help="where to write data and the DB (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    if args.baseline:
        if args.data is None:
            ap.error("--baseline needs --data")
        return versus(args)

    from vaxstudy.ingest import ingest
    from vaxstudy.standardize import standardize_db

    n_vac, n_pop = int(1_000_000 * args.scale), int(3_000_000 * args.scale)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="vaxstudy-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data, db = work / "data", work / "bench.duckdb"
    db.unlink(missing_ok=True)
    print(f"machine: {machine()}")
    print(f"rows: {n_vac:,} vaccinations + {n_pop:,} population  (work dir {work})")
    try:
        t0 = time.perf_counter()
        generate(data, n_pop, n_vac)
        t_gen = time.perf_counter() - t0
        mib = sum(f.stat().st_size for f in data.iterdir()) / 2**20
        print(f"generate:    {t_gen:7.1f} s   ({mib:,.0f} MiB of CSV)")

        t0, c0 = time.perf_counter(), cpu_seconds()
        res = ingest(data, db)
        t_ing, c_ing = time.perf_counter() - t0, cpu_seconds() - c0
        rows_in = res["population"].rows_read + res["vaccinations"].rows_read
        print(f"ingest:      {t_ing:7.1f} s   {rows_in / t_ing:12,.0f} rows/s   (CPU {c_ing:.1f} s; "
              f"quarantined {res.rows_quarantined:,}; peak RSS so far {peak_rss_mib():,.0f} MiB)")
        for t in res.tables.values():
            assert t.rows_read == t.rows_loaded + t.rows_quarantined

        t0, c0 = time.perf_counter(), cpu_seconds()
        standardize_db(db)
        t_std, c_std = time.perf_counter() - t0, cpu_seconds() - c0
        con = duckdb.connect(str(db), read_only=True)
        n_std = sum(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("population_std", "vaccinations_std"))
        n_names = con.execute("SELECT count(DISTINCT name_original) FROM "
                              "(SELECT name_original FROM population_std UNION ALL "
                              "SELECT name_original FROM vaccinations_std)").fetchone()[0]
        con.close()
        print(f"standardize: {t_std:7.1f} s   {n_std / t_std:12,.0f} rows/s   (CPU {c_std:.1f} s; "
              f"{n_names:,} distinct names)")
        total = t_ing + t_std
        print(f"ingest + standardize: {total:.1f} s = {rows_in / total:,.0f} input rows/s; "
              f"CPU {c_ing + c_std:.1f} s; peak memory (max RSS) {peak_rss_mib():,.0f} MiB; "
              f"DB {db.stat().st_size / 2**20:,.0f} MiB")
        load = os.getloadavg()
        print(f"load average at the end (other work on the machine): {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
