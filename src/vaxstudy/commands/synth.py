"""`vaxstudy synth`: generate a synthetic province with ground truth."""

from __future__ import annotations

from pathlib import Path

import typer


def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the data files into."),
    province: str = typer.Option("40", "--province", help="GSO province code (40 = Nghệ An)."),
    scale: float = typer.Option(0.01, "--scale", help="Fraction of the province's 2021 population (1.0 ≈ 3.4M for Nghệ An)."),
    seed: int = typer.Option(1, "--seed", help="Random seed: same seed, same files."),
    period_start: str = typer.Option("2021-03-08", "--period-start", help="First day of the period (ISO)."),
    period_end: str = typer.Option("2021-10-31", "--period-end", help="Last day of the period (ISO): no dose after it."),
    extract_date: str = typer.Option(None, "--extract-date",
                                     help="Day the export is taken (ISO, default: period end): rows entered later are absent."),
    fmt: str = typer.Option("csv", "--format", help="csv or parquet."),
    missing_base: float = typer.Option(None, help="Base probability that a dose is never entered."),
    new_subject_rate: float = typer.Option(None, help="Probability a later dose is entered under a new profile."),
    dup_dose_rate: float = typer.Option(None, help="Probability an entered dose is typed twice."),
    name_no_diacritics: float = typer.Option(None, help="Share of profiles whose name lacks diacritics."),
    id_empty: float = typer.Option(None, help="Share of profiles with an empty ID number."),
    tally_error_rate: float = typer.Option(None, help="Share of site-day-dose tallies with a counting error."),
    outsider_share: float = typer.Option(0.025, help="Share of first-dose recipients not in the register."),
    param: list[str] = typer.Option(None, "--param", help="Any other noise parameter as NAME=VALUE (see vaxstudy.synth.params)."),
    error: list[str] = typer.Option(
        None, "--error",
        help="Rate of one kind of typing error as KIND=RATE, repeatable (e.g. --error dob_year_off1=0.2); "
        "KIND is one of vaxstudy.synth.params.ERROR_KINDS (the field noise and the widened catalogue)."),
) -> None:
    """Generate a synthetic province: register, registry export, sites, tallies and the truth."""
    from vaxstudy import validate as v
    from vaxstudy.commands.output import number
    from vaxstudy.synth import generate
    from vaxstudy.synth.params import ERROR_KINDS, SynthParams

    province = v.typer_check(v.province, province)
    period_start = v.typer_check(v.iso_date, period_start, "--period-start")
    period_end = v.typer_check(v.period, f"{period_start}:{period_end}", "--period-end")[1]
    if extract_date is not None:
        extract_date = v.typer_check(v.iso_date, extract_date, "--extract-date")

    noise = {k: v for k, v in {
        "missing_base": missing_base, "new_subject_rate": new_subject_rate, "dup_dose_rate": dup_dose_rate,
        "name_no_diacritics": name_no_diacritics, "id_empty": id_empty, "tally_error_rate": tally_error_rate,
    }.items() if v is not None}
    for item in param or []:
        name, _, value = item.partition("=")
        if name not in SynthParams.model_fields:
            raise typer.BadParameter(f"unknown parameter {name!r}", param_hint="--param")
        try:
            noise[name] = float(value)
        except ValueError:
            raise typer.BadParameter(f"{item!r} is not NAME=NUMBER", param_hint="--param") from None
    for item in error or []:
        name, _, value = item.partition("=")
        if name not in ERROR_KINDS:
            raise typer.BadParameter(f"unknown error kind {name!r}; one of: {', '.join(ERROR_KINDS)}",
                                     param_hint="--error")
        try:
            rate = float(value)
        except ValueError:
            raise typer.BadParameter(f"{item!r} is not KIND=RATE", param_hint="--error") from None
        if not 0 <= rate <= 1:
            raise typer.BadParameter(f"{item!r}: the rate must be in [0, 1]", param_hint="--error")
        noise[name] = rate
    if fmt not in ("csv", "parquet"):
        raise typer.BadParameter("must be csv or parquet", param_hint="--format")
    v.typer_check(v.out_dir, out)
    path = generate(out, province=province, scale=scale, seed=seed, period=(period_start, period_end), fmt=fmt,
                    outsider_share=outsider_share, extract_date=extract_date, **noise)
    import json

    s = json.loads((path / "truth_summary.json").read_text(encoding="utf-8"))
    typer.echo(f"wrote {path}: {s['n_records']} records, {s['n_subjects']} subjects; "
               f"true coverage dose 1 {number(s['coverage_dose1'], '.3f')}, "
               f"missing entry {number(s['missing_entry_rate'], '.3f')} "
               f"(not yet entered on {s['extract_date']}: {number(s['late_entry_rate'], '.3f')})")
