"""/about and /api/health's collection: sources, their coverage and the categories, counted by the backend."""

from __future__ import annotations

import re
import urllib.parse
from datetime import datetime

from webapp import create_app


def test_the_overview_agrees_with_searches(client) -> None:  # type: ignore[no-untyped-def]
    health = client.get("/api/health").get_json()
    overview = health["collection"]
    assert overview["documents"] == health["documents"] and overview["sources"]
    assert overview["more_sources"] == 0
    for source in overview["sources"]:
        found = client.get("/api/search?source=" + urllib.parse.quote(source["value"]) + "&per_page=1").get_json()
        assert found["total"] == source["count"], source
        dated = source["count"] - source["undated"]
        if dated:
            newest = datetime.fromisoformat(found["results"][0]["date"]).date().isoformat()
            assert newest == source["last"]  # filters alone list newest first; days are those shown, as the date filter
            days = sorted(b["from"] for b in found["histogram"] if b["count"])
            assert days[0] <= source["first"] and source["first"] <= source["last"]
    assert sum(c["count"] for c in overview["categories"]) + overview["uncategorised"] == overview["documents"]
    assert sum(s["count"] for s in overview["sources"]) + overview["unsourced"] == overview["documents"]
    assert overview["first"] == min(s["first"] for s in overview["sources"] if s["first"])


def test_the_about_page_lists_every_source_with_links(client) -> None:  # type: ignore[no-untyped-def]
    overview = client.get("/api/health").get_json()["collection"]
    page = client.get("/about").get_data(as_text=True)
    links = {urllib.parse.unquote_plus(h.replace("&amp;", "&")) for h in re.findall(r'href="/\?source=([^"]+)"', page)}
    assert links == {source["value"] for source in overview["sources"]}
    for category in overview["categories"]:
        assert category["label"] in page
    assert '<a href="/about">' in client.get("/").get_data(as_text=True)


def test_about_without_an_index_is_503_in_arabic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = create_app({"INDEX": str(tmp_path / "none"), "TESTING": True}).test_client()
    response = client.get("/about")
    assert response.status_code == 503 and "الفهرس غير متاح" in response.get_data(as_text=True)


def test_articles_without_a_source_or_category_are_counted_apart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An article with no source is in no source's count: /about and /api/health say how many, so
    that the counts add up to the collection."""
    from search.backends.whoosh.store import build
    from search.ingest import Document, LoadResult

    docs = [Document("a", "خبر أول", "نص الخبر الأول عن الانتخابات", source="Jawhara FM", category="politic"),
            Document("b", "خبر ثان", "نص الخبر الثاني عن الانتخابات", source="Jawhara FM"),
            Document("c", "خبر ثالث", "نص الخبر الثالث عن الانتخابات")]
    build(tmp_path, LoadResult(documents=docs), ["t"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    overview = client.get("/api/health").get_json()["collection"]
    assert (overview["documents"], overview["unsourced"], overview["uncategorised"]) == (3, 1, 2)
    page = client.get("/about").get_data(as_text=True)
    assert re.search(r"بلا مصدر</th><td>١</td>", page) and re.search(r'بلا تصنيف <span class="count">٢</span>', page)


def test_sources_are_named_as_they_publish_and_chosen_by_that_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Sources were shown as folder codes («alarabia», «skynews») in facets, /about and the citation;
    the name an outlet publishes under is now the label, and selects it as the code does."""
    from search.backends.whoosh.store import build
    from search.ingest import Document, LoadResult

    docs = [Document("a", "خبر أول", "نص الخبر الأول عن الانتخابات", source="alarabia"),
            Document("b", "خبر ثان", "نص الخبر الثاني عن الانتخابات", source="skynews"),
            Document("c", "خبر ثالث", "نص الخبر الثالث عن الانتخابات", source="Local Paper")]
    build(tmp_path, LoadResult(documents=docs), ["t"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    labels = {s["value"]: s["label"] for s in client.get("/api/health").get_json()["collection"]["sources"]}
    assert labels == {"alarabia": "العربية", "skynews": "سكاي نيوز عربية", "Local Paper": "Local Paper"}
    found = client.get("/api/search?q=الانتخابات").get_json()
    assert {f["value"]: f["label"] for f in found["facets"]["source"]}["skynews"] == "سكاي نيوز عربية"
    for chosen in ("العربية", "عربية", "alarabia", "ALARABIA"):
        ids = [h["id"] for h in client.get(f"/api/search?q=الانتخابات&source={chosen}").get_json()["results"]]
        assert ids == ["a"], chosen
    # by its name in quotes or not (مصدر:سكاي نيوز عربية, as the page shows it), or a shorter name readers use
    for typed in ('مصدر:"سكاي نيوز عربية" الانتخابات', "الانتخابات مصدر:سكاي نيوز عربية", "مصدر:سكاي نيوز الانتخابات",
                  "الانتخابات مصدر:سكاي نيوز"):
        found = client.get(f"/api/search?q={typed}").get_json()
        assert [h["id"] for h in found["results"]] == ["b"] and not found["notices"], (typed, found["notices"])
    page = client.get("/?q=الانتخابات&source=العربية").get_data(as_text=True)
    assert re.search(r'<li class="chosen">\s*<a [^>]*>✕ العربية</a>', page)  # chosen by its name, shown by it
    assert '<span class="source">العربية</span>' in page and "alarabia</" not in page
    assert "سكاي نيوز عربية" in client.get("/about").get_data(as_text=True)


def test_a_citation_names_the_outlet_once_when_the_author_field_holds_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """«فرانس 24، «…»، فرانس 24»: ANT's author field often holds the outlet's name (browser review); the
    article's line of source, category, author and date named it twice too (browser review 19)."""
    import html as html_lib

    from search.backends.whoosh.store import build
    from search.ingest import Document, LoadResult

    docs = [Document("a", "عنوان الخبر", "نص الخبر عن الانتخابات", source="france24", author="فرانس 24"),
            Document("b", "عنوان آخر", "نص آخر عن الانتخابات", source="france24", author="سامي نور")]
    build(tmp_path, LoadResult(documents=docs), ["t"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    for doc_id, author in (("a", None), ("b", "سامي نور")):
        page = client.get(f"/doc/{doc_id}").get_data(as_text=True)
        cite = html_lib.unescape(re.search(r'<section class="cite".*?<textarea[^>]*>(.*?)</textarea>', page, re.S)[1])
        assert cite.count("فرانس 24") == 1, cite
        assert author is None or cite.startswith(author), cite
        meta = re.search(r'<p class="meta">(.*?)</p>', page, re.S)[1]
        assert meta.count("فرانس 24") == 1 and (author is None or f'<span class="author">{author}</span>' in meta), meta
