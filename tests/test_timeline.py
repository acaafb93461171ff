"""The timeline's bars: width chosen by the span, empty periods kept, nothing counted twice or lost."""

from __future__ import annotations

import re
from datetime import date

import pytest

from search.timeline import Bar, bars, presets


def _spans(found: list[Bar]) -> list[tuple[str, str, int]]:
    return [(b.start.isoformat(), b.end.isoformat(), b.count) for b in found]


@pytest.mark.parametrize(
    ("days", "unit", "expected"),
    [
        ({}, None, []),
        ({"2018-03-05": 2}, "day", [("2018-03-05", "2018-03-05", 2)]),
        (
            {"2018-03-05": 2, "2018-04-04": 1},  # 31 days: still day by day
            "day",
            None,
        ),
        (
            {"2018-03-05": 2, "2018-04-05": 1},  # 32 days: months
            "month",
            [("2018-03-01", "2018-03-31", 2), ("2018-04-01", "2018-04-30", 1)],
        ),
        (
            {"2016-01-01": 1, "2018-12-31": 1},  # 36 months: months; one more would be years
            "month",
            None,
        ),
        (
            {"2016-01-01": 1, "2019-01-01": 1},
            "year",
            [("2016-01-01", "2016-12-31", 1), ("2017-01-01", "2017-12-31", 0), ("2018-01-01", "2018-12-31", 0),
             ("2019-01-01", "2019-12-31", 1)],
        ),
        (
            {"2018-03-05": 2, "2018-03-07": 1},
            "day",
            [("2018-03-05", "2018-03-05", 2), ("2018-03-06", "2018-03-06", 0), ("2018-03-07", "2018-03-07", 1)],
        ),
        (
            {"2018-01-31": 1, "2018-02-01": 2, "2018-04-30": 4},  # 90 days: months, February a leap-free 28
            "month",
            [("2018-01-01", "2018-01-31", 1), ("2018-02-01", "2018-02-28", 2), ("2018-03-01", "2018-03-31", 0),
             ("2018-04-01", "2018-04-30", 4)],
        ),
        (
            {"2019-11-30": 1, "2020-02-29": 3},  # across a year's end, a leap February
            "month",
            [("2019-11-01", "2019-11-30", 1), ("2019-12-01", "2019-12-31", 0), ("2020-01-01", "2020-01-31", 0),
             ("2020-02-01", "2020-02-29", 3)],
        ),
        (
            {"2010-06-01": 5, "2019-01-01": 7, "2019-12-31": 1},
            "year",
            [(f"{y}-01-01", f"{y}-12-31", {2010: 5, 2019: 8}.get(y, 0)) for y in range(2010, 2020)],
        ),
        ({"1500-01-01": 1, "2020-01-01": 1}, "decade", None),  # over 200 years: decades
    ],
)
def test_bars_by_span(days: dict[str, int], unit: str | None, expected: list | None) -> None:
    found = bars(days)
    assert sum(b.count for b in found) == sum(days.values())  # every article in exactly one bar
    if unit:
        assert {b.unit for b in found} == {unit}
    if expected is not None:
        assert _spans(found) == expected
    for before, after in zip(found, found[1:]):
        assert (after.start - before.end).days == 1  # no gap, no overlap
    assert len(found) <= 200


def test_what_is_not_a_day_is_left_out_and_zero_counts_draw_nothing() -> None:
    assert bars({"not a date": 4, "2018-13-01": 1, "2018-01-01": 0}) == []
    assert _spans(bars({"2018-01-01": 2, "junk": 9})) == [("2018-01-01", "2018-01-01", 2)]


def test_presets_end_today_and_last_year_is_whole() -> None:
    today = date(2026, 11, 30)
    found = {name: (start, end) for name, start, end in presets(today)}
    assert found["week"] == (date(2026, 11, 24), today)
    assert found["month"][1] == today and (today - found["month"][0]).days == 29
    assert found["last_year"] == (date(2025, 1, 1), date(2025, 12, 31))


