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


@dataclass(frozen=True)
class Dataset:
    """A canonical dataset.

    ``key`` identifies one fact; several records with the same key are versions of that fact told apart by
    ``knowledge_time``. ``valid_time`` names the columns giving when the fact was true in the world.
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
