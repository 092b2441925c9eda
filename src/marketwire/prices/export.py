"""Bulk output of bars, partitioned: chunks of listings read as tasks on the executor, written in order by the driver.

:meth:`marketwire.prices.service.PricesService.export` splits the listings into chunks (their number depends on
the listings only, never on the executor); each chunk is a task :func:`export_chunk` that reads its listings'
bars from the read cache of the lake and returns one Arrow table; the driver appends the tables to the one Parquet
or Arrow IPC file in chunk order. On threads the tasks use the driver's own service; on a Dask cluster each worker
process opens the lake by path once (the lake and its cache folder must be on a path the workers share) and
checks that it reads the state of the lake the driver read (else :class:`~marketwire.errors.Conflict`). The file is
the same, byte for byte, whichever executor ran the tasks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from marketwire.engine import Engine, load_plugins
from marketwire.errors import Conflict
from marketwire.identity.service import IdentityService
from marketwire.store import Lake

#: the columns of an export file
SCHEMA = pa.schema([("listing_id", pa.string()), ("date", pa.date32()), ("open", pa.float64()), ("high", pa.float64()),
                    ("low", pa.float64()), ("close", pa.float64()), ("volume", pa.float64()), ("flags", pa.string())])

#: listings per task: about CHUNKS tasks, each of at most CHUNK_MAX listings
CHUNKS = 32
CHUNK_MAX = 256

# process-local: (lake root, cache folder) -> the prices service tasks read through. The driver lends its own for
# the length of an export (threads); a worker process opens one on first use and keeps it for the next tasks.
_SERVICES: dict[tuple[str, str], Any] = {}
_LENT: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def chunks(lids: Sequence[str], size: int | None = None) -> list[list[str]]:
    """``lids`` in consecutive chunks (``size`` listings each; default from the number of listings only)."""
    n = len(lids)
    size = size or max(1, min(CHUNK_MAX, -(-n // CHUNKS)))
    return [list(lids[i:i + size]) for i in range(0, n, size)]


def listing_table(prices: Any, lid: str, adjust: str, start: Any, end: Any) -> pa.Table:
    """One listing's bars as export rows: ``listing_id`` first, prices and volume as float64."""
    t = prices.bars(lid, start=start, end=end, adjust=adjust, flags=True, output="arrow")
    t = t.replace_schema_metadata(None)
    t = t.add_column(0, "listing_id", pa.array([lid] * t.num_rows, pa.string()))
    return t.select(SCHEMA.names).cast(SCHEMA)


@dataclass(frozen=True)
class LakeRef:
    """How a task finds the prices service to read through: in the driver's process the one it lends, elsewhere
    one opened by path (``service`` is the service class, passed so that this module need not import it)."""

    service: type
    lake_root: str
    cache: str
    storage_options: dict[str, str] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.lake_root, self.cache)


def export_chunk(ref: LakeRef, stamp: str | None, lids: list[str], adjust: str, start: Any, end: Any) -> pa.Table:
    """One task of a bulk export (runs on a worker): the bars of ``lids`` as one table, in that order.

    ``stamp`` is the state of the lake (bars and actions versions) the driver read; a worker that sees another
    state refuses rather than mix two states in one file."""
    prices = _service(ref)
    if _LENT.get(ref.key) is not prices:
        bc = prices.bars_cache
        bc.invalidate()
        bc.ensure()
        if stamp is not None and bc.state()["stamp"] != stamp:
            raise Conflict(f"the lake at {ref.lake_root} changed during the export (read {stamp}, worker sees "
                           f"{bc.state()['stamp']}); run the export again", param="lake")
    tables = [listing_table(prices, lid, adjust, start, end) for lid in lids]
    return pa.concat_tables(tables).combine_chunks() if tables else SCHEMA.empty_table()


@contextmanager
def lent(prices: Any) -> Iterator[LakeRef]:
    """The reference tasks find ``prices`` by; while inside, tasks in this process read through ``prices`` itself."""
    ref = LakeRef(type(prices), prices.lake.root, str(prices.bars_cache.folder.parent), prices.lake.storage_options)
    with _LOCK:
        _LENT[ref.key] = prices
    try:
        yield ref
    finally:
        with _LOCK:
            if _LENT.get(ref.key) is prices:
                del _LENT[ref.key]


def _service(ref: LakeRef) -> Any:
    with _LOCK:
        found = _LENT.get(ref.key) or _SERVICES.get(ref.key)
        if found is None:
            found = _SERVICES[ref.key] = _open(ref)
        return found


def _open(ref: LakeRef) -> Any:
    """The prices service over a lake, composed as :func:`marketwire.open` composes it (plugins loaded, identity
    attached to the engine), without the rest of the platform."""
    load_plugins()
    lake = Lake(ref.lake_root, ref.storage_options)
    engine = Engine(lake)
    identity = IdentityService(lake, Path(ref.cache))
    identity.attach(engine)
    return ref.service(lake, engine, identity, Path(ref.cache))


__all__ = ["CHUNKS", "CHUNK_MAX", "SCHEMA", "LakeRef", "chunks", "export_chunk", "lent", "listing_table"]
