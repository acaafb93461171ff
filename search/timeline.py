"""The timeline of a search: how many matching articles per day, month or year.

A backend counts the matching articles per day (:attr:`search.backends.base.Page.days`);
here those counts become bars. The span of the dates found picks the bar's width:
days for up to a month, months for up to three years, years beyond (decades,
or centuries, past MAX_BARS years). Every
period between the first and the last is a bar, empty ones too, so the shape
is the shape of time; the undated articles are a bucket of their own
(:attr:`search.engine.SearchResult.undated`).
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta

DAYS_UP_TO = 31  # a span of at most this many days is drawn day by day (a bar stays wide enough on a phone)
MONTHS_UP_TO = 36  # of at most this many months, month by month; else year by year
MAX_BARS = 200  # the most bars: years beyond this many are grouped in decades, or centuries
WIDTHS = ((1, "year"), (10, "decade"), (100, "century"))  # years 1 to 9999: at most 100 centuries


@dataclass(frozen=True)
class Bar:
    start: date  # the first day of the period
    end: date  # its last day (inclusive, like the date filter)
    count: int
    unit: str  # "day", "month", "year" or "decade"

    def to_json(self) -> dict[str, object]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "count": self.count, "unit": self.unit}


def _month_end(year: int, month: int) -> date:
    return date(year, month, monthrange(year, month)[1])


def bars(days: dict[str, int], low: date | None = None, high: date | None = None) -> list[Bar]:
    """Bars from ``{"YYYY-MM-DD": count}``; values that are not days are left out. With the date
    filter's ``low`` and ``high`` (inclusive), a bar's period is cut to them: a bar's link filters to
    its period, so the month of a range that ends on the 15th must not widen it to the 30th."""
    return [
        Bar(max(bar.start, low) if low else bar.start, min(bar.end, high) if high else bar.end, bar.count, bar.unit)
        for bar in _bars(days)
    ]


def _bars(days: dict[str, int]) -> list[Bar]:
    counted: dict[date, int] = {}
    for text, count in days.items():
        try:
            day = date.fromisoformat(text)
        except ValueError:
            continue
        if count > 0:
            counted[day] = counted.get(day, 0) + count
    if not counted:
        return []
    first, last = min(counted), max(counted)
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    if (last - first).days + 1 <= DAYS_UP_TO:
        return [
            Bar(day, day, counted.get(day, 0), "day")
            for day in (first + timedelta(n) for n in range((last - first).days + 1))
        ]
    if months <= MONTHS_UP_TO:
        per_month: dict[tuple[int, int], int] = {}
        for day, count in counted.items():
            per_month[(day.year, day.month)] = per_month.get((day.year, day.month), 0) + count
        out = []
        year, month = first.year, first.month
        for _ in range(months):
            out.append(Bar(date(year, month, 1), _month_end(year, month), per_month.get((year, month), 0), "month"))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out
    # The narrowest width that keeps the bars within MAX_BARS.
    width, unit = next((w, u) for w, u in WIDTHS if _period(last.year, w) - _period(first.year, w) < MAX_BARS * w)
    per_period: dict[int, int] = {}
    for day, count in counted.items():
        key = _period(day.year, width)
        per_period[key] = per_period.get(key, 0) + count
    return [  # a period's first year is never 0 (there is no such date): the first decade is 1-9
        Bar(date(max(year, 1), 1, 1), date(min(year + width - 1, 9999), 12, 31), per_period.get(year, 0), unit)
        for year in range(_period(first.year, width), last.year + 1, width)
    ]


def _period(year: int, width: int) -> int:
    """The first year of the period of ``width`` years holding ``year`` (1990s: 1990; 2000s: 2000)."""
    return year - year % width


def presets(today: date) -> list[tuple[str, date, date]]:
    """The date ranges a reader picks in one click: (name, from, to); the page labels them. Counted
    back no further than the first day of the calendar (an archive may end in year 1: a missing date
    written 0001-01-01), where «last year» is year 1 itself."""

    def back(days: int) -> date:
        return today - timedelta(days=min(days, (today - date.min).days))

    year = max(today.year - 1, date.min.year)
    return [
        ("week", back(6), today),
        ("month", back(29), today),
        ("year", back(364), today),
        ("last_year", date(year, 1, 1), date(year, 12, 31)),
    ]
