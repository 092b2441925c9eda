"""The SDK takes the natural pandas and Python date values everywhere, and refuses anything else naming the
parameter: timeparse for every date parameter, and the date column of a frame given to ``mw.ingest_bars``."""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pytest

from marketwire.errors import InvalidInput
from marketwire.serve.facade import Marketwire
from marketwire.timeparse import parse_day, parse_instant

pytestmark = pytest.mark.unit

UTC = timezone.utc


@pytest.mark.parametrize("value, day, since, until", [
    ("2024-01-31", date(2024, 1, 31), datetime(2024, 1, 31, tzinfo=UTC), datetime(2024, 1, 31, 23, 59, 59, 999999, UTC)),
    (date(2024, 1, 31), date(2024, 1, 31), datetime(2024, 1, 31, tzinfo=UTC),
     datetime(2024, 1, 31, 23, 59, 59, 999999, UTC)),
    (pd.Timestamp("2024-01-31 15:30"), date(2024, 1, 31), datetime(2024, 1, 31, 15, 30, tzinfo=UTC),
     datetime(2024, 1, 31, 15, 30, tzinfo=UTC)),
    # 23:30 in New York is the next day in UTC
    (pd.Timestamp("2024-01-31 23:30", tz="America/New_York"), date(2024, 2, 1), datetime(2024, 2, 1, 4, 30, tzinfo=UTC),
     datetime(2024, 2, 1, 4, 30, tzinfo=UTC)),
    (np.datetime64("2024-01-31"), date(2024, 1, 31), datetime(2024, 1, 31, tzinfo=UTC),
     datetime(2024, 1, 31, 23, 59, 59, 999999, UTC)),
    (np.datetime64("2024-01-31T15:30:00.123456789"), date(2024, 1, 31),
     datetime(2024, 1, 31, 15, 30, 0, 123456, UTC), datetime(2024, 1, 31, 15, 30, 0, 123456, UTC)),
    (pd.Series(pd.to_datetime(["2024-01-31"])).values[0], date(2024, 1, 31), datetime(2024, 1, 31, tzinfo=UTC),
     datetime(2024, 1, 31, tzinfo=UTC)),  # a datetime64[ns] from a frame is an instant (midnight)
])
def test_natural_date_values(value: object, day: date, since: datetime, until: datetime) -> None:
    assert parse_day(value, "start") == day
    assert parse_instant(value, "since") == since
    assert parse_instant(value, "until") == until


@pytest.mark.parametrize("missing", [None, "", pd.NaT, np.datetime64("NaT")])
def test_missing_values_are_none(missing: object) -> None:
    assert parse_day(missing, "start") is None and parse_instant(missing, "as_of") is None


@pytest.mark.parametrize("bad, kind", [(20240131, "int"), (3.5, "float"), (["2024-01-31"], "list"),
                                       (pd.Period("2024-01"), "Period")])
def test_other_types_are_refused_naming_the_parameter_and_type(bad: object, kind: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_instant(bad, "since")
    assert e.value.fields["param"] == "since"
    assert e.value.message.startswith("`since`:") and f"is a {kind}," in e.value.message


BARS = {"symbol": ["ABC"] * 3, "open": [1.0, 2.0, 3.0], "high": [1.0, 2.0, 3.0], "low": [1.0, 2.0, 3.0],
        "close": [1.0, 2.0, 3.0], "volume": [10, 10, 10]}


@pytest.fixture()
def mw(tmp_path):  # type: ignore[no-untyped-def]
    return Marketwire(tmp_path / "h")


@pytest.mark.parametrize("dates", [
    ["2024-01-02", "2024-01-03", "2024-01-04"],
    [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)],
    pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"]),
    pd.to_datetime(["2024-01-02 16:00", "2024-01-03 16:00", "2024-01-04 16:00"]).tz_localize("America/New_York"),
])
def test_ingest_bars_takes_the_natural_date_columns(mw: Marketwire, dates: object) -> None:
    rep = mw.ingest_bars(pd.DataFrame({**BARS, "date": dates}), source="mine", mic="XNYS")
    assert rep.accepted == 3
    df = mw.prices("ABC", start=pd.Timestamp("2024-01-03"), end=np.datetime64("2024-01-04"))
    assert [d.date() for d in pd.to_datetime(df["date"])] == [date(2024, 1, 3), date(2024, 1, 4)]
    assert df["close"].tolist() == [2.0, 3.0]


@pytest.mark.parametrize("column, values, says", [
    ("date", ["2024-01-02", "2024-13-01", "2024-01-04"], "row 2, column 'date'"),
    ("date", [1, 2, 3], "column 'date' holds Int64 values"),
    ("close", ["a", "b", "c"], "column 'close' holds values that are not numbers"),
])
def test_ingest_bars_refuses_bad_columns_by_name(mw: Marketwire, column: str, values: list, says: str) -> None:
    frame = pd.DataFrame({**BARS, "date": ["2024-01-02", "2024-01-03", "2024-01-04"]})
    frame[column] = values
    with pytest.raises(InvalidInput) as e:
        mw.ingest_bars(frame, source="mine", mic="XNYS")
    assert e.value.fields["param"] == "table" and says in e.value.message
