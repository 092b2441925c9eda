"""Reference data: the securities master in three levels (issuer, security, listing) and its context.

Observations (``ref_observations``, ``index_observations``) are what each source said on a date, kept as
delivered. The master tables (issuers, securities, listings, identifiers, index_membership) are derived from all
observations by :mod:`marketwire.identity.build`; they are appended only where a derived record changed, so
their history is bitemporal too.
"""

from __future__ import annotations

import pyarrow as pa

from marketwire.datasets.base import Dataset

S = pa.string()
D = pa.date32()
TS = pa.timestamp("us", tz="UTC")
FLAGS = pa.list_(pa.string())


def f(name: str, typ: pa.DataType, nullable: bool = True) -> pa.Field:
    return pa.field(name, typ, nullable=nullable)


REF_OBSERVATIONS = Dataset(
    name="ref_observations",
    description="One listing-level record as a reference source delivered it on a snapshot date.",
    fields=(
        f("feed", S, False), f("snapshot_date", D, False), f("record_hash", S, False),
        f("ticker", S), f("mic", S), f("name", S), f("security_name", S), f("type", S),
        f("currency", S), f("country", S), f("isin", S), f("cusip", S), f("figi", S),
        f("composite_figi", S), f("shareclass_figi", S), f("cik", S), f("lei", S),
        f("sector", S), f("industry", S), f("aliases", FLAGS), f("delisted", pa.bool_()),
        f("complete", pa.bool_()), f("file", S), f("line", pa.int64()), f("flags", FLAGS),
        f("retracted", pa.bool_()), f("market_cap", S),
    ),
    key=("feed", "snapshot_date", "record_hash"),
    valid_time=("snapshot_date",),
    write_mode="snapshot",
    scope=("feed", "snapshot_date", "file"),
    knowledge_from="snapshot_date",
    column_docs={
        "feed": "the directory the record came from (a snapshot series, e.g. nasdaqtrader:nasdaqlisted)",
        "complete": "true when the feed is a complete directory, so absence in a later snapshot means delisted",
        "aliases": "other spellings of the ticker (ACT, CQS, Nasdaq integrated, Yahoo)",
        "market_cap": "the size class the source gives the company (FinanceDatabase: Mega, Large, Mid, Small, Micro, "
                      "Nano Cap); the news linker reads it as notability",
    },
)

INDEX_OBSERVATIONS = Dataset(
    name="index_observations",
    description="One constituent of an index as a source listed it on a snapshot date.",
    fields=(
        f("index", S, False), f("snapshot_date", D, False), f("ticker", S, False), f("name", S),
        f("cik", S), f("sector", S), f("date_added", D), f("record_hash", S, False),
        f("file", S), f("line", pa.int64()), f("retracted", pa.bool_()),
    ),
    key=("index", "snapshot_date", "record_hash"),
    valid_time=("snapshot_date",),
    write_mode="snapshot",
    scope=("index", "snapshot_date", "file"),
    knowledge_from="snapshot_date",
)

QUARANTINE = Dataset(
    name="quarantine",
    description="Records a rule refused, with the rule code, the field, the raw value and the raw record.",
    fields=(
        f("dataset", S, False), f("rule", S, False), f("field", S), f("value", S), f("message", S),
        f("file", S), f("line", pa.int64()), f("raw", S), f("record_hash", S, False),
    ),
    key=("source", "dataset", "record_hash", "rule"),
    write_mode="insert",
    row_group_rows=65_536,  # read by pages: the first page decompresses one small group of the wide columns
)

ISSUERS = Dataset(
    name="issuers",
    description="Companies, funds and governments that issue securities.",
    fields=(
        f("issuer_id", S, False), f("name", S), f("country", S), f("cik", S), f("lei", S),
        f("sector", S), f("industry", S), f("valid_from", D), f("valid_to", D),
        f("retracted", pa.bool_()),
    ),
    key=("issuer_id",),
    write_mode="derived",
    valid_time=("valid_from", "valid_to"),
)

SECURITIES = Dataset(
    name="securities",
    description="Instruments / share lines (one ISIN), each of one issuer.",
    fields=(
        f("security_id", S, False), f("issuer_id", S, False), f("name", S), f("type", S),
        f("status", S), f("isin", S), f("cusip", S), f("shareclass_figi", S), f("country", S),
        f("valid_from", D), f("valid_to", D),
        f("retracted", pa.bool_()),
    ),
    key=("security_id",),
    write_mode="derived",
    valid_time=("valid_from", "valid_to"),
)

