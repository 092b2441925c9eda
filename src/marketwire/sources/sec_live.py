"""Live access to SEC EDGAR for users with internet, under the SEC's fair-access rules: every request declares a
User-Agent naming the user (``$MARKETWIRE_SEC_USER_AGENT``, e.g. ``"Example Corp admin@example.com"``; the SEC
refuses anonymous clients) and the process never sends more than 10 requests per second (requests are spaced by at
least ``1 / $MARKETWIRE_SEC_MAX_RPS`` seconds, default 10; a lower rate may be set, a higher one is refused).

``$MARKETWIRE_SEC_BASE`` replaces ``https://data.sec.gov`` (a mirror, or a local server in tests).
"""

from __future__ import annotations

import os
import threading
import time
import urllib.error
import urllib.request

from marketwire.errors import InvalidInput, SourceError
from marketwire.sources.base import Query, RawFile

SEC_BASE = "https://data.sec.gov"
MAX_RPS = 10.0

_lock = threading.Lock()
_last = [0.0]


def base() -> str:
    return os.environ.get("MARKETWIRE_SEC_BASE", SEC_BASE).rstrip("/")


def user_agent() -> str:
    ua = os.environ.get("MARKETWIRE_SEC_USER_AGENT", "").strip()
    if not ua or "@" not in ua:
        raise InvalidInput("`MARKETWIRE_SEC_USER_AGENT`: the SEC requires a User-Agent naming you and an email "
                           "address, e.g. MARKETWIRE_SEC_USER_AGENT=\"Example Corp admin@example.com\"",
                           param="MARKETWIRE_SEC_USER_AGENT")
    return ua


def rate() -> float:
    raw = os.environ.get("MARKETWIRE_SEC_MAX_RPS", "")
    try:
        r = float(raw) if raw else MAX_RPS
    except ValueError:
        raise InvalidInput(f"`MARKETWIRE_SEC_MAX_RPS`: {raw!r} is not a number",
                           param="MARKETWIRE_SEC_MAX_RPS") from None
    if not 0 < r <= MAX_RPS:
        raise InvalidInput(f"`MARKETWIRE_SEC_MAX_RPS`: {r} is outside (0, {MAX_RPS:g}] (the SEC's limit)",
                           param="MARKETWIRE_SEC_MAX_RPS")
    return r


def _wait() -> None:
    """Space this process's requests by at least 1 / rate seconds."""
    gap = 1.0 / rate()
    with _lock:
        now = time.monotonic()
        delay = _last[0] + gap - now
        if delay > 0:
            time.sleep(delay)
        _last[0] = time.monotonic()


def fetch(url: str, timeout: float = 60.0) -> RawFile:
    """One GET under the fair-access rules; an HTTP error is a :class:`SourceError` naming the URL (429 and 5xx are
    transient)."""
    ua = user_agent()
    _wait()
    req = urllib.request.Request(url, headers={"User-Agent": ua, "Accept-Encoding": "identity",
                                               "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return RawFile(url, resp.read())
    except urllib.error.HTTPError as e:
        raise SourceError(f"{url}: HTTP {e.code} {e.reason}", transient=e.code == 429 or e.code >= 500,
                          url=url) from e
    except OSError as e:
        raise SourceError(f"{url}: cannot download ({e})", transient=True, url=url) from e


def cik_of(text: str) -> int:
    t = str(text).strip().upper().removeprefix("CIK:").removeprefix("CIK").strip()
    if not t.isdigit() or len(t) > 10:
        raise InvalidInput(f"`symbol`: {text!r} is not a CIK (CIK:320193 or 320193)", param="symbol", value=text)
    return int(t)


def urls(query: Query, path: str, example: str = "CIK:320193,CIK:1652044") -> list[str]:
    """The live URLs of the companies a query names (``--symbol CIK:320193,CIK:1652044``): ``path`` with ``{cik}``
    (ten digits), under :func:`base`."""
    ciks = [cik_of(c) for c in str(query.options.get("symbol") or "").split(",") if c.strip()]
    if not ciks:
        raise InvalidInput(f"`symbol`: name the companies to download (--symbol {example}) or give files",
                           param="symbol")
    return [f"{base()}/{path.format(cik=f'{c:010d}')}" for c in ciks]
