"""Rows for the lake's tables, written by hand in tests: provenance columns and daily bars of one listing."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa

from marketwire.datasets import prices as P


def provenance(n: int, when: datetime, ingest_id: str | None = None) -> dict[str, pa.Array]:
    """The provenance columns every record carries, for ``n`` rows known and ingested at ``when`` by the run
    ``ingest_id`` (default: ``i`` and the day of the month of ``when``)."""
    return {"knowledge_time": pa.array([when] * n, pa.timestamp("us", tz="UTC")),
            "ingested_at": pa.array([when] * n, pa.timestamp("us", tz="UTC")),
            "source": pa.array(["test"] * n), "ingest_id": pa.array([ingest_id or f"i{when:%d}"] * n)}


def daily_bars(closes: dict[date, int], when: datetime, listing: str = "MWL1") -> pa.Table:
    """Daily bars of ``listing`` with open = high = low = close (in cents) and 1,000 shares a day."""
    n = len(closes)
    cents = list(closes.values())
    return pa.table({
        "bucket": pa.array([P.bucket_of(listing)] * n, pa.int16()), "listing_id": [listing] * n,
        "date": pa.array(list(closes), pa.date32()), "open": cents, "high": cents, "low": cents, "close": cents,
        "volume": [1000] * n, "price_exp": pa.array([2] * n, pa.int8()), "currency": ["USD"] * n,
        "unit_scale": pa.array([0] * n, pa.int8()), "basis": ["raw"] * n, "flags": pa.nulls(n, pa.string()),
        **provenance(n, when)})
