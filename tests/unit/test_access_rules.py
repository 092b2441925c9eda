"""The parts of access control that need no server: keys and their options, the rate limiter's window, the path
scrubber, the Host check and the choice of serve mode."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from marketwire.errors import InvalidInput
from marketwire.serve.access import (
    DEFAULT_RATE,
    KeysRequired,
    Limiter,
    _host_allowed,
    default_hosts,
    is_loopback,
    redact,
    scrub,
    serve_policy,
)
from marketwire.serve.keys import (
    GROUPS,
    KeyRefused,
    KeyStore,
    RateLimit,
    normalise_datasets,
    normalise_scopes,
    parse_expiry,
    parse_rate,
)

pytestmark = pytest.mark.unit

KNOWN = ["bars_daily", "corporate_actions", "news_articles", "countries"]
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


# -- options -----------------------------------------------------------------------------------------------------

def test_expiry_forms() -> None:
    assert parse_expiry("30d", NOW) == NOW + timedelta(days=30)
    assert parse_expiry("12h", NOW) == NOW + timedelta(hours=12)
    assert parse_expiry("90m", NOW) == NOW + timedelta(minutes=90)
    assert parse_expiry("2w", NOW) == NOW + timedelta(weeks=2)
    assert parse_expiry("2026-03-01", NOW) == datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=timezone.utc)
    assert parse_expiry("2026-03-01T12:00:01Z", NOW) == NOW + timedelta(seconds=1)
    assert parse_expiry(None, NOW) is None and parse_expiry("never", NOW) is None
    for bad in ("2026-03-01T12:00:00Z", "2026-02-28", "0d", "soon", "30x", "-1d"):
        with pytest.raises(InvalidInput) as e:
            parse_expiry(bad, NOW)
        assert e.value.fields["param"] == "expires", bad


def test_rate_forms() -> None:
    assert parse_rate("600/60") == RateLimit(600, 60)
    assert parse_rate("1000/1h") == RateLimit(1000, 3600)
    assert parse_rate("5/2m") == RateLimit(5, 120)
    assert str(DEFAULT_RATE) == "600/60"
    for bad in ("0/60", "10/0", "fast", "10", "10/60x", "-1/60"):
        with pytest.raises(InvalidInput):
            parse_rate(bad)


def test_scopes_and_datasets() -> None:
    assert normalise_scopes([]) == ("read",)
    assert normalise_scopes(["admin,read"]) == ("read", "admin")
    with pytest.raises(InvalidInput, match="`scope`: 'write'"):
        normalise_scopes(["write"])
    assert normalise_datasets([], KNOWN) == ("*",)
    assert normalise_datasets(["bars_daily", "*"], KNOWN) == ("*",)
    assert normalise_datasets(["news_articles,bars_daily", "bars_daily"], KNOWN) == ("news_articles", "bars_daily")
    assert normalise_datasets(["prices"], KNOWN) == GROUPS["prices"]
    with pytest.raises(InvalidInput, match="unknown dataset 'bars'") as e:
        normalise_datasets(["bars"], KNOWN)
    assert e.value.fields["param"] == "datasets"


# -- the store ---------------------------------------------------------------------------------------------------

def test_keys_are_random_hashed_and_checked(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    a, ka = store.create(scopes=["read"], datasets=["bars_daily"], known=KNOWN)
    b, kb = store.create(scopes=["ingest"], known=KNOWN)
    assert a != b and ka.id != kb.id and a.startswith("mwk_")
    raw = store.path.read_bytes()
    assert a.encode() not in raw and a.split("_", 2)[2].encode() not in raw
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    key = store.verify(a)
    assert key.grants("read") and not key.grants("ingest") and not key.grants("admin")
    assert key.entitled("bars_daily") and not key.entitled("news_articles")
    admin = store.verify(store.create(scopes=["admin"], known=KNOWN)[0])
    assert admin.grants("read") and admin.grants("ingest") and admin.entitled("anything")
    for bad in (a[:-1] + ("x" if a[-1] != "x" else "y"), "mwk_" + "a" * 10 + "_" + a.split("_", 2)[2], a + "x", "",
                "Bearer " + a, a.upper()):
        with pytest.raises(KeyRefused) as e:
            store.verify(bad)
        assert e.value.message == "the API key is not valid" and e.value.http_status == 401
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE keys SET expires = ? WHERE id = ?",
                   ((datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat(), ka.id))
    with pytest.raises(KeyRefused, match="expired"):
        store.verify(a)
    store.revoke(kb.id)
    with pytest.raises(KeyRefused, match="revoked"):
        store.verify(b)
    assert store.active() == 1
    assert KeyStore(tmp_path / "none").active() == 0


# -- rate limiter ------------------------------------------------------------------------------------------------

def test_limiter_window_edges() -> None:
    lim, rate = Limiter(), RateLimit(3, 60)
    assert lim.hit("k", rate, 0.0) == (True, 2, 60)
    assert lim.hit("k", rate, 10.0) == (True, 1, 50)
    assert lim.hit("k", rate, 20.0) == (True, 0, 40)
    assert lim.hit("k", rate, 59.9) == (False, 0, 1)
    assert lim.hit("other", rate, 59.9)[0] is True
    assert lim.hit("k", rate, 60.0) == (True, 2, 60)  # a new window


# -- local paths -------------------------------------------------------------------------------------------------

def test_scrub_cuts_local_paths_to_file_names() -> None:
    assert scrub("cannot read /srv/data/prices/abc.csv (denied)") == "cannot read abc.csv (denied)"
    assert scrub('{"address": "/home/ana/wire/a.txt", "n": 1}') == '{"address": "a.txt", "n": 1}'
    assert scrub("see file:///var/lake/x.html now") == "see x.html now"
    assert scrub(r"C:\Users\ana\wire\a.txt is empty") == "a.txt is empty"
    for kept in ("https://example.com/a/b/c.html", "ratio 1/2/3", "/v1", "a/b/c", "GET /v1 ok"):
        assert scrub(kept) == kept


def test_redact_by_field() -> None:
    row = {"file": "/srv/in/listed.csv", "url": "https://x.example/a/b", "line": 4, "title": "/r/stocks/hot",
           "raw": '{"Symbol": "A/B/C"}', "message": "from /srv/in/listed.csv", "nested": [{"file": "rel.csv"}]}
    assert redact(row) == {"file": "listed.csv", "url": "https://x.example/a/b", "line": 4, "title": "/r/stocks/hot",
                           "raw": '{"Symbol": "A/B/C"}', "message": "from listed.csv",
                           "nested": [{"file": "rel.csv"}]}


# -- Host and serve modes ----------------------------------------------------------------------------------------

def test_host_check() -> None:
    allowed = default_hosts("127.0.0.1", ["Data.Example."])
    assert allowed == ("localhost", "127.0.0.1", "::1", "data.example")
    assert _host_allowed("127.0.0.1:8000", allowed) and _host_allowed("[::1]:80", allowed)
    assert _host_allowed("data.example", allowed)
    for bad in (None, "", "evil.example", "127.0.0.1.evil.example", "[::2]", "::1", "localhost:80:80"):
        assert not _host_allowed(bad, allowed), bad
    assert "0.0.0.0" not in default_hosts("0.0.0.0")


def test_loopback_names() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost", "LOCALHOST"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "192.168.1.5", "example.com"))


def test_serve_modes(tmp_path: Path) -> None:
    policy, notes = serve_policy(tmp_path, "127.0.0.1")
    assert not policy.require_keys and notes == [] and policy.allowed_hosts == ("localhost", "127.0.0.1", "::1")
    policy, notes = serve_policy(tmp_path, "127.0.0.1", require_keys=True)
    assert policy.require_keys and "no active key" in notes[0]
    with pytest.raises(KeysRequired, match="refusing to serve on 0.0.0.0.*--insecure"):
        serve_policy(tmp_path, "0.0.0.0")
    with pytest.raises(KeysRequired):
        serve_policy(tmp_path, "192.168.1.5", require_keys=True)
    policy, notes = serve_policy(tmp_path, "0.0.0.0", insecure=True, allowed_hosts=["data.example"])
    assert not policy.require_keys and "data.example" in (policy.allowed_hosts or ())
    assert "--insecure" in notes[0] and "/docs" in notes[0] and "/v1/prices" in notes[0] and "paths" in notes[0]
    assert notes[1].startswith("answering only for Host localhost, 127.0.0.1, ::1, ") and "data.example" in notes[1]
    KeyStore(tmp_path).create(known=KNOWN)
    policy, notes = serve_policy(tmp_path, "0.0.0.0", allowed_hosts=["*"])
    assert policy.require_keys and policy.allowed_hosts is None and notes == []
    policy, notes = serve_policy(tmp_path, "10.1.2.3")
    assert policy.require_keys and policy.allowed_hosts == ("localhost", "127.0.0.1", "::1", "10.1.2.3")
    assert len(notes) == 1 and "--allowed-host" in notes[0]
    policy, _ = serve_policy(tmp_path, "0.0.0.0", insecure=True, require_keys=True)
    assert policy.require_keys
