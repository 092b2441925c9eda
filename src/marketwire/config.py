"""Where the lake lives and where reference data is read from.

The lake folder (``home``) is, in this order:

1. the ``home`` given (``marketwire --home DIR``, ``marketwire.open(DIR)``);
2. ``$MARKETWIRE_HOME``;
3. the project lake: a folder named ``.marketwire`` in the current directory or the nearest parent that has one.
   ``make run`` builds and serves ``./.marketwire`` in the repository, so the CLI run anywhere inside the
   repository answers from the lake the server serves;
4. a per-user folder: ``$XDG_DATA_HOME/marketwire``, else ``~/.local/share/marketwire``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: the name of a project lake folder (``make run`` puts the lake in ``./.marketwire``)
PROJECT_LAKE = ".marketwire"


def project_home(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``.marketwire`` folder in ``start`` (default: the current directory) or one of its parents."""
    try:
        here = Path(start) if start is not None else Path.cwd()
    except OSError:  # the current directory was removed
        return None
    for d in (here, *here.parents):
        candidate = d / PROJECT_LAKE
        if candidate.is_dir():
            return candidate
    return None


def user_home() -> Path:
    """The per-user lake folder: ``$XDG_DATA_HOME/marketwire``, else ``~/.local/share/marketwire``."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "marketwire"


def default_home() -> Path:
    """``$MARKETWIRE_HOME``, else the project lake (:func:`project_home`), else the per-user folder."""
    env = os.environ.get("MARKETWIRE_HOME")
    if env:
        return Path(env).expanduser()
    return project_home() or user_home()


def resolve_home(home: str | os.PathLike[str] | None) -> Path:
    """``home`` if given, else :func:`default_home`."""
    return Path(home).expanduser() if home else default_home()


def is_empty(home: str | os.PathLike[str]) -> bool:
    """True when the lake in ``home`` holds no dataset at all (nothing was ever ingested there)."""
    lake = Path(home).expanduser() / "lake"
    try:
        return not any(p.is_dir() for p in lake.iterdir())
    except OSError:
        return True


def empty_hint(home: str | os.PathLike[str]) -> str:
    """What to say when a question meets an empty lake: where it looked and how to fill it."""
    return (f"the lake at {home} is empty: nothing has been loaded there. Fill it with `make run` from the "
            f"repository (it builds ./.marketwire), or `marketwire ingest SOURCE FILE...`; or point at another "
            f"lake with --home DIR or $MARKETWIRE_HOME")
