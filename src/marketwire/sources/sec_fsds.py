"""SEC Financial Statement Data Sets: every number of every XBRL filing of a quarter, as four tab-separated tables
(``sub`` submissions, ``num`` numbers, ``pre`` presentation, ``tag`` tags) in one zip per quarter.

Real endpoint: ``https://www.sec.gov/files/dera/data/financial-statement-data-sets/2009q3.zip``. The reading is
columnar (Polars over ``num.txt`` joined to ``sub.txt``): no Python per row. ``num`` rows go to ``sec_fsds_facts``
in the data sets' own shape: the data sets give a period as its end (``ddate``) and its length in quarters
(``qtrs``), not its start, so they are kept apart from the company facts (whose periods have exact starts) and
compared with them by tag, unit, end and length (``marketwire fundamentals crosscheck``).

A row whose value, date or length cannot be read is quarantined (``fsds.malformed``); a zip without ``sub.txt`` and
``num.txt`` is an error naming the file.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import polars as pl

from marketwire.errors import ParseError
from marketwire.sources.base import FrameBatch, Query, RawFile, Refusal, Source

NUM_COLUMNS = ("adsh", "tag", "version", "ddate", "qtrs", "uom", "segments", "coreg", "value", "footnote")
SUB_COLUMNS = ("adsh", "cik", "name", "form", "period", "fy", "fp", "filed", "accepted", "prevrpt")


def _table(z: zipfile.ZipFile, name: str, raw: RawFile, required: tuple[str, ...]) -> pl.DataFrame:
    try:
        data = z.read(name)
    except KeyError:
        raise ParseError(f"{raw.name}: the archive has no {name} (a Financial Statement Data Set has sub.txt, "
                         "num.txt, pre.txt and tag.txt)", file=raw.name, column=name) from None
    df = pl.read_csv(io.BytesIO(data), separator="\t", quote_char=None, infer_schema=False,
                     truncate_ragged_lines=True, encoding="utf8-lossy")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ParseError(f"{raw.name}!{name}: line 1: missing column {missing[0]!r}", file=raw.name, line=1,
                         column=missing[0])
    return df


class SecFsds(Source):
    name = "sec-fsds"
    dataset = "sec_fsds_facts"
    url = "https://www.sec.gov/files/dera/data/financial-statement-data-sets/2009q3.zip"
    description = "SEC Financial Statement Data Sets (sub, num, pre, tag) per quarter"

    def payloads(self, location: str) -> Iterator[RawFile]:
        yield self.read(location)

    def transform(self, query: Query, raw: RawFile) -> FrameBatch:
        try:
            z = zipfile.ZipFile(io.BytesIO(raw.data))
        except zipfile.BadZipFile as e:
            raise ParseError(f"{raw.name}: byte 0: not a zip archive ({e}); expected a quarter of the Financial "
                             "Statement Data Sets", file=raw.name, line=1) from e
        with z:
            sub = _table(z, "sub.txt", raw, SUB_COLUMNS)
            num = _table(z, "num.txt", raw, NUM_COLUMNS)
        sub = sub.select(
            "adsh", pl.col("cik").cast(pl.Int64, strict=False), "name", "form",
            pl.col("fy").cast(pl.Int16, strict=False), "fp",
            pl.col("filed").str.to_date("%Y%m%d", strict=False).alias("filed"),
            pl.col("prevrpt").cast(pl.Int8, strict=False).cast(pl.Boolean).alias("superseded"))
        n = num.with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64))
        n = n.with_columns(
            pl.col("ddate").str.to_date("%Y%m%d", strict=False).alias("end"),
            pl.col("qtrs").cast(pl.Int16, strict=False).alias("qtrs_n"),
            pl.col("value").cast(pl.Float64, strict=False).alias("value_n"))
        bad = n.filter(pl.col("end").is_null() | pl.col("qtrs_n").is_null()
                       | (pl.col("value_n").is_null() & pl.col("value").is_not_null() & (pl.col("value") != "")))
        refusals = [Refusal("fsds.malformed", f"{r['adsh']} {r['tag']}: ddate {r['ddate']!r}, qtrs {r['qtrs']!r} or "
                            f"value {r['value']!r} cannot be read", f"{raw.name}!num.txt", r["line"],
                            {k: r[k] for k in NUM_COLUMNS}, field="value", value=r["value"], dataset="sec_fsds_facts")
                    for r in bad.iter_rows(named=True)]
        nil = n.filter(pl.col("end").is_not_null() & pl.col("qtrs_n").is_not_null()
                       & (pl.col("value").is_null() | (pl.col("value") == "")))
        refusals += [Refusal("fsds.nil_value", f"{r['adsh']} {r['tag']}: no value (a nil fact)", f"{raw.name}!num.txt",
                             r["line"], {k: r[k] for k in NUM_COLUMNS}, field="value", dataset="sec_fsds_facts")
                     for r in nil.iter_rows(named=True)]
        ok = n.filter(pl.col("end").is_not_null() & pl.col("qtrs_n").is_not_null() & pl.col("value_n").is_not_null())
        out = ok.join(sub, on="adsh", how="left").select(
            pl.col("cik").fill_null(0), pl.col("adsh").alias("accession"),
            pl.col("version").str.split("/").list.first().alias("taxonomy"), "tag", "version",
            pl.col("uom").alias("unit"), "end", pl.col("qtrs_n").alias("qtrs"),
            pl.col("segments").fill_null(""), pl.col("coreg").fill_null(""), pl.col("value_n").alias("value"),
            "form", "fy", "fp", pl.col("filed"), "superseded", "name",
            pl.lit(raw.name).alias("file"), "line")
        out = out.with_columns(pl.col("filed").fill_null(pl.col("end")))
        return FrameBatch(self.dataset, out, refusals=refusals, meta={"file": raw.name, "rows": num.height})
