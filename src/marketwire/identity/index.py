"""A DuckDB cache of the current master for fast point-in-time lookups, always rebuilt from the lake.

The cache is a file per lake state (``<home>/cache/master-<stamp>.duckdb``, the stamp being the Delta versions of
the master tables). It is built under a temporary name and renamed into place, then opened read-only, so any
number of processes (a server and CLI commands) share it, and a process that sees a newer lake state builds or
picks up the newer file. Freshness is checked at most once per ``check_every`` seconds. Deleting the cache folder
is always safe.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import duckdb

from marketwire.datasets import reference as R
from marketwire.identity.hot import HotIndex, build_files
from marketwire.store import Lake

TABLES = {"ids": R.IDENTIFIERS, "listings": R.LISTINGS, "securities": R.SECURITIES, "issuers": R.ISSUERS,
          "flags": R.REF_FLAGS, "membership": R.INDEX_MEMBERSHIP, "exchanges": R.EXCHANGES}
_SCHEMA_VERSION = "7"


class MasterIndex:
    def __init__(self, lake: Lake, folder: Path, check_every: float = 1.0) -> None:
        self.lake = lake
        self.folder = folder
        self.check_every = check_every
        self._con: duckdb.DuckDBPyConnection | None = None
        self._stamp: str | None = None
        self._checked = 0.0
        self._hot: Any = None
        self._hot_stamp: str | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def _current_stamp(self) -> str:
        v = self.lake.versions([ds.name for ds in TABLES.values()])
        text = _SCHEMA_VERSION + ":" + ",".join(f"{k}={v[k]}" for k in sorted(v))
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def invalidate(self) -> None:
        """Check the lake again on the next query (this process just wrote to it)."""
        self._checked = float("-inf")

    def connection(self) -> duckdb.DuckDBPyConnection:
        """A cursor for this thread over an up-to-date cache."""
        now = time.monotonic()
        if self._con is None or now - self._checked >= self.check_every:
            stamp = self._current_stamp()
            with self._lock:
                if self._con is None or stamp != self._stamp:
                    self._open(stamp)
                self._checked = now
        cur = getattr(self._local, "cur", None)
        if cur is None or getattr(self._local, "stamp", None) != self._stamp:
            assert self._con is not None
            cur = self._con.cursor()
            self._local.cur, self._local.stamp = cur, self._stamp
        return cur

    def _open(self, stamp: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"master-{stamp}.duckdb"
        if not path.exists():
            tmp = self.folder / f".master-{stamp}.{os.getpid()}.{threading.get_ident()}.tmp"
            con = duckdb.connect(str(tmp))
            try:
                self._build(con)
            finally:
                con.close()
            os.replace(tmp, path)
        # the previous connection is not closed here: other threads may be mid-query on cursors of it; it is
        # released when the last of them lets go
        self._con, self._stamp = duckdb.connect(str(path), read_only=True), stamp
        for p in list(self.folder.glob("master-*.duckdb")) + list(self.folder.glob("hot-*")):
            if p not in (path, self.folder / f"hot-{stamp}"):
                try:  # another process may still read it; on POSIX an open file survives its unlink
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
                except OSError:
                    pass

    def _build(self, con: duckdb.DuckDBPyConnection) -> None:
        # bounded memory: DuckDB spills to the cache folder rather than holding ten million rows in RAM
        con.execute(f"SET memory_limit = '{_memory_limit()}'")
        con.execute(f"SET temp_directory = '{self.folder / '.spill'}'")
        for name, ds in TABLES.items():
            src = self.lake.dataset(ds)
            if src is None:
                empty = ds.schema.empty_table()
                con.register("empty_src", empty)
                con.execute(f"CREATE TABLE {name} AS SELECT *{', value AS key' if name == 'ids' else ''} "
                            "FROM empty_src")
                con.unregister("empty_src")
                continue
            where = "NOT coalesce(retracted, false)" if "retracted" in ds.columns else None
            sql, args = self.lake.latest_sql(ds, con, src, where=where, name=f"src_{name}")
            extra = ", upper(value) AS key" if name == "ids" else ""
            con.execute(f"CREATE TABLE {name} AS SELECT *{extra} FROM ({sql})", args)
            # no ART indexes: point lookups go through the hot index; DuckDB answers scans (search, members)
        con.execute("CHECKPOINT")


    # -- queries ----------------------------------------------------------------------------------
    def rows(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.connection()
        res = cur.execute(sql, list(params))
        cols = [d[0] for d in res.description]
        return [dict(zip(cols, r)) for r in res.fetchall()]

    def hot(self) -> HotIndex:
        """The in-memory point-lookup index of the current lake state (built on first use per state)."""
        con = self.connection()
        if self._hot is None or self._hot_stamp != self._stamp:
            with self._lock:
                if self._hot is None or self._hot_stamp != self._stamp:
                    folder = self.folder / f"hot-{self._stamp}"
                    build_files(con, folder)
                    self._hot, self._hot_stamp = HotIndex(folder), self._stamp
        return self._hot  # type: ignore[no-any-return]


def _memory_limit() -> str:
    """A quarter of the machine's memory (at least 1 GB) for building the cache."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4GB"
    return f"{max(1, total // 4 // 2**30)}GB"