LISTINGS = Dataset(
    name="listings",
    description="A security on one venue (MIC) in one currency; prices belong to listings.",
    fields=(
        f("listing_id", S, False), f("security_id", S, False), f("ticker", S), f("mic", S),
        f("currency", S), f("name", S), f("status", S), f("valid_from", D), f("valid_to", D),
        f("first_seen", D), f("last_seen", D), f("provisional", pa.bool_()),
        f("retracted", pa.bool_()),
    ),
    key=("listing_id",),
    write_mode="derived",
    valid_time=("valid_from", "valid_to"),
    column_docs={"valid_to": "first snapshot date at which the listing was known to be gone (exclusive)"},
)

IDENTIFIERS = Dataset(
    name="identifiers",
    description="Dated identifiers of issuers, securities and listings (ticker@MIC, ISIN, CUSIP, FIGI, CIK...).",
    fields=(
        f("entity_kind", S, False), f("entity_id", S, False), f("scheme", S, False), f("value", S, False),
        f("valid_from", D), f("valid_to", D), f("flags", FLAGS),
        f("retracted", pa.bool_()),
    ),
    key=("entity_id", "scheme", "value", "valid_from"),
    write_mode="derived",
    valid_time=("valid_from", "valid_to"),
)

INDEX_MEMBERSHIP = Dataset(
    name="index_membership",
    description="Point-in-time index constituents.",
    fields=(
        f("index", S, False), f("ticker", S, False), f("listing_id", S), f("name", S),
        f("valid_from", D, False), f("valid_to", D),
        f("retracted", pa.bool_()),
    ),
    key=("index", "ticker", "valid_from"),
    write_mode="derived",
    valid_time=("valid_from", "valid_to"),
)

REF_FLAGS = Dataset(
    name="ref_flags",
    description="Suspect reference data: records stored, but flagged by a consistency rule.",
    fields=(
        f("entity_kind", S, False), f("entity_id", S, False), f("rule", S, False), f("field", S),
        f("value", S), f("message", S),
        f("retracted", pa.bool_()),
    ),
    key=("entity_id", "rule", "value"),
    write_mode="derived",
)

EXCHANGES = Dataset(
    name="exchanges",
    description="ISO 10383 market identifier codes, with time zone and calendar where exchange_calendars has one.",
    fields=(
        f("mic", S, False), f("operating_mic", S), f("segment", S), f("name", S), f("acronym", S),
        f("country", S), f("city", S), f("status", S), f("timezone", S), f("calendar", S),
        f("record_hash", S, False),
    ),
    key=("mic",),
    write_mode="versioned",
)

CURRENCIES = Dataset(
    name="currencies",
    description="ISO 4217 currencies with minor units and the countries that use them.",
    fields=(
        f("code", S, False), f("numeric", S), f("name", S), f("minor_units", pa.int32()),
        f("countries", FLAGS), f("record_hash", S, False),
    ),
    key=("code",),
    write_mode="versioned",
)

COUNTRIES = Dataset(
    name="countries",
    description="ISO 3166-1 countries.",
    fields=(
        f("alpha2", S, False), f("alpha3", S), f("numeric", S), f("name", S), f("official_name", S),
        f("record_hash", S, False),
    ),
    key=("alpha2",),
    write_mode="versioned",
)

ID_REGISTRY = Dataset(
    name="id_registry",
    description="Permanent ids: every natural key that evidences an entity, and the id minted for it.",
    fields=(f("kind", S, False), f("key", S, False), f("id", S, False)),
    key=("kind", "key"),
)

LISTING_MERGES = Dataset(
    name="listing_merges",
    description="Decisions to join one listing id into another (a provisional listing of a price source into a "
                "listing of the master), with the evidence weighed: joined, refused, or a join reversed.",
    fields=(f("old_id", S, False), f("new_id", S, False), f("action", S, False), f("direction", S),
            f("reason", S), f("evidence", S)),
    key=("old_id", "new_id", "action"),
    write_mode="insert",
)

REFERENCE_DATASETS: tuple[Dataset, ...] = (
    REF_OBSERVATIONS, INDEX_OBSERVATIONS, QUARANTINE, ISSUERS, SECURITIES, LISTINGS, IDENTIFIERS,
    INDEX_MEMBERSHIP, REF_FLAGS, EXCHANGES, CURRENCIES, COUNTRIES, ID_REGISTRY, LISTING_MERGES,
)
MASTER_DATASETS = (ISSUERS, SECURITIES, LISTINGS, IDENTIFIERS, INDEX_MEMBERSHIP, REF_FLAGS)
