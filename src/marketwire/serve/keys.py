"""API keys and usage metering, kept in one SQLite file in the home (``<home>/access/keys.sqlite``).

A key is ``mwk_<id>_<secret>``: ``id`` (10 base32 characters) names the key in lists, logs and usage and is not
secret; ``secret`` is 32 random bytes from :mod:`secrets` (256 bits, URL-safe base64). The full key is shown once,
when it is created; the file keeps only its SHA-256. A fast hash is enough here, and a slow password hash (bcrypt,
argon2) would buy nothing: those slow down guessing of low-entropy passwords, while guessing a 256-bit secret from
its hash is out of reach at any speed, and a fast hash keeps checking a key on every request cheap.

Each key has **scopes** (``read``, ``ingest``, ``admin``; ``admin`` includes the other two and sees local file
paths), **datasets** it is entitled to (names, a group such as ``prices``, or ``*`` for all, future ones included),
an optional **expiry**, an optional own **rate limit**, and can be **revoked** (kept, marked, never valid again).

The file is opened in WAL mode, so several server processes and the CLI share it: a key created or revoked by
``marketwire keys`` is seen by the next request of every server. Usage is one row per key, dataset and UTC day
(requests, errors, rows, bytes), added to with an upsert, so counts from several processes add up.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from marketwire.config import resolve_home
from marketwire.errors import InvalidInput, MarketwireError, NotFound
from marketwire.timeparse import parse_day, parse_instant, utc_now

PREFIX = "mwk_"
SCOPES = ("read", "ingest", "admin")
#: what each scope grants (admin includes the others)
GRANTS = {"read": {"read"}, "ingest": {"ingest"}, "admin": {"read", "ingest", "admin"}}
#: names ``--datasets`` accepts for several datasets at once
GROUPS: dict[str, tuple[str, ...]] = {
    "reference": ("issuers", "securities", "listings", "identifiers", "index_membership", "exchanges", "countries",
                  "currencies", "ref_observations", "index_observations", "ref_flags", "id_registry"),
    "prices": ("bars_daily", "corporate_actions", "fx_rates", "price_disagreements", "price_listings"),
    "news": ("news_articles", "news_pages", "feeds", "feed_items", "feed_state"),
}
ALL = "*"
#: the usage row of requests that touch no dataset (health, the schema)
NO_DATASET = "-"
#: the principal of requests without a key on a server that does not require keys
LOCAL = "local"

_ID = re.compile(r"^[a-z2-7]{10}$")
_TOKEN = re.compile(r"^mwk_([a-z2-7]{10})_([A-Za-z0-9_-]{43})$")
_DURATION = re.compile(r"^(\d{1,6})([mhdw])$")
_RATE = re.compile(r"^(\d{1,9})/(\d{1,7})(s|m|h|d)?$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    name TEXT,
    scopes TEXT NOT NULL,
    datasets TEXT NOT NULL,
    created TEXT NOT NULL,
    expires TEXT,
    revoked TEXT,
    rate_limit TEXT
);
CREATE TABLE IF NOT EXISTS usage (
    key_id TEXT NOT NULL,
    dataset TEXT NOT NULL,
    day TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    rows INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    last TEXT,
    PRIMARY KEY (key_id, dataset, day)
);
"""


class KeyRefused(MarketwireError):
    """A request's key is missing, unknown, revoked or expired (HTTP 401)."""

    code = "unauthorized"
    http_status = 401


class NotEntitled(MarketwireError):
    """The key is valid but may not do this: a scope it lacks, or a dataset it is not entitled to (HTTP 403)."""

    code = "not_entitled"
    http_status = 403


@dataclass(frozen=True)
class RateLimit:
    """``quota`` requests per ``window`` seconds."""

    quota: int
    window: int

    def __str__(self) -> str:
        return f"{self.quota}/{self.window}"


def parse_rate(text: str, param: str = "rate_limit") -> RateLimit:
    """``600/60`` (600 requests a minute); the window may carry a unit: ``1000/1h``, ``20/1s``."""
    m = _RATE.fullmatch(text.strip())
    if not m:
        raise InvalidInput(f"`{param}`: {text!r} is not a rate; write REQUESTS/SECONDS, e.g. 600/60 or 1000/1h",
                           param=param, value=text)
    quota, window = int(m.group(1)), int(m.group(2)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(3) or "s"]
    if quota < 1 or window < 1:
        raise InvalidInput(f"`{param}`: {text!r}: requests and seconds must both be at least 1", param=param,
                           value=text)
    return RateLimit(quota, window)


