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
