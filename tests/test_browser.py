"""A real browser: headless Chromium types a query, submits, and sees highlighted RTL results."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from conftest import ROOT, SEED_ID

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUTPUT = ROOT / "test-output"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright; fails (not skips) when it is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: run .ci/install-browser (Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def test_search_in_a_real_browser(live_server, tmp_path: Path) -> None:
    url, _ = live_server
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ar")
        page.goto(url + "/")
        assert page.evaluate("document.documentElement.dir") == "rtl"
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        box = page.locator("input[name=q]")
        box.fill("الانترنت")
        box.press("Enter")
        page.wait_for_selector("ol.hits li.hit")
        assert page.input_value("input[name=q]") == "الانترنت"  # the query stays in the box
        marks = page.locator("ol.hits mark").all_inner_texts()
        assert "#الانترنت" in marks
        assert {"الإنترنت", "للإنترنت"} & set(marks)
        first = page.locator("ol.hits li.hit h2 a").first
        assert SEED_ID in (first.get_attribute("href") or "")
        # Right-to-left layout: the result title's right edge is near the page's right side.
        title_box = first.bounding_box()
        assert title_box is not None and title_box["x"] + title_box["width"] > 1280 * 0.5
        page.screenshot(path=str(OUTPUT / "search-results.png"), full_page=True)
        first.click()
        page.wait_for_selector("article.article")
        assert page.locator("article mark").count() >= 3
        page.screenshot(path=str(OUTPUT / "article.png"), full_page=True)


@pytest.mark.parametrize("path", ["/", "/?q=الانترنت", f"/doc/{SEED_ID}?q=الانترنت", "/?q=الانترنت&per_page=50"])
def test_a_phone_sees_the_page_without_sideways_scrolling(live_server, path: str) -> None:
    """At 390x844 (a phone): no horizontal overflow, the search button on screen, and on a
    results page the first result above the fold (filters come after the results)."""
    url, _ = live_server
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        button = page.locator("form.search button").bounding_box()
        assert button is not None and button["x"] >= 0 and button["x"] + button["width"] <= 390
        if "q=" in path and "/doc/" not in path:
            title = page.locator("ol.hits li.hit h2").first.bounding_box()
            assert title is not None and title["y"] + title["height"] <= 844
        name = "phone-" + ("home" if path == "/" else "doc" if "/doc/" in path else "results")
        page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=False)


def test_a_phone_reads_and_tabs_through_results_before_filters(live_server) -> None:
    """Keyboard order is page order: the results come before the filters; the skip link comes first;
    every facet and paging link is at least 44 px tall on a phone."""
    url, _ = live_server
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(url + "/?q=وزارة OR الحسابات OR المنتخب OR الانترنت&per_page=2")
        first_hit_before_filters = page.evaluate(
            "!!(document.querySelector('ol.hits a').compareDocumentPosition(document.querySelector('.filters select'))"
            " & Node.DOCUMENT_POSITION_FOLLOWING)"
        )
        assert first_hit_before_filters
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        assert page.locator(".skip").bounding_box()["y"] >= 0  # shown when focused
        small = page.evaluate(
            "[...document.querySelectorAll('.facets li a, .pages a, .pages .current')]"
            ".map(e => e.getBoundingClientRect()).filter(r => r.height < 44 || r.width < 44).length"
        )
        assert small == 0
        assert page.locator(".pages a").count() >= 1 and page.locator(".facets li a").count() >= 1


def test_an_article_with_a_huge_url_and_token_stays_within_a_phone(live_server) -> None:
    from search.backends.whoosh.store import add
    from search.ingest import Document, LoadResult

    url, index = live_server
    long_url = "https://example.org/" + "a" * 2000
    token = "ب" * 600
    add(index, LoadResult(documents=[Document(id="edge-1", title="عنوان " + token, body=f"نص {token} {long_url}", url=long_url)]))
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = context.new_page()
        for path in ["/doc/edge-1", "/?q=عنوان"]:
            page.goto(url + path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        page.screenshot(path=str(OUTPUT / "phone-edge-article.png"), full_page=False)


# -- browser review 18, on real ANT articles (conftest.ant_sample) -------------------------------------------

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def ant_server(ant_sample: Path):  # type: ignore[no-untyped-def]
    from conftest import start_server

    process, url = start_server(ant_sample)
    yield url
    process.terminate()
    process.wait(timeout=10)


def _visible_bars(page) -> list[dict]:  # type: ignore[no-untyped-def]
    return page.evaluate(
        "[...document.querySelectorAll('svg.timeline')].filter(s => s.getBoundingClientRect().width > 0)"
        ".flatMap(s => [...s.querySelectorAll('a')]).map(a => a.getBoundingClientRect())"
        ".map(r => ({width: r.width, height: r.height}))"
    )


@pytest.mark.parametrize("path", ["/?q=ConstantinopleConstantinopleConstantinopleConstantinople",
                                  "/?q=ConstantinopleConstantinopleConstantinopleConstantinople&source=BBC"])
def test_a_long_unbroken_query_word_wraps_on_a_phone(ant_server, path: str) -> None:  # type: ignore[no-untyped-def]
    with chromium() as browser:
        page = browser.new_context(**PHONE).new_page()
        page.goto(ant_server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_phone_s_stats_line_and_pager(ant_server) -> None:  # type: ignore[no-untyped-def]
    """No «·» left at a line's end (it reads as a zero); the pager shows five numbers on one row, the last page
    among them, with «السابق» and «التالي» together below."""
    with chromium() as browser:
        page = browser.new_context(**PHONE).new_page()
        page.goto(ant_server + "/?q=تونس&page=35")
        assert "·" not in page.locator("p.stats").inner_text()
        shown = page.evaluate(
            "[...document.querySelectorAll('nav.pages a, nav.pages .current')].filter(e => e.offsetParent)"
            ".map(e => [e.textContent.trim(), Math.round(e.getBoundingClientRect().top)])"
        )
        numbers = [(text, top) for text, top in shown if text not in ("السابق", "التالي")]
        assert [text for text, _ in numbers] == ["١", "٣٤", "٣٥", "٣٦", "٧٠"]
        assert len({top for _, top in numbers}) == 1  # one row
        moves = [top for text, top in shown if text in ("السابق", "التالي")]
        assert len(moves) == 2 and moves[0] == moves[1]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator("nav.pages").screenshot(path=str(OUTPUT / "phone-pager.png"))


# -- browser review 19 ---------------------------------------------------------------------------------------

# Every link a finger taps, measured on the page as drawn: the timeline's bars are measured apart (above), the
# API's page is for developers at a desk.
SMALL_LINKS = (
    "[...document.querySelectorAll('a[href]')].filter(a => !a.closest('svg'))"
    ".map(a => [a.textContent.trim(), a.getBoundingClientRect()]).filter(([, r]) => r.width && r.height)"
    ".filter(([, r]) => r.width < 44 || r.height < 44).map(([t, r]) => `${t} ${r.width}x${r.height}`)"
)


@pytest.mark.parametrize("path", ["/", "/?q=تونس", "/about"])
def test_every_link_a_finger_taps_is_44_px_on_a_phone(ant_server, path: str) -> None:  # type: ignore[no-untyped-def]
    """«عن الأرشيف» in the home page's line about the archive was 27 px tall, «CSV» 41 px wide, the categories
    of /about (دولي) 29 px wide; and the download line kept its «·» at a line's end, where it reads as a zero."""
    with chromium() as browser:
        page = browser.new_context(**PHONE).new_page()
        page.goto(ant_server + path)
        assert page.evaluate(SMALL_LINKS) == []
        for line in page.locator("p.export").all():
            formats = line.locator("a").all()
            assert len({round(a.bounding_box()["y"]) for a in formats}) == 1  # «CSV · JSON Lines» on one line


