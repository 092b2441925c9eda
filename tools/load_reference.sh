#!/usr/bin/env bash
# Load every reference source marketwire has into the lake at $MARKETWIRE_HOME (or --home).
# With a local copy of the public files (MARKETWIRE_DATA, default ../shared/data), read them from there;
# without one, each source downloads its public endpoint.
set -euo pipefail
MW=${MW:-marketwire}
DATA=${MARKETWIRE_DATA:-}
if [ -z "$DATA" ] || [ ! -d "$DATA/securities_master" ]; then  # else the nearest shared/data beside or above
  d=$(pwd)
  while [ "$d" != "/" ]; do d=$(dirname "$d"); [ -d "$d/shared/data/securities_master" ] && { DATA="$d/shared/data"; break; }; done
fi
SM="$DATA/securities_master"
if [ -d "$SM" ]; then
  $MW ingest mic "$SM"/ISO10383_MIC_*.csv
  $MW ingest iso3166 "$SM"/iso3166-1_*.json
  $MW ingest iso4217 "$SM"/iso4217_*.xml
  $MW ingest --no-rebuild nasdaqtrader "$SM"/nasdaq-listed-symbols_2015-01-10.csv "$SM"/nasdaqtrader-other-listed_2015-01-10.csv
  $MW ingest --no-rebuild nasdaqtrader "$SM"/nasdaq-listed-symbols_2026-08-01.csv "$SM"/nasdaqtrader-other-listed_2026-08-22.csv \
    "$SM"/nyse-listed_2026-08-22.csv
  # FinanceDatabase files carry no date: the snapshot is the repository commit they were taken from
  $MW ingest --no-rebuild financedatabase "$SM"/financedatabase --as-of 2026-08-16
  $MW ingest --no-rebuild sec-tickers "$SM"/sec_company_tickers.json --as-of 2026-08-16
  $MW ingest --no-rebuild sp500-constituents "$SM"/sp500-constituents-history/*.csv "$SM"/sp500-constituents_*.csv
  $MW rebuild
  PX="$DATA/prices"
  if [ -d "$PX" ]; then  # daily prices, the corporate-action ledger and FX rates, attached to the master's listings
    $MW ingest ecb-fx "$PX"/ecb_eurofxref-hist_*.csv
    $MW ingest prices-csv "$PX"/huge_stock_market_dataset/Stocks "$PX"/huge_stock_market_dataset/ETFs --preset kaggle
    $MW ingest prices-csv "$PX"/zipline_samples/QUANDL_WIKI_SAMPLE_TABLE_2014.csv --preset quandl-wiki
    $MW ingest prices-csv "$PX"/zipline_samples/csvdir_daily_*.csv --preset zipline-csvdir
  fi
else
  echo "no local data at $SM: loading from the public sources" >&2
  for s in mic iso3166 iso4217 nasdaqtrader financedatabase sec-tickers sp500-constituents; do $MW ingest "$s"; done
fi
$MW flags --summary
