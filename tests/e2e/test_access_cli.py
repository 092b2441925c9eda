"""`marketwire keys`, `marketwire usage` and the serve modes, run as a user runs them: the command in a subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from marketwire.serve.keys import GROUPS, KeyRefused, KeyStore
from support.servers import ServedHome

pytestmark = pytest.mark.e2e

SRC = Path(__file__).resolve().parents[2] / "src"


def mw(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("MARKETWIRE_HOME", None)
    r = subprocess.run([sys.executable, "-m", "marketwire.cli", "--home", str(home), *args], capture_output=True,
                       text=True, timeout=timeout, env=env)
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    return r


def test_keys_create_list_revoke_end_to_end(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = mw(home, "keys", "create", "--scope", "read", "--datasets", "prices,news_articles", "--expires", "30d",
           "--name", "desk", "--format", "json")
    assert r.returncode == 0, r.stderr
    made = json.loads(r.stdout)
    token = made["key"]
    assert token.startswith("mwk_" + made["id"] + "_") and len(token) == 4 + 10 + 1 + 43
    assert made["scopes"] == ["read"] and made["status"] == "active" and made["name"] == "desk"
    assert made["datasets"] == [*GROUPS["prices"], "news_articles"]
    expires = datetime.fromisoformat(made["expires"])
    assert abs(expires - (datetime.now(timezone.utc) + timedelta(days=30))) < timedelta(minutes=5)
    # the file keeps the hash, never the key
    store = KeyStore(home)
    assert token.encode() not in store.path.read_bytes() and token.split("_", 2)[2].encode() not in \
        store.path.read_bytes()
    assert store.verify(token).id == made["id"]
    r = mw(home, "keys", "create", "--scope", "admin", "--format", "json")
    other = json.loads(r.stdout)
    assert other["scopes"] == ["admin"] and other["datasets"] == ["*"] and other["expires"] is None
    listed = json.loads(mw(home, "keys", "list", "--format", "json").stdout)
    assert [k["id"] for k in listed] == [made["id"], other["id"]]
    assert all("key" not in k and "hash" not in k for k in listed)
    r = mw(home, "keys", "list", "--format", "csv")
    assert made["id"] in r.stdout and token not in r.stdout and token.split("_", 2)[2] not in r.stdout
    r = mw(home, "keys", "revoke", made["id"])
    assert r.returncode == 0 and f"revoked {made['id']}" in r.stdout
    status = {k["id"]: k["status"] for k in json.loads(mw(home, "keys", "list", "--format", "json").stdout)}
    assert status == {made["id"]: "revoked", other["id"]: "active"}
    with pytest.raises(KeyRefused, match="revoked"):
        KeyStore(home).verify(token)
    r = mw(home, "keys", "revoke", "nosuchkey0")
    assert r.returncode == 3 and "no key 'nosuchkey0'" in r.stderr


@pytest.mark.parametrize("args, param", [
    (("--scope", "root"), "scope"),
    (("--datasets", "bars_daily,nope"), "datasets"),
    (("--expires", "2001-01-01"), "expires"),
    (("--expires", "soon"), "expires"),
    (("--rate-limit", "fast"), "rate_limit"),
])
def test_keys_create_refuses_bad_options(tmp_path: Path, args: tuple[str, ...], param: str) -> None:
    r = mw(tmp_path, "keys", "create", *args, "--format", "json")
    assert r.returncode == 4 and r.stdout == "", (r.stdout, r.stderr)
    assert r.stderr.startswith(f"error [invalid_input]: `{param}`: ")
    assert not KeyStore(tmp_path).active()


def test_usage_prints_the_metered_counts(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    _, key = store.create(scopes=["read"], known=["bars_daily"])
    store.add_usage({(key.id, "bars_daily", "2026-01-02"): [3, 1, 40, 900],
                     (key.id, "bars_daily", "2026-01-03"): [2, 0, 10, 100],
                     ("local", "-", "2026-01-03"): [1, 0, 1, 50]}, {})
    rows = json.loads(mw(tmp_path, "usage", "--format", "json").stdout)
    assert [(r["key_id"], r["dataset"], r["requests"], r["errors"], r["rows"], r["bytes"]) for r in rows] == sorted([
        (key.id, "bars_daily", 5, 1, 50, 1000), ("local", "-", 1, 0, 1, 50)])
    rows = json.loads(mw(tmp_path, "usage", "--key", key.id, "--by-day", "--since", "2026-01-03", "--format",
                         "json").stdout)
    assert [(r["day"], r["requests"]) for r in rows] == [("2026-01-03", 2)]
    r = mw(tmp_path, "usage", "--since", "yesterday")
    assert r.returncode == 4 and "`since`" in r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_on_all_interfaces_without_keys_refuses_to_start(tmp_path: Path) -> None:
    port = _free_port()
    started = time.monotonic()
    r = mw(tmp_path, "serve", "--host", "0.0.0.0", "--port", str(port), timeout=60)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "error [keys_required]: refusing to serve on 0.0.0.0" in r.stderr
    assert "marketwire keys create" in r.stderr and "--insecure" in r.stderr
    assert "Uvicorn running" not in r.stderr and time.monotonic() - started < 60
    # it did not bind: the port is still free on loopback
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
    r = mw(tmp_path, "serve", "--host", "0.0.0.0", "--rate-limit", "fast")
    assert r.returncode == 4 and "`rate-limit`" in r.stderr


def test_serve_on_loopback_answers_and_requires_keys_when_asked(tmp_path: Path) -> None:
    """A real server on 127.0.0.1: no key needed by default; with --require-keys a key is."""
    import urllib.error
    import urllib.request

    token, _ = KeyStore(tmp_path).create(scopes=["read"], known=[])
    for flags, expect in (((), 200), (("--require-keys",), 401)):
        env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        with ServedHome(tmp_path, *flags, env=env, healthy=(expect,)) as base:  # answered `expect` first
            url = f"{base}/v1/health"
            req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(req, timeout=5) as resp:
                assert resp.status == 200 and resp.headers["RateLimit-Policy"] == '"key";q=600;w=60'
            bad = urllib.request.Request(url, headers={"Host": "rebind.example"})
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(bad, timeout=5)
            assert e.value.code == 400 and json.loads(e.value.read())["error"]["code"] == "invalid_host"


def test_news_add_is_handed_to_the_running_server_and_done_here_without_one(tmp_path: Path) -> None:
    """`serve` publishes a run file (owner-only) with a token; `news add` posts the files to that server, which
    has the models loaded; nobody without the token, and no other route, gets in by it; when the server stops the
    file goes, and a run file left by a dead process is ignored."""
    import urllib.error
    import urllib.request

    story = tmp_path / "wire" / "story.txt"
    story.parent.mkdir()
    story.write_text("Siemens raises its outlook\n\nMunich-based Siemens AG raised its full-year forecast on "
                     "Thursday after orders rose 12% in the third quarter, the company said.\n")
    home = tmp_path / "home"
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "marketwire.cli", "--home", str(home), "serve", "--port",
                             str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    run = home / "run" / "server.json"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=5)
                break
            except OSError:
                time.sleep(0.25)
        info = json.loads(run.read_text())
        assert info["url"] == f"http://127.0.0.1:{port}" and info["pid"] == proc.pid
        assert run.stat().st_mode & 0o077 == 0  # readable by the owner only
        url = f"http://127.0.0.1:{port}/v1/local/news/files"
        for headers in ({}, {"x-marketwire-local": "not-the-token"}, {"Authorization": f"Bearer {info['token']}"}):
            req = urllib.request.Request(url, data=json.dumps({"paths": [str(story)]}).encode(), method="POST",
                                         headers={"content-type": "application/json", **headers})
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req, timeout=30)
            assert e.value.code == 403
        r = mw(home, "news", "add", str(story), "--format", "json", timeout=300)
        assert r.returncode == 0, r.stderr
        [row] = json.loads(r.stdout)
        assert row["status"] == "new" and row["url"] == str(story) and row["language"] == "en"
        r = mw(home, "news", "add", str(tmp_path / "missing.txt"), timeout=60)
        assert r.returncode != 0 and "missing.txt" in r.stderr and "Traceback" not in r.stderr
    finally:
        proc.terminate()
        log = proc.communicate(timeout=60)[0]
    assert "POST /v1/local/news/files HTTP/1.1\" 200" in log  # the server did the work
    assert not run.exists()  # withdrawn at shutdown
    # a run file of a process that is gone: the command does the work itself
    run.parent.mkdir(exist_ok=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    run.write_text(json.dumps({"url": f"http://127.0.0.1:{port}", "pid": int(dead.stdout), "token": "x"}))
    r = mw(home, "news", "add", str(story), "--format", "json", timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["status"] == "unchanged"
