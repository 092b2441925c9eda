"""ESG and climate: company metrics in long form, the raw rows of every source, the links of source entities to the
master's issuers (the review queue is the links waiting for a decision), EU ETS aggregations and disagreements.

A metric belongs to a *source entity* (``entity_id``: a Carbon Gap company, an EU ETS installation, account holder or
parent company, a Net Zero Tracker actor ...); the entity's link (``esg_links``) says which issuer it is. A link
confirmed in the review queue therefore attaches every metric of the entity without rewriting any of them, and a
metric read ``as_of`` a time uses the links known then.
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


ESG_OBSERVATIONS = Dataset(
    name="esg_observations",
    description="Every data row of every ESG source as delivered (the raw cells as JSON), with the entity it "
                "describes and the identifying fields the linker uses.",
    fields=(
        f("record_id", S, False), f("entity_id", S, False), f("kind", S, False), f("name", S), f("country", S),
        f("isin", S), f("lei", S), f("ticker", S), f("sector", S), f("parent", S), f("registration_no", S),
        f("raw", S, False), f("file", S), f("line", I64),
    ),
    key=("record_id", "source"),
    write_mode="versioned",
    compare=("entity_id", "kind", "name", "country", "isin", "lei", "ticker", "sector", "parent",
             "registration_no", "raw"),
    column_docs={
        "record_id": "the source record: <source>:<file stem>:<row key> (a row of a file, a sheet row)",
        "entity_id": "the entity the row describes: <source>:<kind>:<key> (company, installation, facility ...)",
        "raw": "the row's cells as delivered, JSON {column: text}",
    },
)

ESG_METRICS = Dataset(
    name="esg_metrics",
    description="ESG metrics in long form: one value of one catalogued metric (esg/metrics.csv) of one source "
                "entity for one period, with unit, methodology, boundary and citation as the source states them.",
    fields=(
        f("entity_id", S, False), f("metric", S, False), f("period", S, False), f("period_end", D),
        f("value", F64), f("unit", S), f("value_text", S), f("method", S), f("boundary", S), f("citation", S),
        f("record_id", S), f("file", S), f("line", I64), f("flags", S),
    ),
    key=("entity_id", "metric", "period", "source"),
    valid_time=("period_end",),
    write_mode="versioned",
    compare=("value", "unit", "value_text", "method", "boundary", "citation", "flags"),
    encodings={"line": "DELTA_BINARY_PACKED"},
    column_docs={
        "metric": "a code of the catalogue (esg/metrics.csv): scope1, scope2_location, ets_verified ...",
        "period": "the reporting period as the source states it: a year (2019), a fiscal year, a target year",
        "value": "the number in `unit` (null for a categorical metric, which is in value_text)",
        "unit": "the unit as stored: t CO2e, allowance, year, percent, score, USD (an unknown unit is kept as "
                "written and flagged esg.unknown_unit, never converted)",
        "method": "how the value was obtained: reported, verified (EU ETS), aggregate:sum of N installations ...",
        "flags": "comma-separated codes of the flag rules the value raised (null when clean)",
    },
)

ESG_LINKS = Dataset(
    name="esg_links",
    description="The link of each source entity to an issuer of the master, with method, confidence and evidence; "
                "status review: below the threshold, waiting in the review queue (never dropped, never guessed).",
    fields=(
        f("entity_id", S, False), f("status", S, False), f("issuer_id", S), f("security_id", S),
        f("issuer_name", S), f("method", S), f("confidence", F64), f("raw_name", S), f("country", S),
        f("sector", S), f("evidence", S), f("candidates", S),
    ),
    key=("entity_id",),
    write_mode="versioned",
    compare=("status", "issuer_id", "security_id", "method", "confidence", "evidence", "candidates"),
    column_docs={
        "status": "linked (automatic, at or above the threshold), confirmed (by a user), review (waiting), "
                  "not_company (a country, region or city of a target tracker: not linked to the master)",
        "method": "isin, lei, ticker, name, confirmed",
        "evidence": "JSON: the identifiers and names compared, the scores, country agreement",
        "candidates": "JSON list of the best candidates (issuer_id, name, country, score)",
    },
)

ESG_AGGREGATIONS = Dataset(
    name="esg_aggregations",
    description="EU ETS installations aggregated to their account holder and parent company: one record per "
                "(group, member) with the level; the aggregate metrics name it in their method.",
    fields=(f("group_id", S, False), f("member_id", S, False), f("level", S, False), f("name", S)),
    key=("group_id", "member_id"),
    write_mode="versioned",
)

ESG_DISAGREEMENTS = Dataset(
    name="esg_disagreements",
    description="Two sources that state the same metric of the same issuer for the same period and differ beyond "
                "the tolerance; both values are kept in esg_metrics.",
    fields=(
        f("issuer_id", S, False), f("metric", S, False), f("period", S, False),
        f("entity_a", S, False), f("source_a", S, False), f("value_a", F64),
        f("entity_b", S, False), f("source_b", S, False), f("value_b", F64), f("rel_diff", F64),
    ),
    key=("issuer_id", "metric", "period", "entity_a", "entity_b"),
    write_mode="versioned",
)

ESG_DATASETS: tuple[Dataset, ...] = (ESG_OBSERVATIONS, ESG_METRICS, ESG_LINKS, ESG_AGGREGATIONS, ESG_DISAGREEMENTS)