@pytest.mark.parametrize(
    ("days", "unit"),
    [
        ({"0001-01-01": 1, "2018-05-02": 3}, "century"),  # a placeholder date beside real ones
        ({"0009-06-30": 1, "0150-01-01": 2}, "year"),  # the first years: no year 0
        ({"0005-01-01": 1, "1900-01-01": 1}, "decade"),  # the first decade starts in year 1
        ({"9999-12-31": 1, "2018-01-01": 2}, "century"),
        ({"0001-01-01": 1, "9999-12-31": 1}, "century"),  # the widest span there is
    ],
)
def test_any_span_of_dates_gives_bounded_bars(days: dict[str, int], unit: str) -> None:
    """Dates in years 1-9 or near 9999 (placeholders, typing errors) never fail the timeline, and
    however long the span, the bars stay within MAX_BARS."""
    from search.timeline import MAX_BARS

    found = bars(days)
    assert sum(b.count for b in found) == sum(days.values())
    assert len(found) <= MAX_BARS and {b.unit for b in found} == {unit}
    assert found[0].start <= min(date.fromisoformat(d) for d in days) and found[-1].end >= max(map(date.fromisoformat, days))
    assert all(a.end < b.start for a, b in zip(found, found[1:]))


def test_an_article_of_year_nine_is_searched_like_any_other(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A real index holding a date of year 9 beside 2018's and 9999's: the page, the API and the
    feed answer, with every dated article in the timeline."""
    import urllib.parse
    from datetime import datetime

    from search.backends.whoosh.store import build
    from search.ingest import Document, LoadResult
    from webapp import create_app

    docs = [
        Document("ancient", "خبر قديم جدا", "اكتشاف أثري فرعوني نادر في الأقصر", date=datetime(9, 6, 30), source="BBC"),
        Document("recent", "اكتشاف فرعوني", "اكتشاف فرعوني جديد في الأقصر", date=datetime(2018, 5, 2), source="BBC"),
        Document("far", "اكتشاف فرعوني", "اكتشاف فرعوني في المستقبل", date=datetime(9999, 12, 31), source="BBC"),
    ]
    build(tmp_path, LoadResult(documents=docs), ["t"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()
    q = urllib.parse.quote("فرعوني")
    data = client.get(f"/api/search?q={q}").get_json()
    assert data["total"] == 3 and data["histogram"][0]["from"] == "0001-01-01"  # the first century: 1-99
    assert sum(b["count"] for b in data["histogram"]) == 3
    for url in (f"/?q={q}", f"/feed.atom?q={q}", "/api/search?source=BBC", "/about"):
        assert client.get(url).status_code == 200, url


def test_each_bar_selects_what_it_counts_and_a_day_ends_at_its_midnight(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A bar's link is its period cut to the range searched; following it finds its count. A day
    ends before the next midnight, where a date-only article of the next day is."""
    from datetime import datetime

    from search.backends.whoosh.store import build
    from search.ingest import Document, LoadResult
    from webapp import create_app

    when = [datetime(2018, 3, 10, 8), datetime(2018, 4, 1), datetime(2018, 4, 14, 23, 59, 59),
            datetime(2018, 4, 15), datetime(2018, 4, 20, 9), datetime(2018, 5, 2, 12), datetime(2018, 5, 3)]
    docs = [Document(f"d{n}", "اجتماع الحكومة", "اجتمعت الحكومة اليوم", date=moment) for n, moment in enumerate(when)]
    build(tmp_path, LoadResult(documents=docs), ["t"])
    client = create_app({"INDEX": str(tmp_path), "TESTING": True}).test_client()

    def found(**query: str) -> list[str]:
        return sorted(r["id"] for r in client.get("/api/search", query_string={"q": "الحكومة", "per_page": 50, **query})
                      .get_json()["results"])

    assert found(**{"from": "2018-05-02", "to": "2018-05-02"}) == ["d5"]
    assert found(**{"from": "2018-05-03", "to": "2018-05-03"}) == ["d6"]
    assert found(**{"from": "2018-04-14", "to": "2018-04-14"}) == ["d2"]
    assert found(**{"to": "2018-04-14"}) == ["d0", "d1", "d2"]
    for chosen in ({}, {"from": "2018-03-01", "to": "2018-04-15"}, {"from": "2018-04-14", "to": "2018-05-02"}):
        bars = client.get("/api/search", query_string={"q": "الحكومة", **chosen}).get_json()["histogram"]
        assert bars
        for bar in bars:
            assert chosen.get("from", bar["from"]) <= bar["from"] <= bar["to"] <= chosen.get("to", bar["to"])
            assert len(found(**{"from": bar["from"], "to": bar["to"]})) == bar["count"], (chosen, bar)


@pytest.mark.parametrize("backend", ["whoosh", "xapian"])
def test_an_article_is_on_the_day_it_is_shown_on_whatever_its_zone(tmp_path, backend: str) -> None:  # type: ignore[no-untyped-def]
    """Published 20 February at 23:30 in New York (04:30 UTC the 21st) and at 01:00 in Riyadh (22:00
    UTC the 19th): both are shown on the 20th, so the date filter, the timeline and the CLI put them
    there too. The order by date goes by the time shown."""
    import json

    from conftest import cli, xapian_shards
    from search.engine import Engine, Filters
    from search.settings import defaults

    records = [
        {"id": "tz1", "title": "منتصف الليل", "body": "خبر عن الانتخابات البلدية", "date": "2018-02-20T23:30:00-05:00"},
        {"id": "tz2", "title": "خبر", "body": "خبر عن الانتخابات البلدية", "date": "Tue, 20 Feb 2018 01:00:00 +0300"},
        {"id": "tz3", "title": "خبر آخر", "body": "خبر آخر عن الانتخابات البلدية", "date": "2018-02-21T00:30:00+01:00"},
        {"id": "tz4", "title": "بلا تاريخ", "body": "خبر بلا تاريخ عن الانتخابات البلدية"},
        {"id": "tz5", "title": "آخر لحظة", "body": "خبر عن الانتخابات البلدية", "date": "2018-02-19T23:59:59.999999Z"},
    ]
    source = tmp_path / "tz.jsonl"
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    root = tmp_path / "ix"
    if backend == "whoosh":
        assert cli("reindex", source, "--index", root).returncode == 0
        engine = Engine(root)
    else:
        shards = xapian_shards(root, [source])
        engine = Engine(config=defaults().replace(index=str(root), backend="xapian", shards=shards))
    try:
        from datetime import date

        day = engine.search("الانتخابات", filters=Filters(date_from=date(2018, 2, 20), date_to=date(2018, 2, 20)))
        assert sorted(h.id for h in day.hits) == ["tz1", "tz2"]
        assert all(h.date and h.date.startswith("2018-02-20") for h in day.hits)  # the day shown
        every = engine.search("الانتخابات")
        assert [(b.start.isoformat(), b.count) for b in every.timeline] == [
            ("2018-02-19", 1), ("2018-02-20", 2), ("2018-02-21", 1)]
        newest = engine.search("الانتخابات", sort="newest")
        assert [h.id for h in newest.hits] == ["tz3", "tz1", "tz2", "tz5", "tz4"]  # undated last
        last = engine.search("الانتخابات", filters=Filters(date_from=date(2018, 2, 19), date_to=date(2018, 2, 19)))
        assert [h.id for h in last.hits] == ["tz5"]  # its last microsecond is still the 19th
        before = engine.search("الانتخابات", filters=Filters(date_to=date(2018, 2, 20)))
        assert sorted(h.id for h in before.hits) == ["tz1", "tz2", "tz5"] and before.undated == 0  # no undated one
    finally:
        if backend == "xapian":
            cli("shards", "stop", "--index", root)


def _months_of_2018(per_month: int) -> dict[str, int]:
    return {f"2018-{m:02d}-15": per_month for m in range(1, 11)}


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (  # ANT: six opinion pieces of 2012-2014 beside a 2018 archive: by month, the six in a bucket before
            {"2012-10-11": 1, "2013-03-01": 3, "2014-05-05": 2, **_months_of_2018(100)},
            [("2012-10-11", "2017-12-31", 6, "span")]
            + [(f"2018-{m:02d}-01", None, 100, "month") for m in range(1, 11)],
        ),
        (  # a date typed 2026 for 2018: a bucket after
            {**_months_of_2018(30), "2026-01-01": 1},
            [(f"2018-{m:02d}-01", None, 30, "month") for m in range(1, 11)]
            + [("2018-11-01", "2026-01-01", 1, "span")],
        ),
        (  # a straggler the bulk's unit reaches joins its bars (December 2017 is a month of the chart)
            {"2017-12-20": 1, "2012-01-01": 1, **_months_of_2018(30)},
            [("2012-01-01", "2017-11-30", 1, "span"), ("2017-12-01", None, 1, "month")]
            + [(f"2018-{m:02d}-01", None, 30, "month") for m in range(1, 11)],
        ),
        (  # under fifty matches, none is left out: each counts for more than a percentile
            {"2012-10-11": 1, "2018-05-01": 40},
            [(f"{y}-01-01", f"{y}-12-31", {2012: 1, 2018: 40}.get(y, 0), "year") for y in range(2012, 2019)],
        ),
        (  # the bulk within a month: by day, the rest (2% at most at each end) in buckets
            {"2018-04-02": 1, **{f"2018-10-{d:02d}": 10 for d in range(1, 21)}, "2018-12-30": 1},
            [("2018-04-02", "2018-09-30", 1, "span")] + [(f"2018-10-{d:02d}", None, 10, "day") for d in range(1, 21)]
            + [("2018-10-21", "2018-12-30", 1, "span")],
        ),
    ],
)
def test_the_bulk_of_the_matches_picks_the_unit_and_stragglers_are_gathered_at_the_edges(
    days: dict[str, int], expected: list[tuple[str, str | None, int, str]]
) -> None:
    found = bars(days)
    assert [(b.start.isoformat(), b.count, b.unit) for b in found] == [(s, n, u) for s, _, n, u in expected]
    assert all(e is None or b.end.isoformat() == e for b, (_, e, _, _) in zip(found, expected, strict=True))
    assert sum(b.count for b in found) == sum(days.values())  # every dated match in exactly one bar
    assert all((b.start - a.end).days == 1 for a, b in zip(found, found[1:], strict=False))  # no gap, no overlap


