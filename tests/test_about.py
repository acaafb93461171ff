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
    assert sum(c["count"] for c in overview["categories"]) <= overview["documents"]
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
