"""The wire's serving index (SQLite FTS5, derived from the lake): text search semantics, filters, paging, staying in
step with writers, rebuilding when deleted, and point-in-time questions answered from the lake."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

import marketwire
from marketwire.errors import InvalidInput
from marketwire.news.search import ArticleIndex, fts_query

pytestmark = pytest.mark.unit

ARTICLES = {
    "bce": ("La BCE maintient ses taux", "La Banque centrale européenne a laissé ses taux inchangés jeudi à "
            "Francfort. Christine Lagarde a évoqué les banques de la zone euro.", "2024-03-07T13:00:00+00:00"),
    "teheran": ("Téhéran et Moscou", "Le président iranien Masoud Pezeshkian a rencontré Vladimir Poutine au "
                "Turkménistan. Les systèmes S-400 intéressent Téhéran.", "2024-10-11T14:30:00+00:00"),
    "wall": ("Wall Street termine en baisse", "À Wall Street, le Dow Jones a reculé de 0,68% vendredi. Les "
             "investisseurs restent prudents.", "2024-07-24T21:00:00+00:00"),
    "siemens": ("Siemens hebt Prognose an", "Der Münchner Konzern Siemens hebt nach einem starken Quartal die "
                "Prognose an. Der Gewinn stieg um 12 Prozent, der Umsatz auf 19,8 Milliarden Euro.",
                "2024-05-15T07:00:00+00:00"),
}


@pytest.fixture()
def wire(tmp_path: Path) -> tuple[marketwire.Marketwire, dict[str, str]]:
    mw = marketwire.open(tmp_path / "home")
    ids = {}
    for key, (title, body, published) in ARTICLES.items():
        f = tmp_path / f"{key}.txt"
        f.write_text(f"{title}\n{body}\n", encoding="utf-8")
        (added,) = mw.articles().add([str(f)], source="Desk", published=published)
        ids[key] = added.article_id
    return mw, ids


def _ids(mw: marketwire.Marketwire, **kw: object) -> list[str]:
    return [a["id"] for a in mw.articles().list(**kw)]


def test_text_search_words_prefixes_accents_and_phrases(wire) -> None:
    mw, ids = wire
    assert _ids(mw, q="teheran") == [ids["teheran"]]            # accents ignored
    assert _ids(mw, q="TÉHÉRAN pezeshkian") == [ids["teheran"]]  # every word required, case ignored
    assert _ids(mw, q="banque") == [ids["bce"]]                  # a word finds its plural ("banques")
    assert _ids(mw, q='"wall street"') == [ids["wall"]]
    assert _ids(mw, q='"street wall"') == []                     # a phrase is in order
    assert _ids(mw, q="S-400") == [ids["teheran"]]
    assert _ids(mw, q="teheran siemens") == []
    # a title hit ranks above a body hit
    assert _ids(mw, q="taux")[0] == ids["bce"]
    with pytest.raises(InvalidInput, match="q"):
        mw.articles().list(q='"" ,;')


def test_filters_paging_and_order(wire) -> None:
    mw, ids = wire
    assert _ids(mw) == [ids[k] for k in ("teheran", "wall", "siemens", "bce")]  # newest first
    assert _ids(mw, limit=2, offset=1) == [ids["wall"], ids["siemens"]]
    assert _ids(mw, lang="de") == [ids["siemens"]]
    assert _ids(mw, country="ir") == [ids["teheran"]]
    assert _ids(mw, entity="person:vladimir-putin") == [ids["teheran"]]
    assert _ids(mw, entity="pezeshkian") == [ids["teheran"]]     # words of a linked name
    assert _ids(mw, source="DESK", since=datetime(2024, 7, 1, tzinfo=timezone.utc)) == [ids["teheran"], ids["wall"]]
    # both bounds are included (siemens is published at 07:00 exactly), on the index and on the lake (as_of)
    later = datetime(2030, 1, 1, tzinfo=timezone.utc)
    for as_of in (None, later):
        assert _ids(mw, until=datetime(2024, 5, 15, 6, 59, 59, tzinfo=timezone.utc), as_of=as_of) == [ids["bce"]]
        assert _ids(mw, until=datetime(2024, 5, 15, 7, tzinfo=timezone.utc), as_of=as_of) == \
            [ids["siemens"], ids["bce"]]
        assert _ids(mw, since=datetime(2024, 5, 15, 7, tzinfo=timezone.utc), as_of=as_of)[-1] == ids["siemens"]
        assert ids["siemens"] not in _ids(mw, since=datetime(2024, 5, 15, 7, 0, 1, tzinfo=timezone.utc), as_of=as_of)
    assert _ids(mw, topic="earnings") == [ids["siemens"]]
    stories = mw.articles().stories(country="RU")
    assert [s["article_ids"] for s in stories] == [[ids["teheran"]]]
    with pytest.raises(InvalidInput, match="offset"):
        mw.articles().list(offset=-1)


def test_the_index_follows_writers_and_is_rebuilt_when_deleted(wire, tmp_path: Path) -> None:
    mw, ids = wire
    reader = mw.articles()
    assert len(reader.list()) == 4
    f = tmp_path / "late.txt"
    f.write_text("Brent en hausse\nLe baril de Brent a gagné 2% à Londres.\n", encoding="utf-8")
    (late,) = marketwire.open(tmp_path / "home").articles().add([str(f)])  # another writer
    assert late.article_id in _ids(mw, q="brent") and len(reader.list()) == 5
    index = reader.search_index()
    assert isinstance(index, ArticleIndex) and index.path.is_file()
    for p in index.path.parent.glob("articles.sqlite*"):
        p.unlink()
    assert _ids(mw, q="brent") == [late.article_id] and len(reader.list()) == 5


def test_point_in_time_questions_come_from_the_lake(wire, tmp_path: Path) -> None:
    mw, ids = wire
    before = datetime.now(timezone.utc)
    f = tmp_path / "later.txt"
    f.write_text("Or record\nL'once d'or a atteint un record à Londres.\n", encoding="utf-8")
    (later,) = mw.articles().add([str(f)])
    assert later.article_id in _ids(mw)
    assert later.article_id not in _ids(mw, as_of=before)
    assert _ids(mw, q="teheran", as_of=before) == [ids["teheran"]]
    assert mw.articles().show(ids["bce"], as_of=before)["title"] == "La BCE maintient ses taux"


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('banque "Wall Street" S-400') == '"wall street" AND "banque"* AND "s-400"*'
    assert fts_query("AND OR NOT near(") == '"and"* AND "or"* AND "not"* AND "near("*'  # operators are words here
    assert fts_query('l"oréal') == '"l""oreal"*'  # a stray quote is a character, doubled inside the string
    assert fts_query(' "" - ') is None


def test_questions_are_answered_by_the_index(wire, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the lake's own query path broken, the current wire still answers: the index does the work."""
    import sqlite3

    from marketwire.news.articles import ArticleStore

    mw, ids = wire
    st = mw.articles()
    assert len(st.list()) == 4  # builds the index
    con = sqlite3.connect(st.search_index().path)
    assert con.execute("SELECT count(*) FROM a").fetchone() == (4,)
    assert con.execute("SELECT count(*) FROM f WHERE f MATCH 'pezeshkian'").fetchone() == (1,)
    con.close()

    def broken(*a: object, **k: object) -> None:
        raise AssertionError("the lake path was used")

    monkeypatch.setattr(ArticleStore, "_filters", broken)
    assert [a["id"] for a in st.list(q="teheran")] == [ids["teheran"]]
    assert st.show(ids["bce"])["id"] == ids["bce"]


