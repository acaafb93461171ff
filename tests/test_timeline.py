"""The timeline's bars: width chosen by the span, empty periods kept, nothing counted twice or lost."""

from __future__ import annotations

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
