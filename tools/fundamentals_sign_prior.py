#!/usr/bin/env python
"""Build ``src/marketwire/fundamentals/sign_prior.csv``: how often each us-gaap tag is negative across companies, from
quarters of the SEC Financial Statement Data Sets (``num.txt``: every number of every XBRL filing of a quarter).

Only standard-taxonomy tags (version ``us-gaap/...``), only values of the whole entity (no segments, no co-registrant)
and only non-zero values are counted. The fact rules (:mod:`marketwire.fundamentals.verify`) read the table as a
sign expectation: a tag that many companies report and (almost) none report negative cannot be negative.

    python tools/fundamentals_sign_prior.py $MARKETWIRE_DATA/fundamentals/sec_fsds/*.zip
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import polars as pl

OUT = Path(__file__).resolve().parents[1] / "src" / "marketwire" / "fundamentals" / "sign_prior.csv"


def _table(z: zipfile.ZipFile, name: str) -> pl.DataFrame:
    return pl.read_csv(io.BytesIO(z.read(name)), separator="\t", quote_char=None, infer_schema=False,
                       truncate_ragged_lines=True, encoding="utf8-lossy")


def build(zips: list[Path]) -> pl.DataFrame:
    frames = []
    for p in zips:
        with zipfile.ZipFile(p) as z:
            sub = _table(z, "sub.txt").select("adsh", "cik")
            num = _table(z, "num.txt")
        frames.append(num.join(sub, on="adsh", how="inner").select("cik", "tag", "version", "segments", "coreg",
                                                                    "value"))
    n = pl.concat(frames).with_columns(pl.col("value").cast(pl.Float64, strict=False))
    n = n.filter(pl.col("version").str.starts_with("us-gaap/") & pl.col("segments").fill_null("").eq("")
                 & pl.col("coreg").fill_null("").eq("") & pl.col("value").is_not_null() & (pl.col("value") != 0))
    return (n.group_by("tag").agg(pl.col("cik").n_unique().alias("companies"),
                                  pl.col("cik").filter(pl.col("value") < 0).n_unique().alias("negative_companies"),
                                  pl.len().alias("facts"), (pl.col("value") < 0).sum().alias("negative_facts"))
            .with_columns(pl.lit("us-gaap").alias("taxonomy"))
            .select("taxonomy", "tag", "companies", "negative_companies", "facts", "negative_facts").sort("tag"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("zips", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    t = build(a.zips)
    t.write_csv(a.out)
    print(f"{a.out}: {t.height} tags from {', '.join(z.name for z in a.zips)}")


if __name__ == "__main__":
    main()
