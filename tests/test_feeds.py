"""The Atom feed of a search, read by a real feed parser (feedparser)."""

from __future__ import annotations

import re
import urllib.parse

import feedparser
import pytest

from search.labels import category_label, source_label


def _feed(client, query: str):  # type: ignore[no-untyped-def]
    response = client.get("/feed.atom?" + query)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/atom+xml"
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, parsed.get("bozo_exception")  # well-formed, valid enough for a reader
    assert parsed.version == "atom10"
    return parsed


@pytest.mark.parametrize("q", ["الانترنت", "لبنان", "مصر"])
def test_a_search_is_a_valid_atom_feed_newest_first(client, q: str) -> None:  # type: ignore[no-untyped-def]
    parsed = _feed(client, "q=" + urllib.parse.quote(q) + "&sort=relevance")
    api = client.get("/api/search?q=" + urllib.parse.quote(q) + "&sort=newest").get_json()
    assert [urllib.parse.unquote(e.link.rsplit("/doc/", 1)[1]) for e in parsed.entries] == [r["id"] for r in api["results"]]
    assert q in parsed.feed.title and parsed.feed.language == "ar"
    published = [e.published_parsed for e in parsed.entries if e.get("published_parsed")]
    assert published == sorted(published, reverse=True)
    ids = [e.id for e in parsed.entries]
    assert len(ids) == len(set(ids)) and all(e.title and e.updated for e in parsed.entries)
    assert any(link.rel == "self" for link in parsed.feed.links)


def test_the_feed_never_takes_its_links_from_the_host_header(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/feed.atom?q=" + urllib.parse.quote("لبنان"), headers={"Host": "evil.example"}).get_data(as_text=True)
    assert "evil.example" not in body
    parsed = feedparser.parse(body.encode())
    assert all(e.id.startswith("urn:baheth:doc/") for e in parsed.entries)


def test_filters_and_per_page_shape_the_feed(client) -> None:  # type: ignore[no-untyped-def]
    parsed = _feed(client, "q=" + urllib.parse.quote("الانترنت") + "&per_page=2")
    assert len(parsed.entries) == 2


@pytest.mark.parametrize(
    ("query", "status"),
    [("", 400), ("q=x&per_page=0", 400), ("q=x&from=yesterday", 400), ("q=" + urllib.parse.quote("\x01\x1f\ufffe مصر"), 200)],
)
def test_bad_requests_are_400_and_odd_text_stays_valid_xml(client, query: str, status: int) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/feed.atom?" + query)
    assert response.status_code == status
    if status == 200:
        assert not feedparser.parse(response.get_data()).bozo


def test_the_page_links_its_feed(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/?q=" + urllib.parse.quote("لبنان") + "&sort=newest&page=1").get_data(as_text=True)
    link = re.search(r'<link rel="alternate" type="application/atom\+xml" title="[^"]*" href="([^"]+)"', page)
    assert link and "/feed.atom?" in link.group(1) and "sort=" not in link.group(1)
    assert client.get(link.group(1).replace("&amp;", "&")).status_code == 200


def test_the_article_page_has_a_citation_with_source_date_title_and_permalink(client) -> None:  # type: ignore[no-untyped-def]
    hit = client.get("/api/search?q=" + urllib.parse.quote("لبنان")).get_json()["results"][0]
    page = client.get("/doc/" + urllib.parse.quote(hit["id"])).get_data(as_text=True)
    cite = re.search(r'<section class="cite".*?<textarea[^>]*>(.*?)</textarea>', page, re.S)
    assert cite is not None
    text = cite.group(1)
    # the outlet as it publishes (سي إن إن بالعربية), not its code (CNN)
    assert source_label(hit["source"]) in text and f"/doc/{hit['id']}" in text
    assert source_label(hit["source"]) != hit["source"]
    if hit["title"]:
        assert hit["title"][:20].replace("&", "&amp;") in text or hit["title"][:20] in text
    if hit["url"].startswith("http"):
        assert hit["url"].replace("&", "&amp;") in text
    # every address alone on its line, with no invisible bidi control a copy would paste into it
    assert not re.search("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", text)
    lines = text.splitlines()
    assert any(line.endswith(f"/doc/{hit['id']}") and "باحث" not in line for line in lines)


def test_with_a_public_url_the_feed_links_are_absolute(small_index) -> None:  # type: ignore[no-untyped-def]
    from webapp import create_app

    client = create_app({"INDEX": str(small_index), "TESTING": True, "public_url": "https://baheth.example/"}).test_client()
    parsed = _feed(client, "q=" + urllib.parse.quote("لبنان"))
    assert parsed.entries and all(e.id.startswith("https://baheth.example/doc/") for e in parsed.entries)
    assert all(e.link.startswith("https://baheth.example/doc/") for e in parsed.entries)


def test_a_feed_is_revalidated_and_shows_an_added_article_at_once(fresh_index) -> None:  # type: ignore[no-untyped-def]
    """The API's ETag: 304 while the index is unchanged, the new entry as soon as `baheth add` wrote it
    (a max-age of five minutes kept readers and proxies on the old feed)."""
    from search.backends.whoosh.store import add
    from search.ingest import Document, LoadResult
    from webapp import create_app

    client = create_app({"INDEX": str(fresh_index), "TESTING": True}).test_client()
    url = "/feed.atom?q=" + urllib.parse.quote("التصحر")
    first = client.get(url)
    tag = first.headers["ETag"]
    assert tag and "max-age" not in first.headers["Cache-Control"] and "no-cache" in first.headers["Cache-Control"]
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    assert client.get(url, headers={"If-None-Match": "W/" + tag}).status_code == 304  # weakly compared
    add(fresh_index, LoadResult(documents=[Document("FEED-1", "مكافحة التصحر", "خطة جديدة لمكافحة التصحر في الجنوب")]))
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 200 and again.headers["ETag"] != tag
    assert "FEED-1" in again.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "match", "applied"),
    [
        ('"مجلس الأمن"', "all", "all"),  # one phrase: every clause is required, as asked
        ("الانترنت", "all", "all"),
        ("الانترنت", "any", "any"),
        ("الانترنت مكافحة", "all", "all"),
    ],
)
def test_the_match_asked_is_the_match_reported(client, query: str, match: str, applied: str) -> None:  # type: ignore[no-untyped-def]
    data = client.get(f"/api/search?q={urllib.parse.quote(query)}&match={match}").get_json()
    assert data["match"] == applied


