"""A local lake's state read with the standard library alone: table versions from the Delta logs and the
published manifests.

:class:`~marketwire.store.lake.Lake` reads them through here; so does a command that answers from a cache built for
the current state without loading the data stack (``marketwire resolve``: :mod:`marketwire.identity.point`).
Versions of a lake on object storage need the Delta reader: :class:`LakeState` answers ``None`` for them
(:attr:`local` is False) and the lake asks deltalake.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def local_path(uri: str) -> str:
    return uri[len("file://"):] if uri.startswith("file://") else uri


class LakeState:
    """Versions and manifests of the lake at ``root`` (a folder or a ``file://`` URI)."""

    def __init__(self, root: str | Path) -> None:
        self.root = str(root).rstrip("/")
        self.local = is_local(self.root)
        self._pins_seen: tuple[Any, dict[str, int]] = ((), {})

    def manifest_dir(self) -> Path | None:
        return Path(local_path(self.root)) / "_manifests" if self.local else None

    def manifest(self, name: str) -> dict[str, Any] | None:
        """The manifest ``name`` (see :meth:`marketwire.store.lake.Lake.publish`), or None."""
        folder = self.manifest_dir()
        if folder is None:
            return None
        try:
            return dict(json.loads((folder / f"{name}.json").read_text()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):  # unreadable: treated as never published (the build runs again)
            return None

    def pins(self) -> dict[str, int]:
        """Table -> the version published for it by a manifest (tables no manifest names are read as they are)."""
        folder = self.manifest_dir()
        if folder is None:
            return {}
        try:
            entries = sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in os.scandir(folder)
                             if e.name.endswith(".json") and not e.name.startswith("."))
        except FileNotFoundError:
            return {}
        seen, pins = self._pins_seen
        if seen == tuple(entries):
            return pins
        pins = {}
        for fname, _, _ in entries:
            m = self.manifest(fname[:-5]) or {}
            for table, v in (m.get("outputs") or {}).items():
                if v is not None:
                    pins[table] = int(v)
        self._pins_seen = (tuple(entries), pins)
        return pins

    def committed_version(self, name: str) -> int | None:
        """The table's last committed Delta version (the newest commit file of its log), None when it does not
        exist; None too for a lake on object storage (ask the lake)."""
        if not self.local:
            return None
        log = Path(local_path(f"{self.root}/{name}")) / "_delta_log"
        try:
            nums = [int(e.name[:20]) for e in os.scandir(log) if e.name.endswith(".json") and e.name[:20].isdigit()]
        except FileNotFoundError:
            return None
        return max(nums) if nums else None

    def version(self, name: str) -> int | None:
        """The version readers see: the published one for a table a manifest names, else the last committed."""
        pin = self.pins().get(name)
        return pin if pin is not None else self.committed_version(name)

    def versions(self, names: list[str] | tuple[str, ...]) -> dict[str, int | None]:
        return {n: self.version(n) for n in names}