@dataclass(frozen=True)
class Key:
    """A stored key (never its secret)."""

    id: str
    name: str | None
    scopes: tuple[str, ...]
    datasets: tuple[str, ...]
    created: str
    expires: str | None
    revoked: str | None
    rate_limit: str | None

    def status(self, now: datetime | None = None) -> str:
        if self.revoked:
            return "revoked"
        if self.expires and datetime.fromisoformat(self.expires) <= (now or utc_now()):
            return "expired"
        return "active"

    def grants(self, scope: str) -> bool:
        return any(scope in GRANTS[s] for s in self.scopes)

    def entitled(self, dataset: str) -> bool:
        return ALL in self.datasets or dataset in self.datasets

    def limit(self) -> RateLimit | None:
        return parse_rate(self.rate_limit) if self.rate_limit else None

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        d = asdict(self)
        d["scopes"], d["datasets"] = list(self.scopes), list(self.datasets)
        d["status"] = self.status(now)
        return d


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def parse_expiry(text: str | None, now: datetime | None = None) -> datetime | None:
    """``30d``, ``12h``, ``90m``, ``2w`` from now; a date (the key works through that day, UTC); an ISO instant;
    ``never`` or nothing: no expiry. A time already past is refused."""
    if text is None or text.strip().lower() in ("", "never", "none"):
        return None
    now = now or utc_now()
    s = text.strip()
    m = _DURATION.fullmatch(s)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if n < 1:
            raise InvalidInput(f"`expires`: {text!r} is not in the future", param="expires", value=text)
        return now + timedelta(**{{"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]: n})
    try:
        when = parse_instant(s, "expires", bound="end")
    except InvalidInput:
        raise InvalidInput(f"`expires`: {text!r} is not a duration (30d, 12h, 90m, 2w), a date or an ISO time",
                           param="expires", value=text) from None
    assert when is not None
    if when <= now:
        raise InvalidInput(f"`expires`: {text!r} is in the past", param="expires", value=text)
    return when


def _split(values: Iterable[str]) -> list[str]:
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def normalise_scopes(values: Iterable[str]) -> tuple[str, ...]:
    scopes = _split(values) or ["read"]
    bad = [s for s in scopes if s not in SCOPES]
    if bad:
        raise InvalidInput(f"`scope`: {bad[0]!r} is not a scope; scopes: {', '.join(SCOPES)}", param="scope",
                           value=bad[0])
    return tuple(s for s in SCOPES if s in scopes)


def normalise_datasets(values: Iterable[str], known: Sequence[str]) -> tuple[str, ...]:
    """Dataset names, groups (:data:`GROUPS`) or ``*``, checked against ``known``; default ``*``."""
    names = _split(values) or [ALL]
    if ALL in names:
        return (ALL,)
    out: list[str] = []
    for n in names:
        expanded = GROUPS.get(n, (n,))
        for d in expanded:
            if d not in known and n not in GROUPS:
                raise InvalidInput(f"`datasets`: unknown dataset {d!r}; use a dataset name ({', '.join(known)}), a "
                                   f"group ({', '.join(GROUPS)}) or *", param="datasets", value=d)
            if d not in out:
                out.append(d)
    return tuple(out)


def known_datasets() -> list[str]:
    """Every declared dataset, plugins' included."""
    from marketwire.datasets import all_datasets
    from marketwire.engine import load_plugins

    load_plugins()
    return [d.name for d in all_datasets()]


class KeyStore:
    """The keys and usage of one home. Thread-safe; one connection per store."""

    def __init__(self, home: str | Path | None) -> None:
        self.path = resolve_home(home) / "access" / "keys.sqlite"
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    # -- the file ---------------------------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.chmod(self.path.parent, 0o700)
            except OSError:  # a folder we do not own: leave its mode
                pass
            fresh = not self.path.exists()
            conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
            if fresh:
                os.chmod(self.path, 0o600)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- keys -------------------------------------------------------------------------------------------------------
    def create(self, *, scopes: Iterable[str] = (), datasets: Iterable[str] = (), expires: str | None = None,
               name: str | None = None, rate_limit: str | None = None, known: Sequence[str] | None = None
               ) -> tuple[str, Key]:
        """A new key: returns the key itself (shown once, never stored) and its record."""
        sc = normalise_scopes(scopes)
        ds = normalise_datasets(datasets, known if known is not None else known_datasets())
        now = utc_now()
        until = parse_expiry(expires, now)
        rate = str(parse_rate(rate_limit, "rate_limit")) if rate_limit else None
        if name is not None and (len(name) > 200 or not name.isprintable()):
            raise InvalidInput("`name`: at most 200 printable characters", param="name")
        kid = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()[:10]
        token = f"{PREFIX}{kid}_{secrets.token_urlsafe(32)}"
        key = Key(kid, name, sc, ds, now.isoformat(timespec="seconds"),
                  until.isoformat(timespec="seconds") if until else None, None, rate)
        with self._lock:
            self._db().execute(
                "INSERT INTO keys (id, hash, name, scopes, datasets, created, expires, revoked, rate_limit) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                (kid, _hash(token), name, ",".join(sc), ",".join(ds), key.created, key.expires, rate))
        return token, key

    def list(self) -> list[Key]:
        with self._lock:
            rows = self._db().execute("SELECT id, name, scopes, datasets, created, expires, revoked, rate_limit "
                                      "FROM keys ORDER BY rowid").fetchall()
        return [self._key(r) for r in rows]

    def get(self, key_id: str) -> Key:
        with self._lock:
            row = self._db().execute("SELECT id, name, scopes, datasets, created, expires, revoked, rate_limit "
                                     "FROM keys WHERE id = ?", (key_id,)).fetchone()
        if row is None:
            raise NotFound(f"`id`: no key {key_id!r} (marketwire keys list shows them)", param="id", value=key_id)
        return self._key(row)

    def revoke(self, key_id: str) -> Key:
        key = self.get(key_id)
        if key.revoked:
            return key
        with self._lock:
            self._db().execute("UPDATE keys SET revoked = ? WHERE id = ? AND revoked IS NULL",
                               (utc_now().isoformat(timespec="seconds"), key_id))
        return self.get(key_id)

    def active(self) -> int:
        """How many keys can be used now (neither revoked nor expired); 0 when the file does not exist."""
        if not self.exists():
            return 0
        now = utc_now()
        return sum(1 for k in self.list() if k.status(now) == "active")

    def verify(self, token: str) -> Key:
        """The key of ``token``, or :class:`KeyRefused` saying why (never echoing the token)."""
        m = _TOKEN.fullmatch(token)
        if m is None:
            raise KeyRefused("the API key is not valid")
        with self._lock:
            row = self._db().execute("SELECT id, name, scopes, datasets, created, expires, revoked, rate_limit, hash "
                                     "FROM keys WHERE id = ?", (m.group(1),)).fetchone() if self.exists() else None
        # compare a hash even for an unknown id, so both answers take the same time
        stored = row[8] if row is not None else _hash(PREFIX + "0" * 54)
        if not hmac.compare_digest(stored, _hash(token)) or row is None:
            raise KeyRefused("the API key is not valid")
        key = self._key(row[:8])
        if key.revoked:
            raise KeyRefused("the API key was revoked")
        if key.status() == "expired":
            raise KeyRefused(f"the API key expired at {key.expires}")
        return key

    @staticmethod
    def _key(row: Sequence[Any]) -> Key:
        return Key(row[0], row[1], tuple(row[2].split(",")), tuple(row[3].split(",")), row[4], row[5], row[6],
                   row[7])

    # -- usage ------------------------------------------------------------------------------------------------------
    def add_usage(self, counts: dict[tuple[str, str, str], builtins.list[int]], last: dict[tuple[str, str, str], str]
                  ) -> None:
        """Add ``{(key_id, dataset, day): [requests, errors, rows, bytes]}`` to the stored counts."""
        if not counts:
            return
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO usage (key_id, dataset, day, requests, errors, rows, bytes, last) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key_id, dataset, day) DO UPDATE SET "
                    "requests = requests + excluded.requests, errors = errors + excluded.errors, "
                    "rows = rows + excluded.rows, bytes = bytes + excluded.bytes, "
                    "last = max(coalesce(last, ''), excluded.last)",
                    [(k, d, day, *v, last.get((k, d, day))) for (k, d, day), v in counts.items()])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def usage(self, key_id: str | None = None, since: str | None = None, until: str | None = None,
              by_day: bool = False) -> builtins.list[dict[str, Any]]:
        """Counts per key and dataset (and day with ``by_day``), days from ``since`` to ``until`` included."""
        start, end = parse_day(since, "since"), parse_day(until, "until")
        if not self.exists():
            return []
        conds, params = [], []
        if key_id:
            conds.append("key_id = ?")
            params.append(key_id)
        if start:
            conds.append("day >= ?")
            params.append(start.isoformat())
        if end:
            conds.append("day <= ?")
            params.append(end.isoformat())
        group = "key_id, dataset" + (", day" if by_day else "")
        sql = (f"SELECT {group}, sum(requests), sum(errors), sum(rows), sum(bytes), max(last) FROM usage "
               f"{'WHERE ' + ' AND '.join(conds) if conds else ''} GROUP BY {group} ORDER BY {group}")
        with self._lock:
            rows = self._db().execute(sql, params).fetchall()
        cols = ["key_id", "dataset"] + (["day"] if by_day else []) + ["requests", "errors", "rows", "bytes", "last"]
        return [dict(zip(cols, r)) for r in rows]
