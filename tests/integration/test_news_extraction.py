"""Article extraction: the 181-page benchmark scored with its own metric, and behaviours on small hand-written pages."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from conftest import benchmark_module, shared_data

from marketwire.news.extract import MAX_INPUT_BYTES, extract

pytestmark = pytest.mark.integration

# Reached on trafilatura 2.3.1: F1 0.9761, precision 0.9688, recall 0.9836. The floors sit just under, so that a
# dependency upgrade or a change to the repairs that costs quality fails here rather than in production.
MIN_F1 = 0.975
MIN_PRECISION = 0.965
MIN_RECALL = 0.98


def _benchmark_module() -> ModuleType:
    return benchmark_module("news_extraction")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _benchmark_module()


@pytest.fixture(scope="module")
def benchmark_folder() -> Path:
    folder = shared_data() / "news-eval" / "extraction-benchmark"
    if not (folder / "ground-truth.json").is_file():
        pytest.skip(f"article extraction benchmark not found at {folder} (set MARKETWIRE_DATA to the shared data folder)")
    return folder


def test_benchmark_f1_with_the_benchmarks_own_metric(bench, benchmark_folder):
    pages = bench.load_pages(benchmark_folder)
    assert len(pages) == 181
    results = {p.key: extract(p.html, p.url) for p in pages}
    assert {r.status for r in results.values()} == {"ok"}
    score = bench.score({p.key: p.gold for p in pages}, {k: r.body for k, r in results.items()}, n_bootstrap=0)
    assert score.f1 >= MIN_F1, score
    assert score.precision >= MIN_PRECISION, score
    assert score.recall >= MIN_RECALL, score


def test_metric_matches_the_benchmarks_edge_cases(bench):
    assert bench.tp_fp_fn("", "") == (0.0, 0.0, 0.0)
    assert bench.tp_fp_fn("one two three", "one two three") == (1.0, 0.0, 0.0)  # under 4 tokens: one shingle
    empty = bench.tp_fp_fn("a b c d e", "")
    assert empty == (0.0, 0.0, 1.0) and bench.page_recall(empty) == 0.0
    # an empty prediction is left out of the precision average and counts 0 in the recall average
    p, r, _ = bench.aggregate([bench.tp_fp_fn("a b c d e", "a b c d e"), empty])
    assert (p, r) == (1.0, 0.5)
    assert bench.tokens("Don't stop—it's 5.30!") == ["Don", "t", "stop", "it", "s", "5", "30"]


# --- small pages -----------------------------------------------------------------------------------------------

PARAGRAPHS = [
    "L'action Exemple a bondi de 12 % mardi après la publication de résultats trimestriels supérieurs aux attentes "
    "des analystes, portés par une forte demande européenne.",
    "Le chiffre d'affaires a progressé de 18 % sur un an, à 4,2 milliards d'euros, tandis que la marge "
    "opérationnelle s'est améliorée de deux points grâce aux économies réalisées.",
    "La direction a relevé ses prévisions annuelles et annoncé un programme de rachat d'actions de 500 millions "
    "d'euros, qui débutera au prochain trimestre.",
]

CHROME = [
    "Accueil",
    "Marchés",
    "Nous utilisons des cookies",
    "Publicité",
    "Ouvrez un compte de trading",
    "Autre article un",
    "Tous droits réservés",
    "Mentions légales",
    "Sign up for our newsletter",
    "Advertisement",
]


def _page(charset: str = "utf-8", body_extra: str = "") -> str:
    p1, p2, p3 = (f"<p>{text}</p>" for text in PARAGRAPHS)
    return f"""<!DOCTYPE html><html lang="fr_fr"><head><meta charset="{charset}">