def test_the_arabic_message_for_match_names_every_choice(client) -> None:  # type: ignore[no-untyped-def]
    error = client.get("/api/search?q=x&match=some").get_json()["error"]
    for choice in ("auto", "all", "any"):
        assert choice in error["message"] and choice in error["message_ar"]


def test_the_feed_is_updated_at_its_latest_entry_whatever_the_offsets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two entries written with different UTC offsets: the feed's <updated> is the later instant
    (compared as text, 01:00+00:00 beat 23:00-05:00, which is 04:00 UTC)."""
    from datetime import datetime

    from search.backends.whoosh.store import build
    from search.ingest import Document, LoadResult
    from webapp import create_app

    at = datetime.fromisoformat
    docs = [Document("tz-a", "اقتصاد المغرب", "اقتصاد المغرب ينمو", date=at("2018-04-05T23:00:00-05:00")),
            Document("tz-b", "اقتصاد المغرب", "اقتصاد المغرب يتباطأ", date=at("2018-04-06T01:00:00+00:00"))]
    build(tmp_path, LoadResult(documents=docs), ["tz"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    parsed = _feed(client, "q=" + urllib.parse.quote("اقتصاد"))
    latest = max(datetime.fromisoformat(e.updated) for e in parsed.entries)
    assert datetime.fromisoformat(parsed.feed.updated) == latest == datetime.fromisoformat("2018-04-06T04:00:00+00:00")


# Real JawharaFM articles of 12 and 13 June 2017: the first written «2017-06-13T00:05:00+01:00» (23:05 UTC on
# the 12th), the second «13/06/2017» (midnight UTC on the 13th, 55 minutes later), and a third kept without its date.
LOCAL_FIRST, INSTANT_FIRST, UNDATED = "JA-economy-320-20170613", "JA-politic-505-20170613", "JA-undated-1"


@pytest.fixture(scope="module")
def offsets_client(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from conftest import jawhara_articles
    from search.backends.whoosh.store import build
    from search.ingest import LoadResult, load_sources
    from webapp import create_app

    folder = tmp_path_factory.mktemp("offsets")
    dated = load_sources(jawhara_articles(folder / "dated", 2, names=(LOCAL_FIRST, INSTANT_FIRST))).documents
    other = load_sources(jawhara_articles(folder / "other", 1, word="نداء تونس")).documents[0]
    docs = [*dated, replace(other, id=UNDATED, date=None)]  # the article as a source without dates gives it
    build(folder / "index", LoadResult(documents=docs), ["jawhara"])
    return create_app({"INDEX": str(folder / "index"), "TESTING": True}).test_client()


def _entry_ids(parsed) -> list[str]:  # type: ignore[no-untyped-def]
    return [urllib.parse.unquote(e.id.rsplit("doc/", 1)[1]) for e in parsed.entries]


def test_entries_are_newest_first_by_instant_undated_last(offsets_client) -> None:  # type: ignore[no-untyped-def]
    """The page's «الأحدث» goes by local time (00:05 on the 13th first); the feed's entries carry instants, and
    a reader expects them newest first (midnight UTC on the 13th, then 23:05 UTC on the 12th). An entry without
    a date comes last, and a feed of one entry is the newest instant."""
    q = "q=" + urllib.parse.quote("تونس") + "&collapse=0"
    page = offsets_client.get(f"/api/search?{q}&sort=newest").get_json()["results"]
    assert [r["id"] for r in page] == [LOCAL_FIRST, INSTANT_FIRST, UNDATED]  # the page keeps its own order
    parsed = _feed(offsets_client, q)
    assert _entry_ids(parsed) == [INSTANT_FIRST, LOCAL_FIRST, UNDATED]
    dated = [e.updated_parsed for e in parsed.entries if e.get("published_parsed")]
    assert len(dated) == 2 and dated == sorted(dated, reverse=True)
    assert parsed.feed.updated == parsed.entries[0].updated == "2017-06-13T00:00:00+00:00"
    assert _entry_ids(_feed(offsets_client, q + "&per_page=1")) == [INSTANT_FIRST]


def test_an_entry_without_a_date_is_the_same_at_every_poll(offsets_client) -> None:  # type: ignore[no-untyped-def]
    """Atom gives every entry an ``updated``: an undated one got the request's time, so two polls a second apart
    gave two bodies under one strong ETag, and a reader saw the entry updated at every poll. It gets the time
    the index was built, and the body is byte for byte the same while the ETag is."""
    import time

    url = "/feed.atom?q=" + urllib.parse.quote("نداء تونس")
    first = offsets_client.get(url)
    time.sleep(1.1)
    second = offsets_client.get(url)
    assert first.headers["ETag"] == second.headers["ETag"] and first.get_data() == second.get_data()
    parsed = feedparser.parse(second.get_data())
    built = offsets_client.get("/api/health").get_json()["built_at"]
    undated = [e for e in parsed.entries if e.id.endswith(UNDATED)]
    assert undated and not undated[0].get("published") and undated[0].updated == built.replace("Z", "+00:00")
    only = _feed(offsets_client, "q=" + urllib.parse.quote("نداء تونس") + "&undated=1")
    assert only.feed.updated == built.replace("Z", "+00:00")  # no dated entry: the build, not the request


def _title(client, query: str) -> str:  # type: ignore[no-untyped-def]
    return _feed(client, query).feed.title


def test_a_feed_is_named_by_its_words_and_its_filters(ant_client) -> None:  # type: ignore[no-untyped-def]
    """A feed reader lists feeds by their titles: two alerts on the same words from two outlets were both
    «باحث: تونس». The title names the outlets and categories by their names, and the period."""
    q = "q=" + urllib.parse.quote("تونس")
    plain, bbc, cnn = (_title(ant_client, q + extra) for extra in ("", "&source=BBC", "&source=CNN"))
    assert len({plain, bbc, cnn}) == 3 and all("تونس" in t for t in (plain, bbc, cnn))
    assert source_label("BBC") in bbc and source_label("CNN") in cnn and "BBC" not in bbc
    sport = _title(ant_client, q + "&category=sport")
    assert "رياضة" in sport and "sport" not in sport
    period = _title(ant_client, q + "&from=2018-06-01&to=2018-06-30")
    assert "من ١ " in period and "إلى ٣٠ " in period and "2018-06-01" not in period
    browsing = _title(ant_client, "source=alarabia")
    assert source_label("alarabia") in browsing and "alarabia" not in browsing
    page = ant_client.get("/?" + q + "&source=BBC").get_data(as_text=True)
    alternate = re.search(r'<link rel="alternate" type="application/atom\+xml" title="([^"]*)"', page)
    assert alternate and alternate.group(1) == bbc  # the browser offers the feed under the feed's own name


def test_entries_name_the_outlet_and_the_category_as_readers_know_them(ant_client) -> None:  # type: ignore[no-untyped-def]
    parsed = _feed(ant_client, "q=" + urllib.parse.quote("تونس") + "&per_page=50")
    codes = {"alarabia", "skynews", "france24", "BBC", "CNN"}
    assert len(parsed.entries) == 50
    for entry in parsed.entries:
        names = [a.get("name") for a in entry.get("authors", [])]
        assert names and not codes & set(names), names
        assert any(n in {source_label(c) for c in codes} for n in names), names  # the outlet, by its name
        assert len(names) == len(set(names))  # an author field that only names the outlet is not said twice
        assert all(tag.label == category_label(tag.term) for tag in entry.get("tags", []))  # a label beside the code
    assert any(tag.label != tag.term for e in parsed.entries for tag in e.get("tags", []))


@pytest.mark.parametrize("query", ["q=x&source=%EF%BF%BE", "q=x&category=%01%02", "source=%EF%BF%BE&source=BBC",
                                   "q=%20&category=%E2%80%8F"])
def test_a_filter_that_shows_nothing_leaves_no_empty_part_in_the_title(client, query: str) -> None:  # type: ignore[no-untyped-def]
    """«باحث: x ·»: a source sent as a noncharacter named an empty part after the «·»."""
    title = _title(client, query)
    assert title.strip() == title and not title.endswith("·") and "· ·" not in title and "·  " not in title
