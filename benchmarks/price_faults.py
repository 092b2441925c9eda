#!/usr/bin/env python
"""Fault injection into 100 real daily price series: how many injected faults do the bar rules catch, and how
many clean rows do they flag?

Data: the 100 files ``prices/huge_stock_market_dataset/{Stocks,ETFs}/*.us.txt`` of the data folder (``--data``,
else ``$MARKETWIRE_DATA``, else the nearest ``shared/data`` above this script). Each is a Kaggle CSV
``Date,Open,High,Low,Close,Volume,OpenInt`` (split- and dividend-adjusted prices), ingested with
``preset="kaggle"``; about 749k rows in total.

Runs (each into a fresh marketwire home in a temp folder):

1. **Baseline.** The untouched files. Every row that is flagged (``mw.prices(lid, flags=True)``) or quarantined
   (``mw.quarantine()``) counts as a false positive: clean FP rate = those rows / all rows, also per rule.
2. **Faulty.** The CSV text of every file is copied to a temp folder and ``--per-kind`` faults (default 40) of each
   kind below are injected, with a seeded ``random.Random(--seed)``. Each fault goes to a file drawn uniformly from
   the 100, at a uniformly drawn row at least 70 rows from the first and last row of the file, and at least
   ``--gap`` rows (default 70) from any other fault's rows. Unrecorded splits are injected first (they rescale the
   rest of the file); the other kinds follow in random order, each on the values as they are at that point. Rows
   that a fault changes are rewritten with 7 significant digits; all other lines are copied byte for byte.

   ========================= ===================================================================================
   kind                      what is injected at row p
   ========================= ===================================================================================
   spike                     open, high, low and close of row p multiplied by one factor f, drawn log-uniformly
                             from [1.25, 3] or from [1/3, 0.75] (each with probability 1/2); row p+1 is untouched,
                             so the move reverts the next day
   unit_jump                 open/high/low/close of a run of L consecutive rows (L uniform in 1..30) multiplied by
                             100 or by 0.01 (probability 1/2 each); volume unchanged
   unrecorded_split          every row from p to the end of the file: prices divided by a ratio drawn uniformly
                             from {2, 3, 4, 5, 10, 1.5, 0.5, 0.1} (0.5 and 0.1 are reverse splits), volume
                             multiplied by it (rounded to whole shares); no split is recorded anywhere
   ohlc_violation            probability 1/2: high and low of row p swapped (only rows whose high > low); else
                             close set to high x (1 + u), u uniform in [1%, 10%]
   non_positive_price        the close (probability 1/2) or open, high or low (1/6 each) of row p set to 0
                             (probability 1/2) or to minus its value
   negative_volume           the volume of row p negated (only rows with volume > 0)
   weekend_date              a row inserted after row p, dated on a Saturday or Sunday (uniform among those that
                             lie between row p and row p+1), with the values of row p or row p+1 (1/2 each)
   duplicate                 row p repeated right after itself, same date: an exact copy (probability 1/2), or
                             OHLC x f with f uniform in [0.99, 1.01] and volume x uniform [0.9, 1.1]
   stale_run                 rows p..p+L-1 (L uniform in 3..10): open = high = low = close = close of row p-1,
                             volume 0
   ========================= ===================================================================================

**Caught.** Matched by symbol and date. A fault is caught when one of its *target rows* carries a flag (any rule)
or has a quarantined row with that symbol and date:

- spike, ohlc_violation, non_positive_price, negative_volume: row p;
- unit_jump, stale_run: any row of the run (the table also reports the share of run rows that were hit);
- unrecorded_split: row p (the first row at the new level) or row p-1;
- weekend_date, duplicate: only a *quarantined* row with the inserted row's symbol and date counts (a flag on the
  kept row of a duplicated date does not).

The table also counts faults whose target rows were already flagged or quarantined in the baseline run, and the
rules that fired on the other rows of a fault's neighbourhood (below) where the baseline had nothing: collateral
flags, which are not counted as false positives.

**False positives in the faulty run.** The *neighbourhood* of a fault is its target rows and one row either side
(for weekend_date and duplicate, the rows either side of the inserted row and the row duplicated). Rows of an
unrecorded split after p are rescaled but consistent, so they count as untouched. FP rate = distinct (symbol, date)
that are flagged or quarantined outside every neighbourhood / rows outside every neighbourhood; the ones that were
not flagged in the baseline either are reported as "new".

Usage (from the repository root)::

    .venv/bin/python benchmarks/price_faults.py --seed 1            # about a minute
    .venv/bin/python benchmarks/price_faults.py --seed 2 --per-kind 100 --examples 10

The Markdown report goes to stdout and to ``benchmarks/out/price_faults-seed{SEED}.md`` (``--out`` for another
folder); every fault (parameters, values before and after, what the rules said around it) and the false positives
go to ``benchmarks/out/price_faults-seed{SEED}.json``. Progress goes to stderr.

marketwire is imported from the ``src`` folder next to this script's folder. To measure a commit while the working
tree changes, copy the script next to an export of it (``git archive HEAD src | tar -x -C /var/tmp/x`` and
``/var/tmp/x/benchmarks/price_faults.py``); the report names the folder marketwire was imported from.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SRC = REPO / "src"
OUT = HERE / "out"
if str(SRC) not in sys.path and (SRC / "marketwire").is_dir():
    sys.path.insert(0, str(SRC))

DATASET = Path("prices") / "huge_stock_market_dataset"
KINDS = ("spike", "unit_jump", "unrecorded_split", "ohlc_violation", "non_positive_price", "negative_volume",
         "weekend_date", "duplicate", "stale_run")
#: the field model: faults as data goes wrong in practice, drawn over every size and not from the rules' own tables
#: (``--model field``); each fault also gets a size or variant bin, and recall is reported per bin (a curve)
FIELD_KINDS = ("spike_any", "unit_error", "split_any", "stale_any", "shifted_dates", "swapped_columns")
MODELS = {"rule-shaped": KINDS, "field": FIELD_KINDS}
QUARANTINE_ONLY = {"weekend_date", "duplicate"}
RUN_KINDS = {"unit_jump", "stale_run", "unit_error", "stale_any", "shifted_dates", "swapped_columns"}
SPIKE_BINS = ((0.02, "2-5%"), (0.05, "5-10%"), (0.10, "10-20%"), (0.20, "20-40%"), (0.40, "40-90%"))
#: split ratios (new shares per old share): common forward ones, uncommon ones (stock dividends of 10%, 7:4, 9:8,
#: 7:2, 11:5) and reverse splits
SPLITS_FIELD = {"forward, common ratio": (2.0, 3.0, 1.5, 1.25, 10.0),
                "forward, uncommon ratio": (1.1, 1.125, 1.75, 3.5, 2.2),
                "reverse": (0.5, 0.125, 0.1, 1 / 3, 2 / 3)}
EDGE = 70  # no fault within this many rows of either end of a file
SPLIT_RATIOS = (2.0, 3.0, 4.0, 5.0, 10.0, 1.5, 0.5, 0.1)
O, H, L, C, V = range(5)
TARGET_RECALL = 0.95
TARGET_FP = 0.002

Key = tuple[str, date]  # (symbol, date)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fmt(x: float) -> str:
    """A price with 7 significant digits, never in exponent notation (rounding is monotone, so order is kept)."""
    return str(np.format_float_positional(x, precision=7, unique=False, fractional=False, trim="-"))


# -- the series as CSV text ------------------------------------------------------------------------------------


@dataclass
class Series:
    """One Kaggle file: its lines, parsed values (current, after injections) and what was injected where."""

    rel: str  # e.g. Stocks/ibm.us.txt
    symbol: str  # IBM.US
    header: str
    lines: list[str]
    dates: list[date]
    vals: np.ndarray  # n x 5: open, high, low, close, volume
    orig_close: np.ndarray
    newline: str  # the file's line ending, kept when the file is rewritten
    dirty: set[int] = field(default_factory=set)
    inserts: dict[int, list[tuple[date, np.ndarray]]] = field(default_factory=dict)  # rows written after row i
    taken: list[tuple[int, int]] = field(default_factory=list)  # row ranges of faults (inclusive)

    @classmethod
    def read(cls, path: Path, rel: str) -> Series:
        raw = path.read_bytes().decode()
        text = raw.splitlines()
        lines = [ln for ln in text[1:] if ln.strip()]
        parts = [ln.split(",") for ln in lines]
        vals = np.array([p[1:6] for p in parts], dtype=np.float64)
        return cls(rel, path.name.removesuffix(".txt").upper(), text[0], lines,
                   [date.fromisoformat(p[0]) for p in parts], vals, vals[:, C].copy(),
                   "\r\n" if "\r\n" in raw[:4096] else "\n")

    def __len__(self) -> int:
        return len(self.lines)

    def free(self, lo: int, hi: int, gap: int) -> bool:
        return all(hi + gap < a or lo - gap > b for a, b in self.taken)

    def row(self, i: int) -> dict[str, Any]:
        return row_dict(self.dates[i], self.vals[i])

    def rows(self, lo: int, hi: int) -> list[dict[str, Any]]:
        """Rows lo..hi (inclusive) as written, inserted rows included."""
        out: list[dict[str, Any]] = []
        for i in range(max(lo, 0), min(hi, len(self) - 1) + 1):
            out.append(self.row(i))
            out.extend(row_dict(d, v, inserted=True) for d, v in self.inserts.get(i, []))
        return out

    def write(self, dest: Path) -> int:
        """Writes the file; returns its number of data rows."""
        out = [self.header]
        n = 0
        for i, ln in enumerate(self.lines):
            if i in self.dirty:
                out.append(csv_line(self.dates[i], self.vals[i], ln.rsplit(",", 1)[1]))
            else:
                out.append(ln)
            for d, v in self.inserts.get(i, []):
                out.append(csv_line(d, v, "0"))
                n += 1
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes((self.newline.join(out) + self.newline).encode())
        return n + len(self.lines)


def csv_line(d: date, v: np.ndarray, openint: str) -> str:
    return f"{d.isoformat()},{fmt(v[O])},{fmt(v[H])},{fmt(v[L])},{fmt(v[C])},{int(v[V])},{openint}"


def row_dict(d: date, v: np.ndarray, inserted: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"date": d.isoformat(), "open": float(fmt(v[O])), "high": float(fmt(v[H])),
                           "low": float(fmt(v[L])), "close": float(fmt(v[C])), "volume": int(v[V])}
    if inserted:
        out["inserted"] = True
    return out


def load_series(data: Path) -> list[Series]:
    root = data / DATASET
    paths = sorted(root.glob("Stocks/*.us.txt")) + sorted(root.glob("ETFs/*.us.txt"))
    if not paths:
        raise SystemExit(f"no *.us.txt files under {root}/Stocks or {root}/ETFs")
    return [Series.read(p, str(p.relative_to(root))) for p in paths]


def local_vol(close: np.ndarray, p: int) -> float:
    """Diagnostic only: 1.25 x mean |log return| (each capped at 10%) over the 63 returns centred on row p of the
    clean series (the estimator the rules' module docstring describes)."""
    r = np.abs(np.diff(np.log(close)))
    lo, hi = max(p - 32, 0), min(p + 31, r.size)
    return float(1.25 * np.minimum(r[lo:hi], 0.1).mean()) if hi > lo else float("nan")


# -- the injector ----------------------------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str
    file: str
    symbol: str
    row: int  # row p in the original file
    day: date  # date of row p (weekend_date: the inserted date)
    params: dict[str, Any]
    targets: list[date]  # a flag or quarantine here counts as caught
    near: list[date]  # targets and the rows either side: excluded from the FP count
    before: list[dict[str, Any]]  # rows p-1 .. end+1 just before this injection
    after: list[dict[str, Any]] = field(default_factory=list)  # the same rows as written
    vol63: float = float("nan")
    bin: str = ""  # the size or variant class of the field model's curve
    caught: bool = False
    hit_targets: int = 0
    rules: list[str] = field(default_factory=list)  # rules on the target rows in the faulty run
    in_baseline: bool = False  # a target row was already flagged or quarantined in the baseline
    side_rules: list[str] = field(default_factory=list)  # rules on the neighbour rows (not targets, not in baseline)
    context: list[dict[str, Any]] = field(default_factory=list)  # rows p-2 .. end+2 with what the rules said


class Injector:
    def __init__(self, series: list[Series], rng: random.Random, gap: int) -> None:
        self.series = series
        self.rng = rng
        self.gap = gap
        self.faults: list[Fault] = []

    def place(self, first: int, extent: int, ok: Callable[[Series, int], bool] = lambda s, p: True
              ) -> tuple[Series, int]:
        """A random file and row p such that rows p-first .. p+extent-1 are EDGE rows from either end and
        ``gap`` rows from every other fault."""
        for _ in range(5000):
            s = self.rng.choice(self.series)
            lo, hi = EDGE + first, len(s) - EDGE - extent
            if hi < lo:
                continue
            p = self.rng.randint(lo, hi)
            if s.free(p - first, p + extent - 1, self.gap) and ok(s, p):
                s.taken.append((p - first, p + extent - 1))
                return s, p
        raise SystemExit("could not place a fault: lower --per-kind or --gap")

    def add(self, kind: str, s: Series, p: int, end: int, params: dict[str, Any], targets: list[date],
            near: tuple[int, int], before: list[dict[str, Any]], d: date | None = None) -> None:
        f = Fault(kind, s.rel, s.symbol, p, d or s.dates[p], params, targets,
                  sorted(set(targets) | {s.dates[i] for i in range(max(near[0], 0), min(near[1], len(s) - 1) + 1)}), before,
                  vol63=local_vol(s.orig_close, p))
        f.after = s.rows(p - 1, end + 1)
        self.faults.append(f)

    def inject(self, kind: str) -> None:
        getattr(self, kind)()

    # each method: choose the place, record the rows before, change them, record the fault

    def unrecorded_split(self) -> None:
        s, p = self.place(1, 1)
        ratio = self.rng.choice(SPLIT_RATIOS)
        before = s.rows(p - 2, p + 1)
        s.vals[p:, :4] /= ratio
        s.vals[p:, V] = np.rint(s.vals[p:, V] * ratio)
        s.dirty.update(range(p, len(s)))
        self.add("unrecorded_split", s, p, p, {"ratio": ratio}, [s.dates[p - 1], s.dates[p]], (p - 2, p + 1), before)
        self.faults[-1].after = s.rows(p - 2, p + 1)

    def spike(self) -> None:
        s, p = self.place(0, 1)
        lo, hi = (1.25, 3.0) if self.rng.random() < 0.5 else (1 / 3, 0.75)
        f = math.exp(self.rng.uniform(math.log(lo), math.log(hi)))
        before = s.rows(p - 1, p + 1)
        s.vals[p, :4] *= f
        s.dirty.add(p)
        self.add("spike", s, p, p, {"factor": round(f, 4)}, [s.dates[p]], (p - 1, p + 1), before)

    def unit_jump(self) -> None:
        n = self.rng.randint(1, 30)
        s, p = self.place(0, n)
        f = 100.0 if self.rng.random() < 0.5 else 0.01
        before = s.rows(p - 1, p + n)
        s.vals[p:p + n, :4] *= f
        s.dirty.update(range(p, p + n))
        self.add("unit_jump", s, p, p + n - 1, {"factor": f, "rows": n}, s.dates[p:p + n], (p - 1, p + n), before)

    def ohlc_violation(self) -> None:
        swap = self.rng.random() < 0.5
        s, p = self.place(0, 1, (lambda s, p: float(fmt(s.vals[p, H])) > float(fmt(s.vals[p, L]))) if swap
                          else (lambda s, p: True))
        before = s.rows(p - 1, p + 1)
        if swap:
            s.vals[p, H], s.vals[p, L] = s.vals[p, L], s.vals[p, H]
            params: dict[str, Any] = {"variant": "high<->low swapped"}
        else:
            u = self.rng.uniform(0.01, 0.10)
            s.vals[p, C] = s.vals[p, H] * (1 + u)
            params = {"variant": "close above high", "by": round(u, 4)}
        s.dirty.add(p)
        self.add("ohlc_violation", s, p, p, params, [s.dates[p]], (p - 1, p + 1), before)

    def non_positive_price(self) -> None:
        s, p = self.place(0, 1)
        col = "close" if self.rng.random() < 0.5 else self.rng.choice(("open", "high", "low"))
        j = ("open", "high", "low", "close").index(col)
        zero = self.rng.random() < 0.5
        before = s.rows(p - 1, p + 1)
        s.vals[p, j] = 0.0 if zero else -s.vals[p, j]
        s.dirty.add(p)
        self.add("non_positive_price", s, p, p, {"field": col, "value": "0" if zero else "negated"}, [s.dates[p]],
                 (p - 1, p + 1), before)

    def negative_volume(self) -> None:
        s, p = self.place(0, 1, lambda s, p: s.vals[p, V] > 0)
        before = s.rows(p - 1, p + 1)
        s.vals[p, V] = -s.vals[p, V]
        s.dirty.add(p)
        self.add("negative_volume", s, p, p, {}, [s.dates[p]], (p - 1, p + 1), before)

    def weekend_date(self) -> None:
        def weekend_days(s: Series, p: int) -> list[date]:
            a, b = s.dates[p], s.dates[p + 1]
            return [a + timedelta(days=k) for k in range(1, (b - a).days) if (a + timedelta(days=k)).weekday() >= 5]

        s, p = self.place(0, 2, lambda s, p: bool(weekend_days(s, p)))
        d = self.rng.choice(weekend_days(s, p))
        src = p + self.rng.randint(0, 1)
        before = s.rows(p - 1, p + 2)
        s.inserts.setdefault(p, []).append((d, s.vals[src].copy()))
        self.add("weekend_date", s, p, p + 1, {"weekday": d.strftime("%A"), "values_of": s.dates[src].isoformat()},
                 [d], (p, p + 1), before, d)

    def duplicate(self) -> None:
        s, p = self.place(0, 1)
        v = s.vals[p].copy()
        params: dict[str, Any] = {"variant": "exact copy"}
        if self.rng.random() < 0.5:
            f, fv = self.rng.uniform(0.99, 1.01), self.rng.uniform(0.9, 1.1)
            v[:4] *= f
            v[V] = round(v[V] * fv)
            params = {"variant": "changed values", "price_factor": round(f, 5), "volume_factor": round(fv, 4)}
        before = s.rows(p - 1, p + 1)
        s.inserts.setdefault(p, []).append((s.dates[p], v))
        self.add("duplicate", s, p, p, params, [s.dates[p]], (p - 1, p + 1), before)

    def stale_run(self) -> None:
        n = self.rng.randint(3, 10)
        s, p = self.place(0, n)
        before = s.rows(p - 1, p + n)
        s.vals[p:p + n, :4] = s.vals[p - 1, C]
        s.vals[p:p + n, V] = 0.0
        s.dirty.update(range(p, p + n))
        self.add("stale_run", s, p, p + n - 1, {"rows": n}, s.dates[p:p + n], (p - 1, p + n), before)


class FieldInjector(Injector):
    """Faults as they occur in vendor data, with sizes drawn over their whole range (not from the rules' design)."""

    def binned(self, label: str) -> None:
        self.faults[-1].bin = label

    def spike_any(self) -> None:
        s, p = self.place(0, 1)
        m = math.exp(self.rng.uniform(math.log(0.02), math.log(0.90)))
        f = 1 + m if self.rng.random() < 0.5 else 1 - m
        before = s.rows(p - 1, p + 1)
        s.vals[p, :4] *= f
        s.dirty.add(p)
        self.add("spike_any", s, p, p, {"factor": round(f, 4), "size": round(m, 4)}, [s.dates[p]], (p - 1, p + 1),
                 before)
        self.binned(next(label for lo, label in reversed(SPIKE_BINS) if m >= lo))

    def unit_error(self) -> None:
        n = self.rng.randint(1, 40)
        s, p = self.place(0, n)
        scale = self.rng.choice((10.0, 100.0, 1000.0))
        f = scale if self.rng.random() < 0.5 else 1 / scale
        u = self.rng.random()
        cols, variant = ([O, H, L, C], "all prices") if u < 0.6 else ([C], "close only") if u < 0.8 else (
            [self.rng.choice((O, H, L))], "one of open/high/low")
        before = s.rows(p - 1, p + n)
        for j in cols:
            s.vals[p:p + n, j] *= f
        s.dirty.update(range(p, p + n))
        self.add("unit_error", s, p, p + n - 1, {"factor": f, "rows": n, "variant": variant}, s.dates[p:p + n],
                 (p - 1, p + n), before)
        self.binned(f"{scale:g}x, {variant}")

    def split_any(self) -> None:
        s, p = self.place(1, 1)
        label = self.rng.choice(list(SPLITS_FIELD))
        ratio = self.rng.choice(SPLITS_FIELD[label])
        before = s.rows(p - 2, p + 1)
        s.vals[p:, :4] /= ratio
        s.vals[p:, V] = np.rint(s.vals[p:, V] * ratio)
        s.dirty.update(range(p, len(s)))
        self.add("split_any", s, p, p, {"ratio": round(ratio, 4)}, [s.dates[p - 1], s.dates[p]], (p - 2, p + 1),
                 before)
        self.faults[-1].after = s.rows(p - 2, p + 1)
        self.binned(label)

    def stale_any(self) -> None:
        n = self.rng.randint(1, 20)
        s, p = self.place(0, n)
        zero = self.rng.random() < 0.5
        before = s.rows(p - 1, p + n)
        s.vals[p:p + n, :4] = s.vals[p - 1, C]
        if zero:
            s.vals[p:p + n, V] = 0.0
        s.dirty.update(range(p, p + n))
        self.add("stale_any", s, p, p + n - 1, {"rows": n, "volume": "0" if zero else "as delivered"},
                 s.dates[p:p + n], (p - 1, p + n), before)
        length = "1" if n == 1 else "2" if n == 2 else "3-5" if n <= 5 else "6-10" if n <= 10 else "11-20"
        self.binned(f"{length} sessions, volume {'0' if zero else 'kept'}")

    def shifted_dates(self) -> None:
        """A run of rows whose values belong one session earlier (a feed that lags a day)."""
        n = self.rng.randint(1, 20)
        s, p = self.place(1, n)
        before = s.rows(p - 1, p + n)
        s.vals[p:p + n] = s.vals[p - 1:p + n - 1].copy()
        s.dirty.update(range(p, p + n))
        self.add("shifted_dates", s, p, p + n - 1, {"rows": n}, s.dates[p:p + n], (p - 1, p + n), before)
        self.binned("1 session" if n == 1 else "2-5 sessions" if n <= 5 else "6-20 sessions")

    def swapped_columns(self) -> None:
        variant = self.rng.choice(("open<->close", "high<->low", "close<->volume"))
        n = 1 if variant == "close<->volume" else self.rng.randint(1, 10)
        ok = (lambda s, p: bool(s.vals[p, V] > 0)) if variant == "close<->volume" else (lambda s, p: True)
        s, p = self.place(0, n, ok)
        a, b = {"open<->close": (O, C), "high<->low": (H, L), "close<->volume": (C, V)}[variant]
        before = s.rows(p - 1, p + n)
        s.vals[p:p + n, [a, b]] = s.vals[p:p + n, [b, a]]
        if variant == "close<->volume":
            s.vals[p, V] = round(s.vals[p, V])
        s.dirty.update(range(p, p + n))
        self.add("swapped_columns", s, p, p + n - 1, {"variant": variant, "rows": n}, s.dates[p:p + n],
                 (p - 1, p + n), before)
        self.binned(variant)


def inject(series: list[Series], per_kind: int, seed: int, gap: int, model: str = "rule-shaped") -> list[Fault]:
    kinds = MODELS[model]
    inj = (FieldInjector if model == "field" else Injector)(series, random.Random(seed), gap)
    first = "split_any" if model == "field" else "unrecorded_split"
    for _ in range(per_kind):  # splits first: they rescale the rest of their file
        inj.inject(first)
    rest = [k for k in kinds if k != first for _ in range(per_kind)]
    inj.rng.shuffle(rest)
    for k in rest:
        inj.inject(k)
    return inj.faults


# -- running marketwire ----------------------------------------------------------------------------------------


@dataclass
class Findings:
    rows: int  # rows delivered (accepted + quarantined)
    seconds: float
    by_rule: dict[str, int]
    flags: dict[Key, list[str]]
    quarantine: dict[Key, list[str]]

    def rules_at(self, key: Key) -> list[str]:
        return self.flags.get(key, []) + self.quarantine.get(key, [])

    def hit(self) -> set[Key]:
        return set(self.flags) | set(self.quarantine)


def run_marketwire(folder: Path, home: Path, symbols: list[str]) -> Findings:
    import marketwire

    mw = marketwire.open(home)
    t0 = time.perf_counter()
    rep = mw.ingest("prices-csv", [folder / "Stocks", folder / "ETFs"], preset="kaggle")
    seconds = time.perf_counter() - t0
    by_lid: dict[str, str] = {}
    for sym in symbols:
        lid = mw.price_listing(sym)
        if lid is None:
            raise SystemExit(f"no listing for {sym}")
        by_lid[lid] = sym
    flags: dict[Key, list[str]] = {}
    for lid in mw.bars_cache.listings():
        df = mw.prices(lid, flags=True, output="polars")
        for d, fl in df.filter(pl.col("flags").is_not_null()).select("date", "flags").iter_rows():
            flags.setdefault((by_lid[lid], d), []).extend(fl.split(","))
    quarantine: dict[Key, list[str]] = {}
    for q in mw.quarantine():
        raw = json.loads(q["raw"]) if q.get("raw") else {}
        if raw.get("date") and raw.get("symbol"):
            quarantine.setdefault((raw["symbol"], date.fromisoformat(str(raw["date"])[:10])), []).append(q["rule"])
        else:
            quarantine.setdefault((str(q.get("file")), date.min), []).append(q["rule"])
    return Findings(rep.accepted + rep.quarantined, seconds, dict(rep.by_rule), flags, quarantine)


# -- scoring ---------------------------------------------------------------------------------------------------


def score(faults: list[Fault], series: dict[str, Series], base: Findings, bad: Findings) -> None:
    base_hit = base.hit()
    for f in faults:
        keys = [(f.symbol, d) for d in f.targets]
        src = bad.quarantine if f.kind in QUARANTINE_ONLY else {**bad.flags, **bad.quarantine}
        hits = [k for k in keys if k in src]
        f.hit_targets = len(hits)
        f.caught = bool(hits)
        f.rules = sorted({r for k in keys for r in bad.rules_at(k)})
        f.in_baseline = any(k in base_hit for k in keys)
        side = [(f.symbol, d) for d in f.near if d not in f.targets and (f.symbol, d) not in base_hit]
        f.side_rules = sorted({r for k in side for r in bad.rules_at(k)})
        s = series[f.file]
        end = s.dates.index(f.targets[-1]) if f.kind != "weekend_date" else f.row + 1
        f.context = []
        prev = float("nan")
        for r in s.rows(f.row - 2, end + 2):
            key = (f.symbol, date.fromisoformat(r["date"]))
            ret = math.log(r["close"] / prev) if r["close"] > 0 and prev > 0 else float("nan")
            f.context.append({**r, "r": round(ret, 4), "rules": bad.rules_at(key), "baseline_rules": base.rules_at(key)})
            prev = r["close"] if not r.get("inserted") else prev


def false_positives(faults: list[Fault], series: list[Series], base: Findings, bad: Findings
                    ) -> dict[str, Any]:
    near: set[Key] = {(f.symbol, d) for f in faults for d in f.near}
    untouched = sum(1 for s in series for d in s.dates if (s.symbol, d) not in near)
    fp = sorted(k for k in bad.hit() if k not in near)
    base_hit = base.hit()
    new = [k for k in fp if k not in base_hit]
    per_rule = Counter(r for k in fp for r in set(bad.rules_at(k)))
    base_rule = Counter(r for k in base_hit for r in set(base.rules_at(k)))
    return {
        "baseline": {"rows": base.rows, "hit": len(base_hit), "rate": len(base_hit) / base.rows,
                     "flagged": len(base.flags), "quarantined_rows": len(base.quarantine),
                     "per_rule": dict(base_rule.most_common())},
        "faulty": {"rows": untouched, "hit": len(fp), "rate": len(fp) / untouched, "new": len(new),
                   "per_rule": dict(per_rule.most_common())},
        "new_examples": [{"symbol": k[0], "date": k[1].isoformat(), "rules": bad.rules_at(k)} for k in new[:50]],
        "baseline_examples": [{"symbol": k[0], "date": k[1].isoformat(), "rules": base.rules_at(k)}
                              for k in sorted(base_hit)],
    }


# -- report ----------------------------------------------------------------------------------------------------


def pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def markdown(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def report(args: argparse.Namespace, faults: list[Fault], fp: dict[str, Any], base: Findings, bad: Findings,
           meta: dict[str, Any]) -> str:
    rows: list[list[Any]] = []
    kinds = MODELS[args.model]
    for k in kinds:
        fs = [f for f in faults if f.kind == k]
        caught = sum(f.caught for f in fs)
        rules = Counter(r for f in fs for r in f.rules)
        extra = ""
        if k in RUN_KINDS:
            extra = f" (rows hit: {sum(f.hit_targets for f in fs)}/{sum(len(f.targets) for f in fs)})"
        side = Counter(r for f in fs for r in f.side_rules)
        rows.append([k, len(fs), caught, pct(caught / len(fs)) + extra,
                     ", ".join(f"{r} {n}" for r, n in rules.most_common()) or "-", sum(f.in_baseline for f in fs),
                     ", ".join(f"{r} {n}" for r, n in side.most_common()) or "-"])
    n, c = len(faults), sum(f.caught for f in faults)
    rows.append(["**all**", n, c, f"**{pct(c / n)}**", "", sum(f.in_baseline for f in faults),
                 sum(bool(f.side_rules) for f in faults)])
    b, fa = fp["baseline"], fp["faulty"]
    dirty = ("uncommitted under src/: " + " ".join(x.split()[-1] for x in meta["git_dirty_src"])
             if meta["git_dirty_src"] else "clean src/" if meta["git"] else "state of src/ unknown")
    out = [f"## seed {args.seed}, {args.model} faults: {meta['files']} files, {b['rows']:,} rows, "
           f"{args.per_kind} faults per kind, "
           f"gap {args.gap} rows",
           "",
           markdown(["kind", "injected", "caught", "recall", "rules on the target rows (faults)",
                     "target already hit in baseline", "rules on the rows beside the targets, new vs baseline (faults)"],
                    rows),
           "",
           markdown(["false positives", "rows", "flagged or quarantined", "rate", "target", "pass"], [
               ["baseline run (clean files)", f"{b['rows']:,}", f"{b['hit']:,} ({b['flagged']:,} flagged, "
                f"{b['quarantined_rows']:,} quarantined)", pct(b["rate"], 3), f"<= {pct(TARGET_FP)}",
                "yes" if b["rate"] <= TARGET_FP else "**no**"],
               ["faulty run, rows outside fault +/-1 row", f"{fa['rows']:,}",
                f"{fa['hit']:,} ({fa['new']:,} not hit in baseline)", pct(fa["rate"], 3), f"<= {pct(TARGET_FP)}",
                "yes" if fa["rate"] <= TARGET_FP else "**no**"],
               ["overall recall", f"{n} faults", f"{c} caught", pct(c / n), f">= {pct(TARGET_RECALL, 0)}",
                "yes" if c / n >= TARGET_RECALL else "**no**"]]),
           "",
           markdown(["rule", "baseline rows", "faulty run rows outside faults"],
                    [[r, b["per_rule"].get(r, 0), fa["per_rule"].get(r, 0)]
                     for r in sorted(set(b["per_rule"]) | set(fa["per_rule"]))]),
           "",
           f"Runtime {meta['seconds']:.1f} s (ingest: baseline {base.seconds:.1f} s, faulty {bad.seconds:.1f} s). "
           f"marketwire from {meta['marketwire']}; repository commit {meta['git_commit']}, {dirty}; {meta['utc']}."]
    if args.model == "field":
        curve = []
        for k in kinds:
            for label in sorted({f.bin for f in faults if f.kind == k}, key=lambda b: _bin_order(k, b)):
                fs = [f for f in faults if f.kind == k and f.bin == label]
                c = sum(f.caught for f in fs)
                curve.append([k, label, len(fs), c, pct(c / len(fs), 0)])
        out[2:2] = ["Recall by kind and size (the curve):", "",
                    markdown(["kind", "size or variant", "injected", "caught", "recall"], curve), ""]
    missed_kinds = [k for k in kinds if any(f.kind == k and not f.caught for f in faults)]
    if missed_kinds and args.examples:
        out += ["", f"### Missed faults (up to {args.examples} per kind)", "",
                "vol63: 1.25 x mean |log return| (each capped at 10%) over the 63 clean returns around the fault; "
                "r: log(close / previous close) as written; -> what the rules said on the faulty run."]
        for k in missed_kinds:
            missed = [f for f in faults if f.kind == k and not f.caught]
            n = sum(f.kind == k for f in faults)
            under = " (**under target**)" if n - len(missed) < TARGET_RECALL * n else ""
            out += ["", f"**{k}**: {len(missed)} of {n} missed{under}"]
            for f in missed[:args.examples]:
                out.append(f"- {f.symbol} {f.day} {json.dumps(f.params)}, vol63 {f.vol63:.4f}")
                after = {(r["date"], r.get("inserted", False)): r for r in f.after}
                out += ["    - before: " + ctx_line(r) for r in f.before if after.get((r["date"], False)) != r]
                out += ["    - " + ctx_line(r) for r in f.context]
    return "\n".join(out) + "\n"


def _bin_order(kind: str, label: str) -> tuple[Any, ...]:
    if kind == "spike_any":
        return (next(i for i, (_, lab) in enumerate(SPIKE_BINS) if lab == label),)
    if kind == "stale_any":
        head = label.split()[0]
        return (["1", "2", "3-5", "6-10", "11-20"].index(head), label)
    if kind == "unit_error":
        return (float(label.split("x")[0]), label)
    return (label,)


def ctx_line(r: dict[str, Any]) -> str:
    """One row of a missed fault: values, the log return into it and the rules (context rows only)."""
    s = (f"{r['date']}{' (inserted)' if r.get('inserted') else ''}: O {r['open']:g} H {r['high']:g} L {r['low']:g} "
         f"C {r['close']:g} V {r['volume']:,}")
    if "rules" not in r:
        return s
    s += f" r {r['r']:+.4f}" if not math.isnan(r["r"]) else ""
    return s + (f" -> {', '.join(r['rules'])}" if r["rules"] else " -> -") + (
        f" (baseline: {', '.join(r['baseline_rules'])})" if r["baseline_rules"] else "")


def meta_info() -> dict[str, Any]:
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    import marketwire

    commit = git("rev-parse", "--short", "HEAD")
    return {"git": bool(commit), "git_commit": commit or "? (not a git checkout)",
            "git_dirty_src": git("status", "--porcelain", "--", "src").splitlines(),
            "marketwire": str(Path(marketwire.__file__).parent),
            "utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "python": platform.python_version(),
            "polars": pl.__version__}


def _default_data() -> Path:
    env = os.environ.get("MARKETWIRE_DATA")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return Path("shared/data")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-kind", type=int, default=40, help="faults of each kind (default 40)")
    ap.add_argument("--model", choices=sorted(MODELS), default="rule-shaped",
                    help="rule-shaped: the nine kinds the rules were designed for; field: faults as data goes wrong "
                         "in practice, every size (spikes 2-90%%, unit errors 10x-1000x and partial, any split ratio, "
                         "stale runs of any length, lagged dates, swapped columns), recall per size")
    ap.add_argument("--data", type=Path, default=_default_data(),
                    help="data folder holding prices/huge_stock_market_dataset ($MARKETWIRE_DATA, else the nearest "
                         "shared/data above this script)")
    ap.add_argument("--gap", type=int, default=70, help="minimum rows between two faults (default 70)")
    ap.add_argument("--examples", type=int, default=5, help="missed faults shown per kind under target (default 5)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (faulty files and homes)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)
    t0 = time.perf_counter()
    root = args.data / DATASET
    series = load_series(args.data)
    log(f"{len(series)} files, {sum(len(s) for s in series):,} rows")
    work = Path(tempfile.mkdtemp(prefix="price_faults_", dir="/var/tmp" if Path("/var/tmp").is_dir() else None))
    try:
        symbols = [s.symbol for s in series]
        log("baseline ingest")
        base = run_marketwire(root, work / "home-baseline", symbols)
        faults = inject(series, args.per_kind, args.seed, args.gap, args.model)
        touched = {f.file for f in faults}
        for s in series:
            if s.rel in touched:
                s.write(work / "faulty" / s.rel)
            else:
                (work / "faulty" / s.rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(root / s.rel, work / "faulty" / s.rel)
        log(f"{len(faults)} faults injected into {len(touched)} files; faulty ingest")
        bad = run_marketwire(work / "faulty", work / "home-faulty", symbols)
        by_file = {s.rel: s for s in series}
        score(faults, by_file, base, bad)
        fp = false_positives(faults, series, base, bad)
        meta = {**meta_info(), "files": len(series), "seconds": time.perf_counter() - t0}
        text = report(args, faults, fp, base, bad, meta)
        print(text, end="")
        args.out.mkdir(parents=True, exist_ok=True)
        stem = f"price_faults-seed{args.seed}" + ("-field" if args.model == "field" else "")
        (args.out / f"{stem}.md").write_text(text)
        payload = {"args": {k: str(v) for k, v in vars(args).items()}, "meta": meta, "false_positives": fp,
                   "by_rule": {"baseline": base.by_rule, "faulty": bad.by_rule},
                   "faults": [{**asdict(f), "day": f.day.isoformat(), "targets": [d.isoformat() for d in f.targets],
                               "near": [d.isoformat() for d in f.near]} for f in faults]}
        (args.out / f"{stem}.json").write_text(json.dumps(payload, indent=1, default=str))
        log(f"done in {time.perf_counter() - t0:.1f} s; {args.out}/{stem}.{{md,json}}")
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
