"""The declaration every dataset shares: schema, key, write mode, partitioning, description."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

#: Provenance carried by every record of every dataset.
COMMON_FIELDS: tuple[pa.Field, ...] = (
    pa.field("knowledge_time", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("ingest_id", pa.string(), nullable=False),
)


#: How the ingest engine writes a delivery (``Dataset.write_mode``):
WRITE_MODES = {
    "append": "every record is appended (a log; nothing is compared)",
    "insert": "a record whose key is live already is unchanged; only new keys are appended",
    "versioned": "a record is appended when its key is new or its content (``compare`` columns) differs from the "
                 "latest version of the key: a correction is a new version, an identical re-delivery adds nothing",
    "snapshot": "insert, and live records of the same scope (``scope``: the series, the snapshot date, the file) "
                "that the new reading no longer holds are retracted: a re-read file replaces its earlier reading",
    "derived": "the delivery is the whole new state: changed records are appended, records whose key is gone "
               "are retracted (derived tables such as the securities master)",
}
#: Provenance columns never compared as content
PROVENANCE = ("knowledge_time", "ingested_at", "source", "ingest_id")


@dataclass(frozen=True)
class Dataset:
    """A canonical dataset.

    ``key`` identifies one fact; several records with the same key are versions of that fact told apart by
    ``knowledge_time``. ``valid_time`` names the columns giving when the fact was true in the world.

    The ingest engine obeys the declaration: ``write_mode`` (:data:`WRITE_MODES`), ``compare`` (the content
    columns of ``versioned``; default every column but provenance, ``file`` and ``line``), ``scope`` (of
    ``snapshot``; a ``file`` column in a scope is compared by file name), ``knowledge_from`` (a date column that
    gives each record its knowledge time, e.g. a snapshot date; default the delivery's time) and
    ``partition_by`` (partitions written, and pruned when a delivery is compared with what is stored).
    """

    name: str
    fields: tuple[pa.Field, ...]
    key: tuple[str, ...]
    description: str
    valid_time: tuple[str, ...] = ()
    write_mode: str = "append"
    partition_by: tuple[str, ...] = ()
    column_docs: dict[str, str] = field(default_factory=dict)
    #: Parquet encodings per column (e.g. DELTA_BINARY_PACKED for sorted integers); dictionary otherwise
    encodings: dict[str, str] = field(default_factory=dict)
    #: the most rows in one Parquet row group (None: the writer's default, about a million): smaller groups make a
    #: page read (LIMIT n) decompress less of a table read by pages, such as the quarantine
    row_group_rows: int | None = None
    #: the zstd level of its Parquet files: 3, or 1 for a table written in bulk, whose writes are on the ingest's
    #: critical path (the price bars: 15% less CPU for 0.3% more bytes)
    zstd_level: int = 3
    compare: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    knowledge_from: str | None = None

    def __post_init__(self) -> None:
        if self.write_mode not in WRITE_MODES:
            raise ValueError(f"dataset {self.name}: write_mode {self.write_mode!r} is not one of "
                             f"{', '.join(WRITE_MODES)}")
        names = {f.name for f in self.fields} | {f.name for f in COMMON_FIELDS}
        for attr in ("key", "compare", "scope", "partition_by"):
            unknown = [c for c in getattr(self, attr) if c not in names]
            if unknown:
                raise ValueError(f"dataset {self.name}: {attr} names unknown column {unknown[0]!r}")
        if self.write_mode == "snapshot" and not self.scope:
            raise ValueError(f"dataset {self.name}: write_mode snapshot needs a scope")

    @property
    def content(self) -> list[str]:
        """The columns that tell two versions of a key apart."""
        if self.compare:
            return list(self.compare)
        return [c for c in self.columns if c not in ("file", "line", "knowledge_time", "ingested_at", "ingest_id")]

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(list(self.fields) + list(COMMON_FIELDS))

    @property
    def columns(self) -> list[str]:
        return self.schema.names

    def conform(self, table: pa.Table) -> pa.Table:
        """Cast ``table`` to the dataset schema; missing nullable columns become nulls."""
        cols = []
        for f in self.schema:
            if f.name in table.column_names:
                cols.append(table.column(f.name).cast(f.type))
            elif f.nullable:
                cols.append(pa.nulls(table.num_rows, f.type))
            else:
                raise ValueError(f"dataset {self.name}: column {f.name!r} is required")
        return pa.Table.from_arrays(cols, schema=self.schema)
