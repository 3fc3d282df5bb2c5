"""A small fake standardised province (population_std, vaccinations_std) for the link tests."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata

import duckdb
import pandas as pd

SURNAMES = [("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Phan", 4),
            ("Vũ", 4), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 1.5), ("Hồ", 1.5), ("Ngô", 1.3),
            ("Dương", 1), ("Lý", 0.5), ("Khổng", 0.1), ("Thái", 0.4), ("Cao", 0.5)]
MIDDLE_M = ["Văn", "Đức", "Hữu", "Minh", "Quang", "Công", "Thanh", "Xuân", "Đình", "Ngọc"]
MIDDLE_F = ["Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Hồng", "Kim", "Phương"]
GIVEN_M = ["Anh", "Hùng", "Nam", "Dũng", "Tuấn", "Hải", "Sơn", "Long", "Thắng", "Cường",
           "Quân", "Đạt", "Bình", "Hiếu", "Tùng", "Lộc", "Phúc", "Khoa", "Vinh", "Trung"]
GIVEN_F = ["Hương", "Lan", "Mai", "Hoa", "Linh", "Trang", "Phương", "Thảo", "Hà", "Hằng",
           "Nga", "Yến", "Huyền", "Nhung", "Loan", "Oanh", "Giang", "Vân", "Ngân", "Hoà"]


def ascii_fold(s: str) -> str:
    s = s.replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in unicodedata.normalize("NFD", s) if not unicodedata.combining(ch))


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 3:
        return s
    i = rng.randrange(1, len(s))
    return s[:i] + rng.choice("aeiounhtg") + s[i + 1:]


def _std_person(uid, surname, middle, given, dob, year, prec, sex, idn, phone, district, commune):
    norm = [p.lower() for p in (surname, middle, given)]
    asc = [ascii_fold(p) for p in norm]
    idtype = None if not idn else ("CCCD" if len(idn) == 12 else "CMND" if len(idn) == 9 else "invalid")
    return dict(
        unique_id=uid, name_original=" ".join(p for p in (surname, middle, given) if p),
        name_norm=" ".join(p for p in norm if p), name_ascii=" ".join(p for p in asc if p),
        surname=norm[0], middle_name=norm[1], given_name=norm[2],
        surname_ascii=asc[0], middle_name_ascii=asc[1], given_name_ascii=asc[2],
        dob=dob, birth_year=year, dob_precision=prec,
        dob_ambiguous=bool(dob and dob.day <= 12 and dob.month <= 12 and dob.day != dob.month),
        sex=sex, id_number=idn or None, id_type=idtype,
        id_province_code=idn[1:3] if idtype == "CCCD" else None, id_consistent=None,
        phone=phone, phone_valid=True, province_code="40", district_code=district,
        commune_code=commune, commune_valid=True,
    )


def make_std_db(db_path, n_persons: int = 400, seed: int = 7, noise: float = 1.0) -> pd.DataFrame:
    """Write population_std, vaccinations_std and truth to db_path; return truth."""
    rng = random.Random(seed)
    surnames, weights = zip(*SURNAMES)
    people = []
    for i in range(n_persons):
        sex = rng.choice("MF")
        dob = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 63))
        district = f"{rng.randrange(412, 416):03d}"
        commune = f"{int(district) * 40 + rng.randrange(0, 6):05d}"
        pid = f"040{(0 if sex == 'M' else 1) + (2 if dob.year >= 2000 else 0)}{dob.year % 100:02d}{i:06d}"
        people.append(dict(
            pid=pid, sex=sex, dob=dob, district=district, commune=commune,
            surname=rng.choices(surnames, weights)[0],
            middle=rng.choice(MIDDLE_M if sex == "M" else MIDDLE_F),
            given=rng.choice(GIVEN_M if sex == "M" else GIVEN_F),
            phone=f"09{rng.randrange(10**8):08d}" if rng.random() < 0.7 else None,
            in_register=rng.random() > 0.04 * noise,
        ))
    pop = [_std_person(p["pid"], p["surname"], p["middle"], p["given"], p["dob"], p["dob"].year,
                       "day", p["sex"], p["pid"], p["phone"], p["district"], p["commune"])
           for p in people if p["in_register"]]
    vax, truth = [], []
    rec = 0
    subj = 0
    for k, p in enumerate(people):
        n_doses = rng.choice([1, 2, 2, 2, 3])
        n_profiles = 2 if rng.random() < 0.05 * noise else 1
        for prof in range(n_profiles):
            subj += 1
            r = lambda q: rng.random() < q * noise  # noqa: E731
            surname, middle, given = p["surname"], p["middle"], p["given"]
            if r(0.3):
                surname, middle, given = ascii_fold(surname), ascii_fold(middle), ascii_fold(given)
            if r(0.05):
                given = _typo(rng, given)
            if r(0.03):
                surname = _typo(rng, surname)
            if r(0.05):
                middle = ""
            dob, year, prec = p["dob"], p["dob"].year, "day"
            if r(0.1):
                dob, prec = None, "year"
            elif r(0.03) and dob.day <= 12 and dob.day != dob.month:
                dob = dt.date(dob.year, dob.day, dob.month)
            elif r(0.02):
                dob = dob + dt.timedelta(days=rng.choice([-1, 1, 10]))
                year = dob.year
            idn = p["pid"]
            if r(0.4):
                idn = None
            elif r(0.1):
                idn = f"{rng.randrange(10**8, 10**9)}"
            elif r(0.03):
                j = rng.randrange(6, 12)
                idn = idn[:j] + str((int(idn[j]) + 1) % 10) + idn[j + 1:]
            phone = p["phone"] if not r(0.3) else None
            commune = p["commune"] if not r(0.1) else None
            doses = range(1, n_doses + 1) if prof == 0 else range(n_doses, n_doses + 1)
            for d in doses:
                copies = 2 if r(0.02) else 1
                for _ in range(copies):
                    rec += 1
                    rid = f"R{rec:07d}"
                    row = _std_person(rid, surname, middle, given, dob, year, prec, p["sex"], idn,
                                      phone, p["district"], commune)
                    row.update(record_id=rid, subject_id=f"S{subj:06d}", dose_number=d,
                               vaccination_date=dt.date(2021, 3, 8) + dt.timedelta(days=30 * d),
                               vaccine="AstraZeneca", site_id="S1", entered_date=None)
                    vax.append(row)
                    truth.append(dict(record_id=rid,
                                      true_person_id=p["pid"] if p["in_register"] else None,
                                      true_person_key=f"P{k}"))
    rng.shuffle(vax)
    for i, row in enumerate(vax, start=1):
        row["_row"] = i
    pop_df, vax_df, truth_df = pd.DataFrame(pop), pd.DataFrame(vax), pd.DataFrame(truth)
    con = duckdb.connect(str(db_path))
    try:
        con.execute("CREATE OR REPLACE TABLE population_std AS SELECT * FROM pop_df")
        con.execute("CREATE OR REPLACE TABLE vaccinations_std AS SELECT * FROM vax_df")
        con.execute("CREATE OR REPLACE TABLE truth AS SELECT * FROM truth_df")
    finally:
        con.close()
    return truth_df
