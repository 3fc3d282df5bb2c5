"""A hand-made run (database, metrics.json, link model) for the report tests."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd


DISTRICTS = ["412", "413", "414", "415"]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng"]
GIVEN = ["Văn An", "Thị Hoà", "Đức Minh", "Thị Lan", "Quang Huy", "Ngọc Ánh"]


def make_run(root: Path, *, small_district: bool = True, seed: int = 0) -> tuple[Path, Path, dict]:
    """A run folder (metrics.json, link_model.json) and a DuckDB file with persons.

    District 415 has only 6 adults when small_district: its coverage must be suppressed.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    db = root / "work.duckdb"
    run = root / "run"
    run.mkdir(exist_ok=True)
    pop = []
    sizes = {"412": 160, "413": 90, "414": 60, "415": 6 if small_district else 50}
    pid = 40_000_000_0000
    for d, n in sizes.items():
        for i in range(n):
            pid += 7
            name = f"{SURNAMES[i % 5]} {GIVEN[(i // 5) % 6]} {chr(65 + i % 26)}{chr(97 + (i * 7) % 26)}"
            pop.append({"person_id": f"{pid:012d}", "full_name": name,
                        "date_of_birth": date(1950 + int(rng.integers(0, 50)), 1 + i % 12, 1 + i % 28),
                        "sex": "M" if i % 2 else "F", "province_code": "40", "district_code": d,
                        "commune_code": "00000", "phone": f"09{int(rng.integers(10**7, 10**8 - 1)):08d}"})
    pop = pd.DataFrame(pop)
    sites = pd.DataFrame({"site_id": [f"S{i}" for i in range(6)],
                          "site_name": [f"Trạm Y tế {i}" for i in range(6)],
                          "province_code": "40", "district_code": [DISTRICTS[i % 4] for i in range(6)],
                          "commune_code": "00000"})
    vax, links = [], []
    rid = 0
    start = date(2021, 9, 1)
    for _, p in pop.iterrows():
        for dose in (1, 2):
            if rng.random() < 0.15 * dose:
                continue
            reps = 2 if rng.random() < 0.05 else 1
            for r in range(reps):
                rid += 1
                vd = start + timedelta(days=int(rng.integers(0, 60)))
                vax.append({"record_id": f"R{rid}", "subject_id": f"U{p.person_id}",
                            "name_original": p.full_name, "name_norm": p.full_name.lower(),
                            "name_ascii": p.full_name.lower(), "dob": p.date_of_birth,
                            "dob_precision": "day" if rng.random() < 0.9 else "year",
                            "sex": p.sex, "id_number": p.person_id if rng.random() < 0.7 else None,
                            "id_type": "CCCD", "id_consistent": True, "phone": p.phone,
                            "phone_valid": bool(rng.random() < 0.9), "province_code": "40",
                            "district_code": p.district_code, "commune_code": "00000",
                            "commune_valid": True, "vaccination_date": vd, "dose_number": dose,
                            "vaccine": "AZ", "site_id": f"S{int(rng.integers(0, 6))}",
                            "entered_date": vd + timedelta(days=int(rng.integers(0, 12))), "_row": rid})
                links.append({"record_id": f"R{rid}", "person_id": p.person_id,
                              "match_probability": float(rng.uniform(0.8, 1.0)),
                              "person_key": p.person_id, "is_duplicate_dose": r > 0})
    vax = pd.DataFrame(vax)
    links = pd.DataFrame(links)
    days = pd.date_range(start, start + timedelta(days=60)).date
    tallies = vax.groupby(["site_id", "vaccination_date", "dose_number"]).size().rename("doses_administered").reset_index()
    tallies["doses_administered"] = (tallies["doses_administered"] * 1.1).round().astype(int)
    assert len(days)
    population_std = pop.rename(columns={"person_id": "unique_id", "full_name": "name_original",
                                         "date_of_birth": "dob"}).assign(
        name_norm=lambda x: x["name_original"].str.lower(), name_ascii=lambda x: x["name_original"].str.lower(),
        id_number=lambda x: x["unique_id"])
    raw_vax = vax.rename(columns={"name_original": "full_name"})[
        ["record_id", "subject_id", "full_name", "sex", "id_number", "phone", "province_code",
         "district_code", "commune_code", "vaccination_date", "dose_number", "vaccine", "site_id"]]
    quarantine = pd.DataFrame({"table_name": ["vaccinations"] * 3, "source_file": "vaccinations.csv",
                               "row_number": [5, 9, 12], "column_name": "vaccination_date",
                               "reason": ["unparseable date vaccination_date=31/02/2021 (expected ISO)",
                                          f"duplicate record_id {pop.person_id[0]} (first at row 2)",
                                          "missing site_id; missing vaccination_date"],
                               "raw": "{}"})
    con = duckdb.connect(str(db))
    for name, df in {"population": pop, "vaccinations": raw_vax, "vaccinations_std": vax,
                     "population_std": population_std, "sites": sites, "tallies": tallies,
                     "record_links": links, "quarantine": quarantine}.items():
        con.register("df_", df)
        con.execute(f"create or replace table {name} as select * from df_")
        con.unregister("df_")
    con.close()

    def grp(v):
        return {"coverage_dose1": v, "coverage_dose1_ci": [v - 0.05, v + 0.05],
                "coverage_dose2": v - 0.1, "coverage_dose2_ci": [v - 0.15, v - 0.05],
                "coverage_dose1_recorded": v - 0.05, "coverage_dose2_recorded": v - 0.15,
                "n_records": 100, "duplicate_dose_rate": 0.05, "missing_entry_rate": 0.08,
                "unlinked_record_rate": 0.02, "duplicate_subject_rate": 0.01}

    metrics = {"province_code": "40", "period_start": "2021-09-01", "period_end": "2021-10-31",
               "n_records": len(vax), "n_subjects": len(pop), "n_persons_est": len(pop) - 3,
               **{k: v for k, v in grp(0.85).items() if k != "n_records"},
               "by_district": {d: grp(0.8 + 0.03 * i) for i, d in enumerate(DISTRICTS)},
               "by_sex": {"M": grp(0.84), "F": grp(0.86)},
               "by_age_group": {g: grp(0.7 + 0.05 * i) for i, g in enumerate(["18-29", "30-49", "50-64", "65+"])}}
    (run / "metrics.json").write_text(json.dumps(metrics))
    model = {"comparisons": [{"output_column_name": "name", "comparison_levels": [
        {"sql_condition": "null", "is_null_level": True},
        {"label_for_charts": "exact", "m_probability": 0.9, "u_probability": 0.001},
        {"label_for_charts": "else", "m_probability": 0.1, "u_probability": 0.999}]}]}
    (run / "link_model.json").write_text(json.dumps(model))
    write_report_tables(db, run)
    return run, db, {"population": pop, "vaccinations": raw_vax}


def write_report_tables(db: Path, run: Path, province: str = "40", start: str = "2021-09-01",
                        end: str = "2021-10-31") -> None:
    """The aggregate tables the estimate writes beside metrics.json (what the report reads)."""
    from vaxstudy.report import aggregates

    con = duckdb.connect(str(db), read_only=True)
    try:
        aggregates.write(aggregates.compute(con, province, start, end), run)
    finally:
        con.close()