def test_the_bars_of_a_date_range_run_from_its_first_day_to_its_last() -> None:
    """«آخر شهر» from 21 September: the first results are of the 23rd, and the first bars are the 21st and 22nd,
    empty; a range so wide that its bars would be years draws only the months of the results."""
    days = {"2018-09-23": 2, "2018-10-20": 1}
    found = bars(days, date(2018, 9, 21), date(2018, 10, 20))
    assert (found[0].start, found[0].count, found[-1].end) == (date(2018, 9, 21), 0, date(2018, 10, 20))
    assert len(found) == 30 and {b.unit for b in found} == {"day"}
    wide = bars({"2018-03-05": 1, "2018-06-01": 1}, date(2000, 1, 1), date(2018, 12, 31))
    assert {b.unit for b in wide} == {"month"} and wide[0].start == date(2018, 3, 1)


def test_a_month_of_days_is_five_weeks_from_its_first_day() -> None:
    from search.timeline import weeks

    days = {f"2018-09-{d:02d}": d for d in range(21, 31)} | {f"2018-10-{d:02d}": 1 for d in range(1, 21)}
    found = weeks(bars(days))
    assert [(b.start.isoformat(), b.end.isoformat(), b.unit) for b in found] == [
        ("2018-09-21", "2018-09-27", "week"), ("2018-09-28", "2018-10-04", "week"),
        ("2018-10-05", "2018-10-11", "week"), ("2018-10-12", "2018-10-18", "week"),
        ("2018-10-19", "2018-10-20", "week")]
    assert sum(b.count for b in found) == sum(days.values())


