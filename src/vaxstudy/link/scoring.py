"""A Splink linker that scores with a run's model: the inputs registered on the engine and the
term-frequency tables of the whole run's inputs registered beside them, so a later step (the
wide pass, the incomplete-register step, dedupe, `link --update`) weighs a name as the first
pass did, not by its frequency among the few rows that step scores."""

from __future__ import annotations

from typing import Any


def scoring_linker(be: Any, con: Any, inputs: list[tuple[str, str | None]], settings: dict[str, Any],
                   tf_tables: dict[str, str]) -> Any:
    """A ``splink.Linker`` on engine ``be`` over the working tables ``inputs`` ((table, display
    name or None): one for a deduplication, two for a link, in Splink's order), ``settings`` in
    DuckDB's dialect (translated by the engine), with ``tf_tables`` (column → table) registered."""
    from splink import Linker

    db_api = be.splink_api(con, (*(t for t, _ in inputs), *tf_tables.values()))
    sdfs = [db_api.register(t, dataset_display_name=name) if name else db_api.register(t) for t, name in inputs]
    linker = Linker(sdfs if len(sdfs) > 1 else sdfs[0], be.splink_settings(settings), log_level=None)
    for col, table in tf_tables.items():
        linker.table_management.register_term_frequency_lookup(db_api.register(table), col)
    return linker