def test_a_revision_replaces_the_indexed_text(wire, tmp_path: Path) -> None:
    mw, ids = wire
    assert _ids(mw, q="francfort") == [ids["bce"]]
    f = tmp_path / "bce.txt"  # the same address, an edited text
    f.write_text("La BCE relève ses taux\nLa Banque centrale européenne a relevé ses taux à Bruxelles.\n",
                 encoding="utf-8")
    (rev,) = mw.articles().add([str(f)], source="Desk", published=ARTICLES["bce"][2])
    assert rev.status == "revised" and rev.article_id == ids["bce"]
    assert _ids(mw, q="francfort") == [] and _ids(mw, q="bruxelles") == [ids["bce"]]
    assert mw.articles().show(ids["bce"])["title"] == "La BCE relève ses taux"


def test_a_commit_stamped_earlier_than_what_the_index_holds_is_still_read(wire) -> None:
    """Index by commits, not by timestamps: a writer whose batch began before another's but committed after it."""
    import pyarrow as pa

    from marketwire.datasets.news import NEWS_ARTICLES

    mw, ids = wire
    assert len(mw.articles().list()) == 4  # the index is in step
    row = mw.lake.read(NEWS_ARTICLES, where="article_id = ?", params=[ids["wall"]]).to_pylist()[0]
    old = datetime(2001, 1, 1, tzinfo=timezone.utc)
    row.update(article_id="MWALATECOMMIT0000000", url="late", canonical_url="late", title="Nikkei en hausse",
               knowledge_time=old, ingested_at=old, ingest_id="late")
    mw.lake.append(NEWS_ARTICLES, pa.Table.from_pylist([row], schema=NEWS_ARTICLES.schema))
    assert _ids(mw, q="nikkei") == ["MWALATECOMMIT0000000"]
    assert len(mw.articles().list()) == 5


def test_text_in_other_scripts(tmp_path: Path) -> None:
    mw = marketwire.open(tmp_path / "home")
    f = tmp_path / "el.txt"
    f.write_text("Ελλάδα: νέα μέτρα\nΗ κυβέρνηση της Ελλάδας ανακοίνωσε νέα οικονομικά μέτρα στην Αθήνα.\n",
                 encoding="utf-8")
    (a,) = mw.articles().add([str(f)])
    assert _ids(mw, q="Ελλάδα") == [a.article_id] and _ids(mw, q="ελλαδα") == [a.article_id]
    assert _ids(mw, q="Αθήνα") == [a.article_id]


def test_without_a_usable_index_the_lake_answers(tmp_path: Path) -> None:
    mw = marketwire.open(tmp_path / "home")
    f = tmp_path / "a.txt"
    f.write_text("Téhéran et Moscou\nLe président iranien a rencontré Vladimir Poutine.\n", encoding="utf-8")
    st = mw.articles()
    blocked = st.search_index().path
    blocked.mkdir(parents=True)  # a folder where the index file should be: SQLite cannot open it
    (a,) = st.add([str(f)])
    assert [x["id"] for x in st.list(q="teheran")] == [a.article_id]
    assert st.show(a.article_id)["title"] == "Téhéran et Moscou"
    assert [s["article_ids"] for s in st.stories()] == [[a.article_id]]