# -- on a real index of real ANT articles (conftest.ant_sample: the articles that name «تونس») --------------


def test_a_few_old_articles_no_longer_make_a_chart_of_years(ant_client) -> None:  # type: ignore[no-untyped-def]
    """Six 2012-2014 opinion pieces beside 767 articles of 2018: the chart is by month, the six are one bar
    «قبل ٢٠١٨» that links to their period, and the bars still count every dated match."""
    data = ant_client.get("/api/search?q=تونس").get_json()
    histogram = data["histogram"]
    first, rest = histogram[0], histogram[1:]
    assert (first["unit"], first["to"], first["count"]) == ("span", "2017-12-31", 6)
    assert {b["unit"] for b in rest} == {"month"} and rest[0]["from"] == "2018-01-01"
    assert sum(b["count"] for b in histogram) + data["undated"] == data["articles"]
    old = ant_client.get(f"/api/search?q=تونس&collapse=0&from={first['from']}&to={first['to']}").get_json()
    assert old["total"] == 6 and all(r["date"] < "2018" for r in old["results"])
    page = ant_client.get("/?q=تونس").get_data(as_text=True)
    ends = page.split('<p class="timeline-ends">', 1)[1].split("</p>", 1)[0]
    assert "قبل ٢٠١٨: ٦ مقالات</a>" in ends and f"from={first['from']}&amp;to=2017-12-31" in ends


