"""The lake: one Delta table per dataset, written with ``deltalake``, queried with DuckDB.

Records are never updated in place. A change is a new record with a later ``knowledge_time``; a read with
``as_of=T`` keeps records with ``knowledge_time <= T`` and, per key, the latest of them. The location is a URI
(a folder for the embedded default; ``s3://``, ``gs://``, ``az://`` work the same through delta-rs), so moving
to object storage is a change of URI, not of code.

Writers and derived state (see ``docs/reliability.md``):

- **One writer per dataset across processes**: :meth:`Lake.writing` holds a lock file per dataset
  (``<root>/_locks/<dataset>.lock``) while a delivery compares itself with what is stored and appends; readers take
  no lock and read the table's last committed version.
- **Published derived state**: a build that writes several tables (the securities master) publishes the versions
  it wrote in a manifest (``<root>/_manifests/<name>.json``, replaced atomically) once every table is written.
  Reads of those tables use the published versions, so a reader sees the previous build or the new one, never a
  mix, and a build killed halfway is invisible until the next build completes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from marketwire.datasets import Dataset
from marketwire.store import duck
from marketwire.store.state import LakeState, is_local, local_path


_is_local, _local_path = is_local, local_path


class Lake:
    """A set of Delta tables under one root URI.

    >>> lake = Lake("/tmp/lake")                      # doctest: +SKIP
    >>> lake.append(dataset, arrow_table)              # doctest: +SKIP
    >>> lake.read(dataset, as_of=datetime(2015, 1, 10))  # doctest: +SKIP
    """

    def __init__(self, root: str | Path, storage_options: dict[str, str] | None = None) -> None:
        self.root = str(root).rstrip("/")
        self.storage_options = storage_options
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self.pinned = True  # reads of published derived tables use the published versions
        self._state = LakeState(self.root)  # versions and manifests, read with the standard library
        if _is_local(self.root):
            Path(_local_path(self.root)).mkdir(parents=True, exist_ok=True)

    def unpinned(self) -> Lake:
        """This lake with every table read at its last committed version, published or not (what a build of
        derived tables compares itself with). Shares the locks."""
        other = object.__new__(Lake)
        other.__dict__.update(self.__dict__)
        other.pinned = False
        return other

    # -- writers: one per dataset, across processes ----------------------------------------------------------------
    def _lock_dir(self) -> Path:
        if _is_local(self.root):
            return Path(_local_path(self.root)) / "_locks"
        # a lake on object storage: the lock holds between the processes of this machine only
        digest = hashlib.blake2b(self.root.encode(), digest_size=8).hexdigest()
        return Path(tempfile.gettempdir()) / "marketwire-locks" / digest

    def _file_lock(self, name: str) -> Any:
        from filelock import FileLock

        folder = self._lock_dir()
        folder.mkdir(parents=True, exist_ok=True)
        # one lock object per file in the process (is_singleton), re-entrant per thread (thread_local): a thread
        # that holds a dataset's lock may take it again; another thread, or another process, waits
        return FileLock(str(folder / f"{name}.lock"), thread_local=True, is_singleton=True)

    @contextlib.contextmanager
    def writing(self, names: Sequence[str], *, blocking: bool = True) -> Iterator[bool]:
        """Hold the writer lock of every dataset in ``names`` (taken in name order, so two writers never wait
        for each other in a circle). Yields True; with ``blocking=False`` yields False at once, holding nothing,
        when another writer holds one of them. Readers never take these locks."""
        from filelock import Timeout

        held = []
        try:
            for name in sorted(set(names)):
                lock = self._file_lock(name)
                try:
                    lock.acquire(timeout=-1 if blocking else 0)
                except Timeout:
                    for h in reversed(held):
                        h.release()
                    held = []
                    yield False
                    return
                held.append(lock)
            yield True
        finally:
            for h in reversed(held):
                h.release()

    def writer_active(self, names: Sequence[str]) -> bool:
        """Whether another writer (another thread or process) holds the lock of one of ``names`` now."""
        with self.writing(names, blocking=False) as got:
            return not got

    # -- published derived state ---------------------------------------------------------------------------------
    def _manifest_dir(self) -> Path | None:
        return self._state.manifest_dir()

    def manifest(self, name: str) -> dict[str, Any] | None:
        """The manifest ``name`` (see :meth:`publish`), or None."""
        return self._state.manifest(name)

    def publish(self, name: str, manifest: dict[str, Any] | None) -> None:
        """Replace manifest ``name`` atomically (written aside, flushed, renamed into place); None deletes it.
        ``manifest["outputs"]`` ({table: version}) are the versions readers use from now on."""
        folder = self._manifest_dir()
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.json"
        if manifest is None:
            path.unlink(missing_ok=True)
            return
        tmp = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "w") as fh:
            json.dump(manifest, fh, sort_keys=True, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def pins(self) -> dict[str, int]:
        """Table -> the version published for it by a manifest (tables no manifest names are read as they are)."""
        return self._state.pins()

    def _pin(self, name: str) -> int | None:
        return self.pins().get(name) if self.pinned else None

    # -- locations -----------------------------------------------------------------------------
    def uri(self, name: str) -> str:
        return f"{self.root}/{name}"

    def _table(self, name: str, version: int | None = None) -> Any | None:
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        version = self._pin(name) if version is None else version
        try:
            return DeltaTable(self.uri(name), version=version, storage_options=self.storage_options)
        except TableNotFoundError:
            return None

    def exists(self, ds: Dataset | str) -> bool:
        name = ds if isinstance(ds, str) else ds.name
        if _is_local(self.root):  # a look at the log folder, not a load of the whole table
            return self.version(name) is not None
        return self._table(name) is not None

    def version(self, ds: Dataset | str) -> int | None:
        """The Delta table version readers see (``None`` when the table does not exist yet): the published one
        for a table a manifest names, else the last committed."""
        name = ds if isinstance(ds, str) else ds.name
        pin = self._pin(name)
        if pin is not None:
            return pin
        return self.committed_version(name)

    def committed_version(self, ds: Dataset | str) -> int | None:
        """The table's last committed Delta version, published or not."""
        name = ds if isinstance(ds, str) else ds.name
        if self._state.local:  # cheap: the newest commit file of the log, without loading the table
            return self._state.committed_version(name)
        t = self.unpinned()._table(name)
        return None if t is None else int(t.version())

    def versions(self, names: Sequence[str]) -> dict[str, int | None]:
        return {n: self.version(n) for n in names}

    # -- writes --------------------------------------------------------------------------------
    def append(self, ds: Dataset, table: pa.Table) -> int:
        """Append ``table`` (conformed to the dataset schema). Returns the number of rows written."""
        from deltalake import write_deltalake

        if table.num_rows == 0:
            return 0
        table = ds.conform(table)
        with self._locks_lock:
            lock = self._locks.setdefault(ds.name, threading.Lock())
        with lock:  # one writer per table in this process; tables are written concurrently
            write_deltalake(
                self.uri(ds.name),
                table,
                mode="append",
                partition_by=list(ds.partition_by) or None,
                storage_options=self.storage_options,
                schema_mode="merge",  # a dataset that gained a nullable column keeps its history
                writer_properties=_writer_properties(ds),
            )
        return table.num_rows

    def replace(self, ds: Dataset, table: pa.Table) -> int:
        """Write ``table`` as the whole content of ``ds``'s table, as a new Delta version (the earlier versions
        stay readable by version). Only :mod:`marketwire.engine.check` uses it, to remove duplicate records."""
        from deltalake import write_deltalake

        table = ds.conform(table)
        with self._locks_lock:
            lock = self._locks.setdefault(ds.name, threading.Lock())
        with lock:
            write_deltalake(self.uri(ds.name), table, mode="overwrite", partition_by=list(ds.partition_by) or None,
                            storage_options=self.storage_options, writer_properties=_writer_properties(ds))
        return table.num_rows

    # -- reads ---------------------------------------------------------------------------------
    def latest_sql(self, ds: Dataset, con: Any, src: Any, *, as_of: datetime | None = None, where: str | None = None,
                   params: Sequence[Any] = (), columns: Sequence[str] | None = None, latest: bool = True,
                   name: str = "t") -> tuple[str, list[Any]]:
        """Register ``src`` (a pyarrow dataset of ``ds``) on DuckDB connection ``con`` as view ``name`` and
        return the SQL (and its parameters) selecting the records known at ``as_of``, latest per key.

        Run it on any connection: :meth:`read` fetches it as Arrow; the lookup cache runs it inside its own
        database, so that ten million records never pass through Python.
        """
        if isinstance(src, _ParquetFiles):  # the table's files read by DuckDB's own Parquet reader
            names = src.columns
            cols = ", ".join(f'"{c}"' for c in names)
            files = ", ".join("'" + f.replace("'", "''") + "'" for f in src.files)  # a view takes no parameters
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name}_raw AS SELECT {cols} FROM read_parquet([{files}], "
                        "union_by_name = true)")
        else:
            con.register(f"{name}_raw", src)
            names = src.schema.names
        missing = [f for f in ds.schema if f.name not in names]
        extra = "".join(f', CAST(NULL AS {_duck_type(f.type)}) AS "{f.name}"' for f in missing)
        # a table written before the dataset gained a column reads that column as nulls
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT *{extra} FROM {name}_raw")
        sql, args = f"SELECT * FROM {name}", []
        if as_of is not None:
            sql += " WHERE knowledge_time <= ?"
            args.append(as_of)
        if latest and ds.key:
            part = ", ".join(f'"{k}"' for k in ds.key)
            sql += (f" QUALIFY row_number() OVER (PARTITION BY {part} "
                    "ORDER BY knowledge_time DESC, ingested_at DESC) = 1")
        sel = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        sql = f"SELECT {sel} FROM ({sql})"
        if where:  # applies to the version chosen, never to the choice
            sql += f" WHERE ({where})"
            args.extend(params)
        return sql, args

    def scan(self, ds: Dataset, columns: Sequence[str] | None = None) -> pa.Table:
        """Every record ever written (all knowledge versions)."""
        t = self._table(ds.name)
        if t is None:
            return ds.schema.empty_table() if columns is None else ds.schema.empty_table().select(columns)
        return t.to_pyarrow_table(columns=list(columns) if columns else None)

    def dataset(self, ds: Dataset, partitions: list[tuple[str, str, Any]] | None = None,
                version: int | None = None) -> Any:
        """A pyarrow dataset over the current table version (or ``version``) for DuckDB / Polars to scan lazily,
        optionally only some partitions (``[("bucket", "in", ["3", "7"])]``)."""
        t = self._table(ds.name, version)
        return None if t is None else t.to_pyarrow_dataset(file_pruning_predicate=partitions)  # type: ignore[arg-type]

    def _parquet_files(self, ds: Dataset) -> _ParquetFiles | None:
        """The current version's files for DuckDB to read directly: only for a local, unpartitioned table whose
        protocol has no reader features (no deletion vectors, no column mapping); None otherwise (and None for a
        table that does not exist)."""
        if ds.partition_by or not _is_local(self.root):
            return None
        t = self._table(ds.name)
        if t is None:
            return None
        protocol = t.protocol()
        if protocol.min_reader_version > 1 or protocol.reader_features:
            return None
        return _ParquetFiles([_local_path(u) for u in t.file_uris()], [f.name for f in t.schema().fields])

    def files(self, ds: Dataset) -> pa.Table:
        """The data files of the current version: path, size, rows and partition values (``partition.<col>``)."""
        t = self._table(ds.name)
        if t is None:
            return pa.table({"path": pa.array([], pa.string())})
        adds = t.get_add_actions(flatten=True)
        return adds if isinstance(adds, pa.Table) else pa.table(adds)

    def read(
        self,
        ds: Dataset,
        *,
        as_of: datetime | None = None,
        where: str | None = None,
        params: Sequence[Any] = (),
        columns: Sequence[str] | None = None,
        latest: bool = True,
        partitions: list[tuple[str, str, Any]] | None = None,
    ) -> pa.Table:
        """Records known at ``as_of`` (default: now), latest version per key.

        ``where`` is a DuckDB SQL predicate (``?`` parameters) over the latest versions: a record whose latest
        version does not match is absent, never replaced by an older version that does.
        """
        src = self._parquet_files(ds) if partitions is None else None
        if src is None:
            src = self.dataset(ds, partitions)
        if src is None or (isinstance(src, _ParquetFiles) and not src.files):
            empty = ds.schema.empty_table()
            return empty.select(list(columns)) if columns else empty
        con = duck.connect()
        try:
            sql, args = self.latest_sql(ds, con, src, as_of=as_of, where=where, params=params, columns=columns,
                                        latest=latest)
            return arrow_of(con.execute(sql, args))
        finally:
            con.close()


class _ParquetFiles:
    """The data files of one version of an unpartitioned local table, and its columns in the table's order: what
    :meth:`Lake.read` gives DuckDB to read itself (a pyarrow dataset would cost its import, and pandas', on every
    cold command)."""

    def __init__(self, files: list[str], columns: list[str]) -> None:
        self.files = files
        self.columns = columns


def _writer_properties(ds: Dataset) -> Any:
    """zstd everywhere (at the dataset's level); the dataset's declared encodings (delta for sorted integers),
    dictionaries elsewhere."""
    from deltalake import ColumnProperties, WriterProperties

    cols = {c: ColumnProperties(dictionary_enabled=False, encoding=enc)  # type: ignore[arg-type]
            for c, enc in ds.encodings.items()}
    return WriterProperties(compression="ZSTD", compression_level=ds.zstd_level, column_properties=cols or None,
                            max_row_group_size=ds.row_group_rows)


def _duck_type(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_floating(t):
        return "DOUBLE"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    if pa.types.is_list(t):
        return _duck_type(t.value_type) + "[]"
    return "VARCHAR"


def arrow_of(result: Any) -> pa.Table:
    """A DuckDB result as an Arrow table (the method name changed across DuckDB releases)."""
    import warnings

    fn = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn()
