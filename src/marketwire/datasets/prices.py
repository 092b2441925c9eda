"""Prices: raw daily bars per listing, the corporate-action ledger, FX reference rates.

Bars are stored raw (or with the price basis the source delivered, named in ``basis``) and adjusted on read from
the ledger. Prices are integer ticks: ``price = ticks / 10**price_exp``, where ``price_exp`` is the smallest
decimal exponent that reproduces every price of the series within 1e-10 relative (exact for sources that print
up to nine decimals). Ticks sorted by (listing, date) and stored with Parquet delta encoding take about a byte
a price.
"""

from __future__ import annotations

import pyarrow as pa

from marketwire.datasets.base import Dataset

S = pa.string()
D = pa.date32()
I64 = pa.int64()
F64 = pa.float64()


def f(name: str, typ: pa.DataType, nullable: bool = True) -> pa.Field:
    return pa.field(name, typ, nullable=nullable)


_DELTA = "DELTA_BINARY_PACKED"

#: bars are partitioned by a bucket of the listing id (a per-listing read touches one partition)
BUCKETS = 16


def bucket_of(listing_id: str) -> int:
    import zlib

    return zlib.crc32(listing_id.encode()) % BUCKETS


BARS_DAILY = Dataset(
    name="bars_daily",
    description="Daily OHLCV of one listing on one session date, as one source delivered it.",
    fields=(
        f("bucket", pa.int16(), False), f("listing_id", S, False), f("date", D, False),
        f("open", I64), f("high", I64), f("low", I64), f("close", I64), f("volume", I64),
        f("price_exp", pa.int8(), False), f("currency", S), f("unit_scale", pa.int8()), f("basis", S, False),
        f("symbol", S), f("file", S), f("line", I64), f("flags", S),
    ),
    key=("listing_id", "date", "source"),
    valid_time=("date",),
    write_mode="versioned",
    partition_by=("bucket",),
    encodings={c: _DELTA for c in ("date", "open", "high", "low", "close", "volume", "line")},
    zstd_level=1,  # 749k bars: 0.22 instead of 0.25 s of the ingest's Delta write, 11.22 instead of 11.18 bytes/bar
    column_docs={
        "open": "integer ticks; the price is open / 10**price_exp (in units of 10**unit_scale of currency)",
        "unit_scale": "0 when prices are in currency units, -2 when quoted in hundredths (GBX pence for GBP)",
        "basis": "raw; split_adjusted (splits applied by the vendor); adjusted (splits and dividends applied)",
        "flags": "comma-separated codes of the flag rules the bar raised (null when clean)",
        "bucket": "crc32(listing_id) mod 16: the partition",
        "source": "source and preset, e.g. prices-csv:quandl-wiki",
    },
)

CORPORATE_ACTIONS = Dataset(
    name="corporate_actions",
    description="The corporate-action ledger: splits, reverse splits, cash dividends and capital gains by ex date.",
    fields=(
        f("listing_id", S, False), f("ex_date", D, False), f("type", S, False), f("value", F64, False),
        f("currency", S), f("basis", S), f("file", S), f("line", I64), f("flags", S),
    ),
    key=("listing_id", "ex_date", "type", "source"),
    write_mode="versioned",
    compare=("listing_id", "ex_date", "type", "value", "source", "flags"),
    valid_time=("ex_date",),
    column_docs={
        "type": "split (value = new shares per old share; a reverse split has value < 1), dividend, capital_gain",
        "value": "split ratio, or the cash amount per share in the bar's currency and basis",
    },
)

FX_RATES = Dataset(
    name="fx_rates",
    description="Reference exchange rates: units of quote currency per one unit of base currency.",
    fields=(f("base", S, False), f("quote", S, False), f("date", D, False), f("rate", F64, False),
            f("file", S), f("line", I64)),
    key=("base", "quote", "date"),
    valid_time=("date",),
    write_mode="versioned",
    compare=("base", "quote", "date", "rate"),
    encodings={"date": _DELTA},
)

PRICE_LISTINGS = Dataset(
    name="price_listings",
    description="Listings that prices were delivered for, as the price sources named them: the listing they "
                "resolved to, or a provisional listing (flagged listing.provisional) when the master has none.",
    fields=(
        f("listing_id", S, False), f("symbol", S, False), f("ticker", S), f("mic", S), f("country", S),
        f("currency", S), f("calendar", S), f("provisional", pa.bool_(), False), f("name", S), f("flags", S),
    ),
    key=("listing_id", "symbol"),
    write_mode="insert",
)

PRICE_DISAGREEMENTS = Dataset(
    name="price_disagreements",
    description="Two sources that delivered the same listing and date and disagree beyond tolerance.",
    fields=(
        f("listing_id", S, False), f("date", D, False), f("field", S, False),
        f("source_a", S, False), f("value_a", F64), f("basis_a", S),
        f("source_b", S, False), f("value_b", F64), f("basis_b", S),
        f("compared", S), f("rel_diff", F64),
    ),
    key=("listing_id", "date", "field", "source_a", "source_b"),
    valid_time=("date",),
    column_docs={"compared": "levels (same basis) or returns (different bases: close-to-close returns)"},
)

PRICE_DATASETS: tuple[Dataset, ...] = (BARS_DAILY, CORPORATE_ACTIONS, FX_RATES, PRICE_LISTINGS, PRICE_DISAGREEMENTS)
