"""Engines that record the SQL the stages send them (to check it transpiles to Spark)."""

from __future__ import annotations

from vaxstudy.engines import DuckDBBackend
from vaxstudy.engines.duckdb import DuckDBTables


class RecordingTables(DuckDBTables):
    """DuckDB's working tables, noting (kind, query) of every statement sent to them."""

    def __init__(self, queries: list[tuple[str, str]]):
        self.queries = queries

    def create_table(self, con, name, query):
        self.queries.append(("create_table", query))
        return super().create_table(con, name, query)

    def insert(self, con, name, query):
        self.queries.append(("insert", query))
        return super().insert(con, name, query)

    def fetch(self, con, query):
        self.queries.append(("fetch", query))
        return super().fetch(con, query)


class RecordingEngine(DuckDBBackend):
    """DuckDB noting the working-table SQL (``queries``) and the estimate's queries
    (``fetched``: query, names of the frames registered); ``hash_sql`` replaces the identity hash."""

    def __init__(self, hash_sql: str | None = None):
        super().__init__()
        self.queries: list[tuple[str, str]] = []
        self.fetched: list[tuple[str, list[str]]] = []
        self.tables = RecordingTables(self.queries)
        self.hash_sql = hash_sql

    def identity_hash_sql(self, columns):
        return self.hash_sql or super().identity_hash_sql(columns)

    def fetch_df(self, con, query, frames=None):
        self.fetched.append((query, sorted(frames or {})))
        return super().fetch_df(con, query, frames)