<title>Résultats trimestriels record | Exemple News</title>
<meta property="og:site_name" content="Exemple News">
<meta property="article:published_time" content="2024-10-22T09:15:00+02:00">
<meta name="author" content="Jeanne Dupont"><link rel="canonical" href="/articles/resultats"></head>
<body><nav><ul><li><a href="/">Accueil</a></li><li><a href="/marches">Marchés</a></li></ul></nav>
<div id="cookie-banner">Nous utilisons des cookies pour améliorer votre expérience. Accepter tout</div>
<article><h1>Résultats trimestriels record</h1>{p1}
<div class="ad advertisement">Publicité : Ouvrez un compte de trading aujourd'hui et recevez 100 euros</div>
<p>Advertisement</p>{p2}<p>Sign up for our newsletter to get the morning briefing.</p>{p3}{body_extra}</article>
<aside class="related"><h3>À lire aussi</h3><ul><li><a href="/a">Autre article un</a></li>
<li><a href="/b">Autre article deux</a></li></ul></aside>
<footer><p>© 2024 Exemple News. Tous droits réservés.</p><a href="/mentions">Mentions légales</a></footer>
</body></html>"""


def test_article_text_without_navigation_ads_banners_related_or_footer():
    got = extract(_page().encode(), "https://news.example.com/marches/x")
    assert got.status == "ok" and got.reason is None
    assert got.body == "\n\n".join(PARAGRAPHS)
    for chrome in CHROME:
        assert chrome not in got.body
    assert got.title == "Résultats trimestriels record"
    assert got.language == "fr-FR"
    assert got.published == "2024-10-22T09:15:00+02:00"
    assert got.authors == ("Jeanne Dupont",)
    assert got.site_name == "Exemple News"
    assert got.canonical_url == "https://news.example.com/articles/resultats"
    assert got.method == "trafilatura-precision"
    assert got.encoding == "utf-8"


@pytest.mark.parametrize(
    ("data", "hint", "encoding"),
    [
        (_page("utf-8").encode("cp1252"), None, "cp1252"),  # declared UTF-8, written in Windows-1252
        (_page("").replace('<meta charset="">', "").encode("cp1252"), None, "cp1252"),  # no declaration at all
        (_page("iso-8859-1").encode("utf-8"), None, "utf-8"),  # declared Latin-1, written in UTF-8
        (_page("utf-8").encode("cp1252"), "windows-1252", "cp1252"),  # named by the transport
        (b"\xef\xbb\xbf" + _page("iso-8859-1").encode("utf-8"), None, "utf-8"),  # a BOM beats the declaration
        (_page("utf-16").encode("utf-16"), None, "utf-16-le"),
    ],
    ids=["cp1252-declared-utf8", "cp1252-undeclared", "utf8-declared-latin1", "charset-hint", "utf8-bom", "utf16-bom"],
)
def test_wrong_or_missing_encodings_are_decoded(data, hint, encoding):
    got = extract(data, charset=hint)
    assert got.encoding == encoding
    assert got.body == "\n\n".join(PARAGRAPHS)
    assert got.title == "Résultats trimestriels record"


def test_declared_encoding_of_a_non_western_page_is_used():
    text = "日本銀行は金曜日、金融政策決定会合で大規模な金融緩和策の維持を決めた。市場では円安が進み、株価は上昇した。"
    head = '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
    page = f"<html><head>{head}</head><body><article><p>{text}</p></article></body></html>"
    got = extract(page.encode("shift_jis"))
    assert (got.encoding, got.body) == ("shift_jis", text)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", "not_html"),
        (b" \n\t ", "not_html"),
        ("", "not_html"),
        (b"\x00\x01\x02\xff\xfe binary", "not_html"),
        ("<html><head><title>Nothing</title></head><body></body></html>", "no_text"),
        (
            '<html><body><nav><a href="/">Home</a> <a href="/about">About</a></nav><footer>© 2024</footer></body></html>',
            "no_text",
        ),
    ],
    ids=["empty-bytes", "whitespace", "empty-str", "binary", "empty-body", "navigation-only"],
)
def test_pages_without_an_article_give_an_empty_body_and_a_reason(data, status):
    got = extract(data)
    assert (got.status, got.body, got.method) == (status, "", "none")
    assert got.reason and not got.ok


def test_a_home_page_of_headlines_is_not_an_article():
    teasers = "".join(
        f'<div class="teaser"><h2><a href="/s{i}">Headline number {i} about the markets</a></h2><span>{i} min ago</span></div>'
        for i in range(30)
    )
    got = extract(f"<html><head><title>Example News</title></head><body><main>{teasers}</main></body></html>")
    assert (got.status, got.body) == ("no_text", "")
    assert "link" in (got.reason or "")


def test_oversized_input_is_refused_with_the_cap_in_the_status():
    got = extract(b"<html>" + b" " * MAX_INPUT_BYTES + b"</html>")
    assert (got.status, got.body) == ("too_large", "")
    assert f"{MAX_INPUT_BYTES:,}" in (got.reason or "")


def test_a_fragment_such_as_a_feed_items_html_is_extracted():
    got = extract(f"<p>{PARAGRAPHS[0]}</p><p>{PARAGRAPHS[1]}</p>")
    assert got.status == "ok"
    assert got.body == "\n\n".join(PARAGRAPHS[:2])


def test_an_article_body_split_around_an_ad_is_joined():
    def piece(texts: list[str]) -> str:
        paragraphs = "".join(f"<p>{t}</p>" for t in texts)
        return f'<div class="grid"><div class="body article__body">{paragraphs}</div></div>'

    page = (
        "<html><head><title>Split</title></head><body><article>"
        + piece(PARAGRAPHS[:2])
        + '<div class="full-bleed-ad"><span class="ad-label">Advertisement</span></div>'
        + piece(PARAGRAPHS[2:])
        + "</article></body></html>"
    )
    assert extract(page).body == "\n\n".join(PARAGRAPHS)


def test_quoted_tweets_are_kept_and_related_link_lists_are_not():
    tweet = (
        '<div class="social-media-embed"><blockquote class="twitter-tweet"><p lang="en">Markets are open and the '
        "bell has rung on another volatile day of trading</p>&mdash; A Trader (@trader) "
        '<a href="https://twitter.com/trader/status/1">October 22, 2024</a></blockquote></div>'
    )
    related = (
        '<div class="heading-h3">More Great Stories</div><ul><li>Why rates matter, <a href="/r1">explained</a></li>'
        '<li>The bond market <a href="/r2">in five charts</a></li><li>What investors <a href="/r3">fear most</a></li></ul>'
    )
    got = extract(_page(body_extra=tweet + related).encode())
    assert "bell has rung on another volatile day" in got.body
    for gone in ("More Great Stories", "Why rates matter", "in five charts"):
        assert gone not in got.body


def test_metadata_from_json_ld_and_og_locale_when_the_html_tag_says_nothing():
    graph = (
        '{"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "name": "Wire"}, '
        '{"@type": "NewsArticle", "headline": "Rates on hold", "datePublished": "2024-03-05T14:00:00Z"}]}'
    )
    page = (
        '<html><head><meta property="og:locale" content="de_DE"><meta property="og:url" content="https://wire.example/a/1">'
        f'<script type="application/ld+json">{graph}</script><title>Rates on hold</title></head>'
        f"<body><article><p>{PARAGRAPHS[0]}</p></article></body></html>"
    )
    got = extract(page, "https://wire.example/feed")
    assert (got.language, got.published, got.canonical_url) == ("de-DE", "2024-03-05T14:00:00+00:00", "https://wire.example/a/1")
    dated = page.replace("2024-03-05T14:00:00Z", "2024-03-05")
    assert extract(dated).published == "2024-03-05"