def test_bars_are_linear_with_a_least_height_and_the_peak_is_named(ant_client) -> None:  # type: ignore[no-untyped-def]
    from webapp.pages import LEAST_HEIGHT, TIMELINE_HEIGHT

    histogram = ant_client.get("/api/search?q=تونس").get_json()["histogram"]
    page = ant_client.get("/?q=تونس").get_data(as_text=True)
    svg = page.split('<svg class="timeline"', 1)[1].split("</svg>", 1)[0]
    drawn = re.findall(r'<rect class="bar[^"]*" x="[0-9]+" y="[0-9]+" width="8" height="([0-9]+)"', svg)
    heights = [int(h) - 1 for h in drawn]
    counts = [b["count"] for b in histogram if b["count"]]
    tallest = max(counts)
    assert heights == [max(LEAST_HEIGHT, round(TIMELINE_HEIGHT * n / tallest)) for n in counts]
    assert heights[counts.index(2)] < TIMELINE_HEIGHT * 0.05  # two articles are not a seventh of the peak
    peak = max((b for b in histogram if b["unit"] != "span"), key=lambda b: b["count"])
    line = page.split('<p class="timeline-peak">', 1)[1].split("</p>", 1)[0]
    assert f"from={peak['from']}&amp;to={peak['to']}" in line and "يونيو ٢٠١٨ (" in line


def test_a_month_of_days_is_also_drawn_by_week_from_the_day_the_range_starts(  # type: ignore[no-untyped-def]
    ant_client,
) -> None:
    page = ant_client.get("/?q=تونس&from=2018-09-21&to=2018-10-20").get_data(as_text=True)
    days = page.split('<svg class="timeline"', 1)[1].split("</svg>", 1)[0]
    week_svg = page.split('<svg class="timeline phone"', 1)[1].split("</svg>", 1)[0]
    labels = re.findall(r"<title>([^<]+)</title>", days)
    assert len(labels) == 30 and labels[0].startswith("٢١ سبتمبر ٢٠١٨")  # the range the chip names, from its first day
    weeks_found = re.findall(r"<title>([^<]+)</title>", week_svg)
    assert len(weeks_found) == 5 and weeks_found[0].startswith("٢١–٢٧ سبتمبر ٢٠١٨")


def test_months_too_many_for_a_phone_are_gathered_from_the_year_s_first_month(  # type: ignore[no-untyped-def]
    ant_client,
) -> None:
    """A phone draws at most eight bars: the months of «تونس» (January to October 2018, and the 2012-2014
    stragglers' bucket) two by two, each named and linked to its period; the wide view keeps the months."""
    page = ant_client.get("/?q=تونس").get_data(as_text=True)
    wide = page.split('<svg class="timeline"', 1)[1].split("</svg>", 1)[0]
    phone = page.split('<svg class="timeline phone"', 1)[1].split("</svg>", 1)[0]
    assert len(re.findall(r"<title>", wide)) == 11
    names = [label.split(":")[0] for label in re.findall(r"<title>([^<]+)</title>", phone)]
    assert names == ["قبل ٢٠١٨", "يناير–فبراير ٢٠١٨", "مارس–أبريل ٢٠١٨", "مايو–يونيو ٢٠١٨", "يوليو–أغسطس ٢٠١٨",
                     "سبتمبر–أكتوبر ٢٠١٨"]
    assert "from=2018-05-01&amp;to=2018-06-30" in phone


@pytest.mark.parametrize(("bars", "expected"), [
    (["2018-01", "2018-02", "2018-03", "2018-04", "2018-05", "2018-06", "2018-07", "2018-08"], None),
    ([f"2017-{m:02}" for m in range(3, 13)] + ["2018-01"], ["مارس–أبريل 2017", "مايو–يونيو 2017", "يوليو–أغسطس 2017",
                                                        "سبتمبر–أكتوبر 2017", "نوفمبر–ديسمبر 2017", "يناير 2018"]),
    ([f"{y}-{m:02}" for y in (2016, 2017, 2018) for m in range(1, 13)], ["يناير–يونيو 2016", "يوليو–ديسمبر 2016",
     "يناير–يونيو 2017", "يوليو–ديسمبر 2017", "يناير–يونيو 2018", "يوليو–ديسمبر 2018"]),
])
def test_a_phone_gathers_months_two_three_four_six_or_twelve_at_a_time(  # type: ignore[no-untyped-def]
    app, bars: list[str], expected: list[str] | None,
) -> None:
    from datetime import date

    from search.timeline import Bar
    from webapp.pages import _gathered, _period_name

    def month(text: str) -> Bar:
        year, number = map(int, text.split("-"))
        end = date(year + number // 12, number % 12 + 1, 1) - date.resolution
        return Bar(date(year, number, 1), end, 1, "month")

    with app.test_request_context():
        gathered = _gathered([month(m) for m in bars])
        assert (None if gathered is None else [_period_name(b, first=False) for b in gathered]) == expected
        assert gathered is None or sum(b.count for b in gathered) == len(bars)