@pytest.mark.parametrize("path", ["/", "/?q=تونس", "/about"])
def test_a_date_is_never_split_over_two_lines_on_a_phone(ant_server, path: str) -> None:  # type: ignore[no-untyped-def]
    """«… إلى ٢٠ / أكتوبر ٢٠١٨» (the home page) and «أول نشر: ٢٧ مارس ٢٠١٨، / ٢٠:٣٧» (a group's line)
    broke inside the date on a 390 px screen."""
    with chromium() as browser:
        page = browser.new_context(**PHONE).new_page()
        page.goto(ant_server + path)
        # one line: its boxes (one per direction run: digits and letters) all on one line's top
        split = page.evaluate("[...document.querySelectorAll('time')].filter(t => new Set([...t.getClientRects()]"
                              ".map(r => Math.round(r.top))).size > 1).map(t => t.textContent)")
        assert page.locator("time").count() and split == []


def test_a_respelling_s_link_is_a_line_of_its_own_on_a_phone(ant_server) -> None:  # type: ignore[no-untyped-def]
    """«عرض نتائج «تونس» بدلاً من «تونسس» ·» ended its first line with the «·», which reads as a zero; the
    link «ابحث عن «تونسس» كما كُتبت» now has its line, as the feed link has (and a desktop keeps the «·»)."""
    with chromium() as browser:
        phone = browser.new_context(**PHONE).new_page()
        phone.goto(ant_server + "/?q=تونسس")
        line = phone.locator("p.suggestion")
        assert "بدلاً من" in line.inner_text() and "·" not in line.inner_text()
        link = line.locator("a").bounding_box()
        assert link is not None and link["height"] >= 44 and link["x"] >= 0
        desktop = browser.new_context(**DESKTOP).new_page()
        desktop.goto(ant_server + "/?q=تونسس")
        assert "·" in desktop.locator("p.suggestion").inner_text()


@pytest.mark.parametrize(
    ("path", "most", "desktop_least", "shot"),
    [
        ("/?q=تونس&from=2018-09-21&to=2018-10-20", 5, 6, "phone-timeline-weeks.png"),  # a month of days: weeks
        ("/?q=تونس", 8, 10, "phone-timeline-months.png"),  # months: two or three a bar
        ("/?q=تونس&from=2018-01-01&to=2018-12-31", 8, 10, "phone-timeline-year.png"),
    ],
)
def test_bars_are_gathered_until_a_finger_can_tap_them_on_a_phone(  # type: ignore[no-untyped-def]
    ant_server, path: str, most: int, desktop_least: int, shot: str,
) -> None:
    """A month of day bars, and eleven month bars (with the stragglers' bucket), were 33 px wide on a phone,
    18 px for an archive of twenty months: a phone gathers days by week, months two or three a bar; a
    desktop (a mouse) keeps the days or the months."""
    with chromium() as browser:
        phone = browser.new_context(**PHONE).new_page()
        phone.goto(ant_server + path)
        bars = _visible_bars(phone)
        assert 1 <= len(bars) <= most and all(b["width"] >= 44 for b in bars), bars
        phone.locator(".timeline-view.phone").screenshot(path=str(OUTPUT / shot))
        desktop = browser.new_context(**DESKTOP).new_page()
        desktop.goto(ant_server + path)
        assert len(_visible_bars(desktop)) >= desktop_least
        assert desktop.locator(".timeline-view.phone").bounding_box() is None