"""Permanent ids that are never reused.

An id is minted once for an entity and registered under every natural key that evidences the entity (each
observation of a listing, an ISIN, the listing ids of a security...). A later build finds the entity by any of its
keys and keeps its id, so loading older history, or a new source, does not renumber anything. Ids are
``MW`` + kind letter + 10 Crockford base-32 characters of a hash of the first key, so they are also stable across
independently built lakes that saw the same first evidence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = {"issuer": "MWI", "security": "MWS", "listing": "MWL"}


def mint(kind: str, key: str, taken: set[str]) -> str:
    salt = 0
    while True:
        h = int.from_bytes(hashlib.blake2b(f"{kind}|{key}|{salt}".encode(), digest_size=8).digest(), "big")
        body = "".join(_ALPHABET[(h >> (5 * i)) & 31] for i in range(10))
        ident = PREFIX[kind] + body
        if ident not in taken:
            taken.add(ident)
            return ident
        salt += 1


class Registry:
    """Natural key -> permanent id, per kind. ``new`` holds registrations made in this build."""

    def __init__(self, rows: Iterable[tuple[str, str, str]]) -> None:
        self.by_key: dict[tuple[str, str], str] = {}
        self.taken: set[str] = set()
        for kind, key, ident in rows:
            self.by_key.setdefault((kind, key), ident)
            self.taken.add(ident)
        self.new: list[tuple[str, str, str]] = []
        self._unchosen: dict[tuple[str, str], str] = {}

    def assign(self, kind: str, keys: list[str], claimed: set[str]) -> str:
        """The id of the entity evidenced by ``keys``: an existing one if any key has one, else a new id.

        ``claimed`` holds ids already given to another entity in this build, so that two entities that once
        shared evidence (a ticker later recycled) never end up with one id.
        """
        found = [self.by_key[(kind, k)] for k in keys if (kind, k) in self.by_key]
        ident = next((i for i in found if i not in claimed), None)
        if ident is None:
            ident = mint(kind, keys[0], self.taken)
        claimed.add(ident)
        for other in found:
            if other != ident:
                self._unchosen.setdefault((kind, other), ident)
        for k in keys:
            if (kind, k) not in self.by_key:
                self.by_key[(kind, k)] = ident
                self.new.append((kind, k, ident))
        return ident

    def record_merges(self, kind: str, claimed: set[str]) -> None:
        """Ids of ``kind`` that evidence now places inside another entity live on as aliases of it.

        Registered as kind ``merged:<kind>``, key = the old id, id = the surviving id; resolving an old id
        answers with the survivor, so an id once given out never stops working and is never given to another.
        """
        for (k, old), new in self._unchosen.items():
            if k == kind and old not in claimed and ("merged:" + kind, old) not in self.by_key:
                self.by_key[("merged:" + kind, old)] = new
                self.new.append(("merged:" + kind, old, new))
