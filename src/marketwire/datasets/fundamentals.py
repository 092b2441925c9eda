"""Fundamentals and estimates: SEC filings, XBRL facts as reported (point in time), estimates and consensus.

Facts are stored exactly as each filing reported them, one record per (issuer, taxonomy, tag, unit, period,
dimensions, accession). The filing date is the knowledge time (``knowledge_from="filed"``): a read ``as_of`` a date
sees only what had been filed by then, a later filing (a restatement, a 10-K/A) adds a new record under its own
accession and never rewrites an earlier one. Standardised statements are derived on read from these facts through
the mapping table (``marketwire/fundamentals/mapping.csv``).
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


SEC_FILINGS = Dataset(
    name="sec_filings",
    description="SEC filings of an issuer: accession, form, filing and acceptance times, report period, amendments.",
    fields=(
        f("cik", I64, False), f("accession", S, False), f("form", S), f("filed", D, False),
        f("accepted", pa.timestamp("us", tz="UTC")), f("report_date", D), f("fy", pa.int16()), f("fp", S),
        f("amends", pa.bool_()), f("primary_document", S), f("is_xbrl", pa.bool_()), f("name", S),
        f("file", S), f("line", I64), f("flags", S),
    ),
    key=("cik", "accession"),
    valid_time=("report_date",),
    write_mode="insert",
    knowledge_from="filed",
    column_docs={
        "amends": "true for an amendment (10-K/A, 10-Q/A ...): it supersedes the amended values from its filing "
                  "time only",
        "accepted": "EDGAR acceptance time (UTC) where the source gives it",
    },
)

SEC_FACTS = Dataset(
    name="sec_facts",
    description="XBRL facts as each filing reported them (us-gaap, ifrs-full, dei ...), versioned by filing date.",
    fields=(
        f("cik", I64, False), f("issuer_id", S), f("taxonomy", S, False), f("tag", S, False), f("unit", S, False),
        f("start", D), f("end", D, False), f("period", S, False), f("dims", S, False), f("value", F64, False),
        f("fy", pa.int16()), f("fp", S), f("form", S), f("accession", S, False), f("filed", D, False),
        f("frame", S), f("file", S), f("line", I64), f("flags", S),
    ),
    key=("cik", "taxonomy", "tag", "unit", "period", "dims", "accession"),
    valid_time=("start", "end"),
    write_mode="insert",
    knowledge_from="filed",
    encodings={"line": "DELTA_BINARY_PACKED"},
    column_docs={
        "period": "start..end for a duration, @end for an instant (the key form of the period)",
        "dims": "dimension members as axis=member;... (empty: the consolidated entity)",
        "fy": "the fiscal year of the filing that reported the fact, as the source says (not of the period)",
        "fp": "the fiscal period of the filing (FY, Q1..Q4), as the source says",
        "filed": "filing date: the knowledge time of the fact",
        "issuer_id": "the issuer the identity service resolved the CIK to at ingest (null when the master has none)",
        "flags": "comma-separated codes of the flag rules the fact raised (null when clean)",
    },
)

SEC_FSDS_FACTS = Dataset(
    name="sec_fsds_facts",
    description="Numbers of the SEC Financial Statement Data Sets (num joined to sub), in the data sets' own shape: "
                "a period is its end and its length in quarters.",
    fields=(
        f("cik", I64, False), f("accession", S, False), f("taxonomy", S), f("tag", S, False), f("version", S),
        f("unit", S, False), f("end", D, False), f("qtrs", pa.int16(), False), f("segments", S, False),
        f("coreg", S, False), f("value", F64, False), f("form", S), f("fy", pa.int16()), f("fp", S),
        f("filed", D, False), f("superseded", pa.bool_()), f("name", S), f("file", S), f("line", I64),
    ),
    key=("accession", "tag", "version", "end", "qtrs", "unit", "segments", "coreg"),
    valid_time=("end",),
    write_mode="insert",
    knowledge_from="filed",
    encodings={"line": "DELTA_BINARY_PACKED"},
    column_docs={"qtrs": "length of the period in quarters (0: an instant)",
                 "superseded": "sub.prevrpt: a later filing amended or superseded this one",
                 "segments": "the data sets' axis=member; list (empty: the consolidated entity)"},
)

ESTIMATES = Dataset(
    name="estimates",
    description="Analyst estimates by contributor (where a source names one) for a metric and fiscal period.",
    fields=(
        f("symbol", S, False), f("issuer_id", S), f("metric", S, False), f("period_end", D, False),
        f("fiscal_period", S, False), f("contributor", S, False), f("value", F64, False), f("currency", S),
        f("as_of", D, False), f("file", S), f("line", I64), f("flags", S),
    ),
    key=("symbol", "metric", "period_end", "fiscal_period", "contributor", "as_of"),
    write_mode="insert",
    knowledge_from="as_of",
)

CONSENSUS = Dataset(
    name="consensus",
    description="Consensus estimates (mean, median, high, low, count, std) by metric and fiscal period, with the "
                "date the consensus was known, and the reported actual where the source has it.",
    fields=(
        f("symbol", S, False), f("issuer_id", S), f("metric", S, False), f("period_end", D, False),
        f("fiscal_period", S, False), f("mean", F64), f("median", F64), f("high", F64), f("low", F64),
        f("count", I64), f("std", F64), f("actual", F64), f("report_date", D), f("currency", S),
        f("as_of", D, False), f("file", S), f("line", I64), f("flags", S),
    ),
    key=("symbol", "metric", "period_end", "fiscal_period", "as_of"),
    write_mode="insert",
    knowledge_from="as_of",
    column_docs={
        "as_of": "when the consensus was known (the source's revision date); the knowledge time",
        "actual": "the reported value (known from report_date, not before)",
        "fiscal_period": "FY, or Q1..Q4",
    },
)

FUNDAMENTALS_DATASETS: tuple[Dataset, ...] = (SEC_FILINGS, SEC_FACTS, SEC_FSDS_FACTS, ESTIMATES, CONSENSUS)
