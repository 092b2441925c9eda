"""One meaning of dates and instants on every surface (SDK, CLI, REST, web pages).

- A **date** is written ``YYYY-MM-DD`` and names a calendar day in UTC.
- An **instant** is ISO 8601 with a time: ``2024-01-31T15:30``, ``2024-01-31T15:30:00.25Z``,
  ``2024-01-31 15:30+02:00``. Without an offset it is UTC.
- Where a point in time is asked for, a date stands for a bound of its day:

  ==============================  ==============================================================
  parameter                       a date ``D`` means
  ==============================  ==============================================================
  ``as_of``                       the end of ``D`` (23:59:59.999999 UTC): all that was known that day
  ``until`` / ``end``             the end of ``D``: the whole day is included
  ``since`` / ``start``           the start of ``D`` (00:00 UTC)
  ==============================  ==============================================================

  Where a day is asked for (the identity ``as_of``, a bar's ``start`` / ``end``), an instant stands for its UTC day.
- The SDK takes the natural Python and pandas values as well: ``datetime.date``, ``datetime.datetime`` (naive is
  UTC), ``pandas.Timestamp`` (a ``datetime``), ``numpy.datetime64`` and ``pandas.NaT`` / ``numpy.datetime64("NaT")``
  (no value, like ``None``). Any other type (a number, a list ...) is refused naming the parameter and the type.
- Parsing is strict: ``2024-01-31Tgarbage``, ``20240131``, ``2024-1-31``, ``notadate`` and empty text are refused
  with :class:`~marketwire.errors.InvalidInput` naming the parameter. A bad time is never dropped.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from marketwire.errors import InvalidInput

Bound = Literal["start", "end"]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INSTANT = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}:\d{2})?")

#: the bound of a day each parameter name takes when it is given as a date
BOUNDS: dict[str, Bound] = {"as_of": "end", "until": "end", "end": "end", "since": "start", "start": "start",
                            "published": "start"}

EXPECTED = "YYYY-MM-DD or an ISO 8601 time such as 2024-01-31T15:30:00Z"


def _bad(value: object, param: str, why: str = "") -> InvalidInput:
    return InvalidInput(f"`{param}`: {value!r} is not a date or an instant ({why or 'use ' + EXPECTED})",
                        param=param, value=str(value), expected=EXPECTED)


def _native(value: object, param: str) -> object:
    """``numpy.datetime64`` and pandas' ``NaT`` as ``datetime`` / ``None``; other types than text and dates refused."""
    if isinstance(value, (str, date)):  # datetime and pandas.Timestamp are dates too
        return None if _is_nat(value) else value
    kind = type(value)
    if kind.__name__ == "datetime64" and kind.__module__ == "numpy":
        if _is_nat(value):
            return None
        day = str(value.dtype) in ("datetime64[D]", "datetime64[W]", "datetime64[M]", "datetime64[Y]")  # type: ignore[attr-defined]
        got = value.astype("datetime64[D]" if day else "datetime64[us]").item()  # type: ignore[attr-defined]
        if not isinstance(got, date):  # beyond what datetime holds
            raise _bad(value, param, "out of range")
        return got  # a day stays a day: as `until` it is the end of that day
    if kind.__name__ in ("NaTType",):
        return None
    raise InvalidInput(f"`{param}`: {value!r} is a {kind.__name__}, not a date or an instant (use {EXPECTED}, a "
                       f"datetime.date, a datetime, a pandas.Timestamp or a numpy.datetime64)",
                       param=param, value=str(value), expected=EXPECTED)


def _is_nat(value: object) -> bool:
    return type(value).__name__ == "NaTType" or (type(value).__name__ == "datetime64" and value != value)


def _text(value: object, param: str) -> str:
    s = str(value).strip()
    if not s or "\x00" in s or len(s) > 40:
        raise _bad(value, param)
    return s


def parse_day(value: str | date | datetime | None, param: str = "as_of") -> date | None:
    """A calendar day: ``YYYY-MM-DD`` (an instant stands for its UTC day). ``None`` and ``""`` are ``None``."""
    if value is None or (isinstance(value, str) and value == ""):
        return None
    value = _native(value, param)  # type: ignore[assignment]
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo is None else value.astimezone(timezone.utc)).date()
    if isinstance(value, date):
        return value
    s = _text(value, param)
    if _DATE.fullmatch(s):
        try:
            return date.fromisoformat(s)
        except ValueError as e:
            raise _bad(value, param, str(e)) from None
    return parse_instant(s, param).date()  # type: ignore[union-attr]


def parse_instant(value: str | date | datetime | None, param: str = "as_of", bound: Bound | None = None
                  ) -> datetime | None:
    """An aware UTC instant. A date stands for the start or the end of its day: ``bound``, else the parameter's
    own bound (:data:`BOUNDS`), else the end. ``None`` and ``""`` are ``None``."""
    if value is None or (isinstance(value, str) and value == ""):
        return None
    value = _native(value, param)  # type: ignore[assignment]
    if value is None:
        return None
    side = bound or BOUNDS.get(param, "end")
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if isinstance(value, date):
        return day_bound(value, side)
    s = _text(value, param)
    if _DATE.fullmatch(s):
        try:
            return day_bound(date.fromisoformat(s), side)
        except ValueError as e:
            raise _bad(value, param, str(e)) from None
    m = _INSTANT.fullmatch(s)
    if not m:
        raise _bad(value, param)
    d, t, tz = m.groups()
    try:
        dt = datetime.fromisoformat(f"{d}T{t}{'+00:00' if tz in (None, 'Z') else tz}")
    except ValueError as e:
        raise _bad(value, param, str(e)) from None
    return dt.astimezone(timezone.utc)


def day_bound(d: date, side: Bound) -> datetime:
    """The first (``start``) or last (``end``) microsecond of day ``d`` in UTC."""
    return datetime.combine(d, time.min if side == "start" else time.max, tzinfo=timezone.utc)


def next_day(d: date) -> datetime:
    """Midnight UTC after day ``d`` (an exclusive upper bound)."""
    return datetime.combine(d + timedelta(days=1), time.min, tzinfo=timezone.utc)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(d: date | datetime) -> datetime:
    """A day's midnight UTC, or an instant in UTC (a naive instant is taken as UTC)."""
    if isinstance(d, datetime):
        return d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d.astimezone(timezone.utc)
    return datetime.combine(d, time.min, tzinfo=timezone.utc)


__all__ = ["BOUNDS", "EXPECTED", "as_utc", "day_bound", "next_day", "parse_day", "parse_instant", "utc_now"]
