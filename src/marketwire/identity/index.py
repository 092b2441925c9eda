"""A DuckDB cache of the current master for fast point-in-time lookups, always rebuilt from the lake.

The cache file lives beside the lake (``<home>/cache/master.duckdb``) and records the Delta versions it was
built from; when any master table has a newer version, the cache is rebuilt. Deleting it is always safe.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from marketwire.datasets import reference as R
from marketwire.store import Lake

TABLES = {"ids": R.IDENTIFIERS, "listings": R.LISTINGS, "securities": R.SECURITIES, "issuers": R.ISSUERS,
          "flags": R.REF_FLAGS, "membership": R.INDEX_MEMBERSHIP}
_INDEXES = {"ids": "key", "listings": "listing_id", "securities": "security_id", "issuers": "issuer_id",
            "flags": "entity_id"}
_SCHEMA_VERSION = "3"


class MasterIndex:
    def __init__(self, lake: Lake, path: Path) -> None:
        self.lake = lake
        self.path = path
        self._con: duckdb.DuckDBPyConnection | None = None
        self._stamp: str | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def _current_stamp(self) -> str:
        v = self.lake.versions([ds.name for ds in TABLES.values()])
        return _SCHEMA_VERSION + ":" + ",".join(f"{k}={v[k]}" for k in sorted(v))

    def connection(self) -> duckdb.DuckDBPyConnection:
        """A cursor for this thread over an up-to-date cache."""
        stamp = self._current_stamp()
        with self._lock:
            if self._con is None or stamp != self._stamp:
                self._open(stamp)
                self._local = threading.local()
        cur = getattr(self._local, "cur", None)
        if cur is None or getattr(self._local, "stamp", None) != self._stamp:
            assert self._con is not None
            cur = self._con.cursor()
            self._local.cur, self._local.stamp = cur, self._stamp
        return cur

    def _open(self, stamp: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._con is not None:
            self._con.close()
        con = duckdb.connect(str(self.path))
        con.execute("CREATE TABLE IF NOT EXISTS meta (k VARCHAR PRIMARY KEY, v VARCHAR)")
        row = con.execute("SELECT v FROM meta WHERE k = 'stamp'").fetchone()
        if not row or row[0] != stamp:
            self._rebuild(con)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('stamp', ?)", [stamp])
        self._con, self._stamp = con, stamp

    def _rebuild(self, con: duckdb.DuckDBPyConnection) -> None:
        for name, ds in TABLES.items():
            t = self.lake.read(ds, where="NOT coalesce(retracted, false)")
            con.register("src", t)
            extra = ", upper(value) AS key" if name == "ids" else ""
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT *{extra} FROM src")
            con.unregister("src")
            if name in _INDEXES:
                con.execute(f"CREATE INDEX IF NOT EXISTS {name}_idx ON {name} ({_INDEXES[name]})")
        con.execute("CHECKPOINT")

    # -- queries ----------------------------------------------------------------------------------
    def rows(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.connection()
        res = cur.execute(sql, list(params))
        cols = [d[0] for d in res.description]
        return [dict(zip(cols, r)) for r in res.fetchall()]

    def lookup(self, value: str, as_of: date, schemes: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT entity_kind, entity_id, scheme, value, valid_from, valid_to, flags FROM ids WHERE key = ? "
               "AND (valid_from IS NULL OR valid_from <= ?) AND (valid_to IS NULL OR valid_to > ?)")
        params: list[Any] = [value.upper(), as_of, as_of]
        if schemes:
            sql += " AND scheme IN (" + ",".join("?" * len(schemes)) + ")"
            params.extend(schemes)
        return self.rows(sql, params)

    def exists_any(self, value: str) -> bool:
        return bool(self.rows("SELECT 1 FROM ids WHERE key = ? LIMIT 1", [value.upper()]))
