"""Exchange sessions by MIC, from ``exchange_calendars``; cached on disk per calendar and library version."""

from __future__ import annotations

import os
import threading
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

#: MICs whose calendar exchange_calendars publishes under another code
_ALIAS = {"OTCM": "OOTC", "XNGS": "XNAS", "XNMS": "XNAS", "XNCM": "XNAS", "IEXG": "XNYS", "BATS": "XNYS",
          "ARCX": "XNYS", "XASE": "XNYS"}
_lock = threading.RLock()


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "marketwire" / "calendars"


#: sessions are derived from the installed exchange_calendars only, so one cache serves every lake of the user
_cache_dir: Path | None = _user_cache()


def set_cache_dir(folder: Path) -> None:
    global _cache_dir
    _cache_dir = folder


@lru_cache(maxsize=1)
def _version() -> str:
    from importlib.metadata import version

    return version("exchange_calendars")


def _names() -> frozenset[str]:
    with _lock:
        return _names_cached()


@lru_cache(maxsize=1)
def _names_cached() -> frozenset[str]:
    """Calendar names of the installed exchange_calendars (cached on disk: importing the library takes 0.5 s)."""
    import json

    path = _cache_dir / f"names-{_version()}.json" if _cache_dir else None
    if path is not None and path.exists():
        return frozenset(json.loads(path.read_text()))
    import exchange_calendars as xc

    names = sorted(xc.get_calendar_names())
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(names))
        tmp.replace(path)
    return frozenset(names)


def calendar_name(mic: str | None) -> str | None:
    if not mic:
        return None
    name = _ALIAS.get(mic, mic)
    return name if name in _names() else None


def sessions(name: str) -> np.ndarray:
    """Session dates (days since 1970-01-01, int32, sorted) of calendar ``name`` from 1950 (or its first) to next year.

    Deliveries are verified on several threads at once: the first call for a calendar builds it once, under the
    lock, and the others wait for it."""
    with _lock:
        return _sessions(name)


@lru_cache(maxsize=64)
def _sessions(name: str) -> np.ndarray:
    folder = _cache_dir
    tag = f"{name}-{_version()}-{date.today().year}.npy"
    if folder is not None and (folder / tag).exists():
        return np.load(folder / tag)
    import exchange_calendars as xc

    end = date(date.today().year + 1, 12, 31)
    try:
        cal = xc.get_calendar(name, start="1950-01-03", end=end.isoformat())
    except Exception:  # noqa: BLE001 - a calendar with a later first session: use its default range
        cal = xc.get_calendar(name)
    days = (cal.sessions.values.astype("datetime64[D]").astype(np.int64)).astype(np.int32)
    if folder is not None:  # a file of its own per writer, renamed into place: other processes may build it too
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{tag}.{os.getpid()}.{threading.get_ident()}.tmp.npy"
        np.save(tmp, days)
        tmp.replace(folder / tag)
    return days


@lru_cache(maxsize=64)
def weekmask(name: str | None) -> tuple[bool, ...]:
    """Monday..Sunday: True where the calendar trades on that weekday (weekdays when there is no calendar)."""
    if name is None:
        return (True,) * 5 + (False,) * 2
    # the weekdays the calendar had sessions on in its last two years (1970-01-01 was a Thursday: 3)
    days = sessions(name)[-520:].astype(np.int64)
    wd = {int(x) for x in ((days + 3) % 7)}
    return tuple(k in wd for k in range(7))


def sessions_frame(names: list[str]) -> pl.DataFrame:
    """(calendar, date) of every session of the named calendars, for joins."""
    parts = [pl.DataFrame({"calendar": name, "date": sessions(name)}).with_columns(pl.col("date").cast(pl.Date))
             for name in names]
    if not parts:
        return pl.DataFrame(schema={"calendar": pl.Utf8, "date": pl.Date})
    return pl.concat(parts)
