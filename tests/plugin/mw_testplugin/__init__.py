"""A marketwire plugin: daily weather observations per station (``weather_obs``), read from CSV files.

Everything here goes through the plugin seam (``marketwire.plugins`` entry point -> :func:`register`); nothing in
marketwire knows about weather. The parts are the ones every dataset has:

- the **declaration** (:data:`WEATHER_OBS`): columns, key ``(station, date)``, write mode ``versioned`` (an identical
  re-delivery adds nothing, a corrected temperature is a new version of the key);
- the **source** (:class:`WeatherCsv`): ``transform`` maps a CSV (``station,date,temperature_c``) onto the dataset,
  each record with its file and line; a value it cannot read is refused there (``weather.unparseable``);
- the **rules** (:data:`RULES`) and a **verifier** (:func:`implausible_temperature`) the engine runs on every record
  of the dataset: below -90 or above 60 degrees Celsius the record goes to the quarantine with the raw row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from marketwire.datasets.base import Dataset
from marketwire.errors import InvalidInput
from marketwire.sources.base import Batch, Query, RawFile, Refusal, Source, read_csv
from marketwire.timeparse import parse_day
from marketwire.verify.registry import VerifyContext
from marketwire.verify.rules import Rule

DATASET = "weather_obs"
#: the plausible range of a surface air temperature, in degrees Celsius (records: -89.2 at Vostok, 56.7 in Death
#: Valley); both bounds are plausible, anything beyond is refused
MIN_C, MAX_C = -90.0, 60.0

WEATHER_OBS = Dataset(
    name=DATASET,
    fields=(
        pa.field("station", pa.string(), nullable=False),
        pa.field("date", pa.date32(), nullable=False),
        pa.field("temperature_c", pa.float64()),
        pa.field("file", pa.string()),
        pa.field("line", pa.int64()),
    ),
    key=("station", "date"),
    description="Daily mean air temperature per weather station (test plugin).",
    valid_time=("date",),
    write_mode="versioned",
    column_docs={"station": "station code as the file writes it", "date": "observation day (YYYY-MM-DD)",
                 "temperature_c": "daily mean air temperature, degrees Celsius",
                 "file": "the file the record came from", "line": "its line in the file"},
)

RULES = (
    Rule("weather.unparseable", "reject", DATASET,
         "A weather row without a station, or whose date or temperature is not a date or a number (the field is "
         "named)."),
    Rule("weather.implausible_temperature", "reject", DATASET,
         f"A temperature below {MIN_C:g} or above {MAX_C:g} degrees Celsius (beyond the records on Earth)."),
)

#: the raw row travels with the record (not a column of the dataset: the write stage drops it) for the quarantine
RAW = "_raw"


class WeatherCsv(Source):
    name = "weather-csv"
    dataset = DATASET
    url = ""  # files only: there is no public endpoint behind this test source
    description = "Daily station temperatures from CSV files (station,date,temperature_c) - test plugin"

    def transform(self, query: Query, raw: RawFile) -> Batch:
        _, rows = read_csv(raw, required=("station", "date", "temperature_c"))
        batch = Batch(self.dataset)
        for line, row in rows:
            rec, refusal = _record(raw.name, line, row)
            if refusal is not None:
                batch.refusals.append(refusal)
            else:
                batch.records.append(rec)
        return batch


def _record(file: str, line: int, row: dict[str, str]) -> tuple[dict[str, Any], Refusal | None]:
    def refuse(field: str, why: str) -> tuple[dict[str, Any], Refusal]:
        return {}, Refusal("weather.unparseable", why, file, line, row, field=field, value=row.get(field),
                           dataset=DATASET)

    station = (row.get("station") or "").strip()
    if not station:
        return refuse("station", "no station")
    try:
        day = parse_day(row.get("date") or "", "date")
    except InvalidInput as e:
        return refuse("date", e.message)
    if day is None:
        return refuse("date", "no date")
    text = (row.get("temperature_c") or "").strip()
    try:
        temp = float(text)
    except ValueError:
        return refuse("temperature_c", f"temperature_c {text!r} is not a number")
    if temp != temp or temp in (float("inf"), float("-inf")):
        return refuse("temperature_c", f"temperature_c {text!r} is not a finite number")
    return {"station": station, "date": day, "temperature_c": temp, "file": file, "line": line, RAW: row}, None


def implausible_temperature(record: dict[str, Any], ctx: VerifyContext) -> Iterator[Refusal]:
    t = record.get("temperature_c")
    if t is not None and (t < MIN_C or t > MAX_C):
        raw = record.get(RAW) or {k: v for k, v in record.items() if k != RAW}
        yield Refusal("weather.implausible_temperature",
                      f"temperature_c {t:g} is outside [{MIN_C:g}, {MAX_C:g}] degrees Celsius",
                      record.get("file"), record.get("line"), raw, field="temperature_c",
                      value=str(raw.get("temperature_c", t)), dataset=ctx.dataset)


def register(api: Any) -> None:
    """The entry point (group ``marketwire.plugins``): what this plugin adds."""
    api.dataset(WEATHER_OBS)
    api.source(WeatherCsv.name, WeatherCsv)
    for rule in RULES:
        api.rule(rule)
    api.verifier(DATASET, implausible_temperature)
