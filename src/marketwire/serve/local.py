"""The running server of a home, for commands of the same user on the same machine.

``marketwire serve`` on a loopback address writes ``<home>/run/server.json`` (the URL, its process id and a token
made for this run; readable by the owner only) and removes it when it stops. A command that would otherwise load
the whole platform to do one small write (``marketwire news add story.txt``: language, entity and story models)
hands the work to that server instead, which has everything loaded: it answers in a fraction of a second.

The token admits only ``/v1/local/*`` routes, only from a loopback client, and only with this exact token: whoever
can read the file is the server's own user (or root), who can read the home and the files anyway, so the hand-off
gives nobody a right they did not have (docs/security.md). When the file is missing, its process is gone, or the
server does not answer, the command does the work itself. Standard library only: the command has loaded nothing
else when it asks.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

RUN_FILE = Path("run") / "server.json"
#: the header a hand-off request carries its token in (never a key: keys are Bearer tokens)
HEADER = "x-marketwire-local"


def publish(home: Path, url: str) -> str:
    """Write the run file of a server at ``url`` (this process) and return its new token."""
    token = secrets.token_urlsafe(32)
    path = home / RUN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"url": url, "pid": os.getpid(), "token": token}, fh)
    os.replace(tmp, path)
    return token


def withdraw(home: Path, token: str) -> None:
    """Remove the run file if it is still this server's (a later server may have replaced it)."""
    path = home / RUN_FILE
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("token") == token:
            path.unlink()


def find(home: Path) -> tuple[str, str] | None:
    """(URL, token) of the server running for ``home``, or None."""
    path = home / RUN_FILE
    try:
        info = json.loads(path.read_text())
        url, pid, token = str(info["url"]), int(info["pid"]), str(info["token"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # left by a server that was killed
    except PermissionError:
        pass  # another user's process: the request decides
    return url, token


def post(url: str, token: str, path: str, body: dict[str, Any], timeout: float = 600.0) -> tuple[int, Any] | None:
    """POST ``body`` as JSON to the server; (status, decoded answer), or None when it cannot be reached."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url.rstrip("/") + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json", HEADER: token})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - a loopback URL we wrote
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"null")
        except ValueError:
            return e.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return None
