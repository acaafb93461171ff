"""The timeline of a search: how many matching articles per day, month or year.

A backend counts the matching articles per day (:attr:`search.backends.base.Page.days`);
here those counts become bars. The span of the bulk of the dates found picks the bar's
width: days for up to a month, months for up to three years, years beyond (decades,
or centuries, past MAX_BARS years). The bulk is the span from the 2nd to the 98th
percentile of the dated matches (EDGE_SHARE at each end): when the few outside it would
stretch the span to a coarser unit (73 opinion pieces of 2012-2017 in an archive of 2018
drew every search by year, one real bar), they are gathered in a bar of unit "span" at
that end («قبل ٢٠١٨: ٦»), so the bars still count every dated match. Every
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
EDGE_SHARE = 0.02  # of the dated matches, at most this share at each end may fall outside the bars (a bucket)
MAX_BARS = 200  # the most bars: years beyond this many are grouped in decades, or centuries
WIDTHS = ((1, "year"), (10, "decade"), (100, "century"))  # years 1 to 9999: at most 100 centuries


@dataclass(frozen=True)
class Bar:
    start: date  # the first day of the period
    end: date  # its last day (inclusive, like the date filter)
    count: int
    unit: str  # "day", "week" (the page's phone view), "month", "year", "decade", "century"; "span": stragglers

    def to_json(self) -> dict[str, object]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "count": self.count, "unit": self.unit}


def _month_end(year: int, month: int) -> date:
    return date(year, month, monthrange(year, month)[1])


def bars(days: dict[str, int], low: date | None = None, high: date | None = None) -> list[Bar]:
    """Bars from ``{"YYYY-MM-DD": count}``; values that are not days are left out. With the date
    filter's ``low`` and ``high`` (inclusive), the bars run from ``low`` to ``high`` when that keeps
    their unit (the range a chip names, empty days at its ends included), and a bar's period is cut to
    them: a bar's link filters to its period, so the month of a range that ends on the 15th must not
    widen it to the 30th."""
    return [
        Bar(max(bar.start, low) if low else bar.start, min(bar.end, high) if high else bar.end, bar.count, bar.unit)
        for bar in _bars(days, low, high)
    ]


def _counted(days: dict[str, int]) -> dict[date, int]:
    counted: dict[date, int] = {}
    for text, count in days.items():
        try:
            day = date.fromisoformat(text)
        except ValueError:
            continue
        if count > 0:
            counted[day] = counted.get(day, 0) + count
    return counted


def _unit(first: date, last: date) -> tuple[str, int]:
    """The bars' unit for a span, and its width in years for year-like units (1 for days and months)."""
    if (last - first).days + 1 <= DAYS_UP_TO:
        return "day", 1
    if (last.year - first.year) * 12 + last.month - first.month + 1 <= MONTHS_UP_TO:
        return "month", 1
    # The narrowest width that keeps the bars within MAX_BARS.
    width, unit = next((w, u) for w, u in WIDTHS if _period(last.year, w) - _period(first.year, w) < MAX_BARS * w)
    return unit, width


def bulk(counted: dict[date, int]) -> tuple[date, date]:
    """The first and last day of the bulk of the matches: of the dated matches in day order, at most
    EDGE_SHARE of them (rounded down) are left out at each end (the 2nd to the 98th percentile)."""
    ordered = sorted(counted)
    spare = int(sum(counted.values()) * EDGE_SHARE)
    seen, first = 0, ordered[0]
    for day in ordered:
        seen += counted[day]
        if seen > spare:
            first = day
            break
    seen, last = 0, ordered[-1]
    for day in reversed(ordered):
        seen += counted[day]
        if seen > spare:
            last = day
            break
    return first, last


def _bars(days: dict[str, int], low: date | None = None, high: date | None = None) -> list[Bar]:
    counted = _counted(days)
    if not counted:
        return []
    first, last = min(counted), max(counted)
    unit = _unit(first, last)
    core = bulk(counted)
    if _unit(*core) != unit:  # a few stragglers stretch the span to a coarser unit: the bulk chooses it
        (first, last), unit = core, _unit(*core)
        # and its bars reach as far out as they can in that unit; only the rest are stragglers
        for day in sorted((d for d in counted if d < first), reverse=True):
            if _unit(day, last) != unit:
                break
            first = day
        for day in sorted(d for d in counted if d > last):
            if _unit(first, day) != unit:
                break
            last = day
    if low and high and low <= high:  # the range the filter names, when its bars keep the unit
        wider = (min(low, first), max(high, last))
        if _unit(*wider) == unit:
            first, last = wider
    out = _periods(counted, first, last, unit)
    before = {day: n for day, n in counted.items() if day < out[0].start}
    after = {day: n for day, n in counted.items() if day > out[-1].end}
    if before:
        out.insert(0, Bar(min(before), out[0].start - timedelta(1), sum(before.values()), "span"))
    if after:
        out.append(Bar(out[-1].end + timedelta(1), max(after), sum(after.values()), "span"))
    return out


def _periods(counted: dict[date, int], first: date, last: date, unit: tuple[str, int]) -> list[Bar]:
    """A bar for every period of ``unit`` from the one holding ``first`` to the one holding ``last``,
    empty ones too, each counting the matches of its days."""
    name, width = unit
    if name == "day":
        every_day = (first + timedelta(n) for n in range((last - first).days + 1))
        return [Bar(day, day, counted.get(day, 0), "day") for day in every_day]
    if name == "month":
        per_month: dict[tuple[int, int], int] = {}
        for day, count in counted.items():
            per_month[(day.year, day.month)] = per_month.get((day.year, day.month), 0) + count
        out = []
        year, month = first.year, first.month
        for _ in range((last.year - first.year) * 12 + last.month - first.month + 1):
            out.append(Bar(date(year, month, 1), _month_end(year, month), per_month.get((year, month), 0), "month"))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out
    per_period: dict[int, int] = {}
    for day, count in counted.items():
        key = _period(day.year, width)
        per_period[key] = per_period.get(key, 0) + count
    return [  # a period's first year is never 0 (there is no such date): the first decade is 1-9
        Bar(date(max(year, 1), 1, 1), date(min(year + width - 1, 9999), 12, 31), per_period.get(year, 0), name)
        for year in range(_period(first.year, width), last.year + 1, width)
    ]


def weeks(day_bars: list[Bar]) -> list[Bar]:
    """Day bars gathered seven by seven from the first day (the last week may be shorter): on a phone,
    a month of day bars is 28 bars of 13 px; its weeks are five of 70. Other bars are kept as they are."""
    out: list[Bar] = []
    run: list[Bar] = []
    for bar in [*day_bars, None]:
        if bar is not None and bar.unit == "day" and len(run) < 7:
            run.append(bar)
            continue
        if run:
            out.append(Bar(run[0].start, run[-1].end, sum(b.count for b in run), "week"))
            run = []
        if bar is not None and bar.unit == "day":
            run.append(bar)
        elif bar is not None:
            out.append(bar)
    return out


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
