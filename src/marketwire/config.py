"""Where the lake lives and where reference data is read from."""

from __future__ import annotations

import os
from pathlib import Path


def default_home() -> Path:
    """``$MARKETWIRE_HOME``, else a per-user data folder."""
    env = os.environ.get("MARKETWIRE_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "marketwire"


def resolve_home(home: str | os.PathLike[str] | None) -> Path:
    """``home`` if given, else :func:`default_home`."""
    return Path(home).expanduser() if home else default_home()
