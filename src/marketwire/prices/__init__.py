"""Daily prices: verification rules, ingest, adjustment on read, the read cache and quality reports."""
