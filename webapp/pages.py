"""The search page, the article view and the OpenSearch description."""

from __future__ import annotations

import html
import re
import time
from dataclasses import replace
from datetime import date, datetime, timedelta

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from search.analysis import MONTH_TRADITIONS, has_arabic
from search.api import names_value
from search.engine import Filters, SearchResult
from search.errors import IndexProblem
from search.highlight import WHY
from search.labels import category_label, source_label
from search.timeline import Bar, presets, weeks
from webapp import engine, settings
from webapp.arabic import ARTICLES, HIDDEN_COPIES, OTHER_COPIES, RESULTS, counted, digits, number, result_range
from webapp.errors import retry_without
from webapp.params import BadParameter, SearchArgs, last_page, parse_search_args, single_query, unknown_group
from webapp.security import public_url

bp = Blueprint("pages", __name__)

def _style() -> str:
    return settings(current_app).digits


def _months() -> tuple[str, ...]:
    """The month names of the tradition the `month_names` setting chooses (the analyser's table)."""
    return MONTH_TRADITIONS[settings(current_app).month_names]


@bp.app_template_filter("arabic_date")
def arabic_date(value: str | None) -> str:
    """2018-02-20T01:44:01+00:00 -> ٢٠ فبراير ٢٠١٨."""
    if not value:
        return ""
    if not isinstance(value, str):  # a damaged metadata file: not a date, shown as it is
        return str(value)
    try:
        day = datetime.fromisoformat(value)
    except ValueError:
        return value
    return digits(f"{day.day} {_months()[day.month - 1]} {day.year}", _style())


@bp.app_template_filter("arabic_moment")
def arabic_moment(value: str | None) -> str:
    """The date and, when the source gave one (not midnight), the time: ٢٠ فبراير ٢٠١٨، ١٤:٠٧."""
    text = arabic_date(value)
    try:
        moment = datetime.fromisoformat(value or "")
    except (TypeError, ValueError):
        return text
    if (moment.hour, moment.minute) == (0, 0):
        return text
    return text + "، " + digits(f"{moment.hour:02d}:{moment.minute:02d}", _style())


@bp.app_template_global("copies_text")
def copies_text(n: int, hidden: bool = False) -> str:
    """«نسخة أخرى»، «نسختان أخريان»، «٣ نسخ أخرى» (or, hidden, «٣ نسخ مكرّرة»)."""
    return counted(n, HIDDEN_COPIES if hidden else OTHER_COPIES, _style())


bp.app_template_global("last_page")(last_page)

PAGER_RADIUS = 4  # page numbers shown on each side of the current one, on a wide screen
PHONE_RADIUS = 1  # on a phone: «١ … ٣٤ ٣٥ ٣٦ … ٧٠», five numbers of 44 px that fit one row


@bp.app_template_global("pager")
def pager(page: int, pages: int) -> list[dict[str, object]]:
    """The pager's numbers and gaps: the first page, the current one's neighbours and the last page,
    so that the last page is always one tap away. ``css`` says where each shows: «wide-only» numbers
    are hidden on a phone, «narrow-only» gaps stand for them there."""
    last = last_page(pages)
    here = min(page, last)
    wide = set(range(max(1, here - PAGER_RADIUS), min(last, here + PAGER_RADIUS) + 1))
    narrow = set(range(max(1, here - PHONE_RADIUS), min(last, here + PHONE_RADIUS) + 1)) | {1, last}
    items: list[dict[str, object]] = []
    before = 0  # the number before, on any screen
    phone_gap = False  # a gap a phone shows stands since the last number it shows
    for n in sorted(wide | {1, last}):
        if n - before > 1:
            items.append({"gap": True, "css": "gap"})
            phone_gap = True
        elif n in narrow and before not in narrow and before and not phone_gap:
            items.append({"gap": True, "css": "gap narrow-only"})
        label = "الصفحة الأولى" if n == 1 and n not in wide else "الصفحة الأخيرة" if n == last and n not in wide else ""
        items.append({"page": n, "css": "" if n in narrow else "wide-only", "label": label})
        before = n
        if n in narrow:
            phone_gap = False
    return items


@bp.app_template_global("same_day")
def same_day(a: str | None, b: str | None) -> bool:
    return bool(a and b) and str(a)[:10] == str(b)[:10]


_MARKUP = re.compile(r"<[^>]*>")  # a highlight's tag and its Arabic title are not the text's


@bp.app_template_global("text_dir")
def text_dir(text: object) -> str:
    """An element's direction: right to left when the text holds an Arabic letter. A headline that
    begins with a Latin name («Files Go تطبيق من غوغل …») is still an Arabic line; dir="auto", which
    follows the first strong letter, laid it out left to right. A text with no Arabic letter: left to right."""
    return "rtl" if has_arabic(_MARKUP.sub("", str(text or ""))) else "ltr"


HEADING_CHARS = 80  # what a heading or a tab title repeats of a long query


@bp.app_template_filter("clipped")
def clipped(text: str, most: int = HEADING_CHARS) -> str:
    """A long query as a heading shows it: its first words and «…» (the search box holds it whole)."""
    text = " ".join(str(text).split())
    if len(text) <= most:
        return text
    cut = text[:most].rsplit(" ", 1)[0] if " " in text[:most] else text[:most]
    return cut + "…"


@bp.app_template_global("number_text")
@bp.app_template_filter("arabic_number")
def arabic_number(value: int | float) -> str:
    return number(value, _style())


@bp.app_template_global("counted_results")
def counted_results(n: int) -> str:
    """«نتيجة واحدة»، «٣ نتائج»، «٧٧٣ نتيجة»."""
    return counted(n, RESULTS, _style())


@bp.app_template_global("counted_articles")
def counted_articles(n: int) -> str:
    """«مقالة واحدة»، «٣ مقالات»، «٧٧٣ مقالة»."""
    return counted(n, ARTICLES, _style())


@bp.app_template_global("result_range")
def range_text(first: int, last: int, total: int) -> str:
    return result_range(first, last, total, _style())


@bp.app_template_global("digits_text")
@bp.app_template_filter("digits")
def page_digits(text: str) -> str:
    return digits(str(text), _style())


_WHY_MARK = re.compile('<mark title="' + re.escape(html.escape(WHY, quote=True)) + r'([^"]*)">(.*?)</mark>', re.S)
MAX_WHY_WORDS = 10  # query words the article page's «why» line names, at most
MAX_WHY_FORMS = 6  # and written forms of each


@bp.app_template_global("why_matched")
def why_matched(*marked: str) -> list[tuple[str, list[str]]]:
    """What the marks of an article say, gathered for the line above its text (a mark's title, which
    says why it is marked, is not shown on a touch screen): each query word, with the forms that
    matched it here, in order of first appearance."""
    found: dict[str, list[str]] = {}
    for text in marked:
        for origin, inner in _WHY_MARK.findall(text or ""):
            word, form = html.unescape(origin), html.unescape(_MARKUP.sub("", inner))
            if word not in found and len(found) >= MAX_WHY_WORDS:
                continue
            forms = found.setdefault(word, [])
            if form not in forms and len(forms) < MAX_WHY_FORMS:
                forms.append(form)
    return list(found.items())


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@bp.app_template_global("notice_value")
def notice_value(text: str) -> str:
    """A value a notice names, as the page writes it: a day as the filter line writes it
    («١ يونيو ٢٠١٧», not «٢٠١٧-٠٦-٠١»), other values with the page's digits."""
    return arabic_date(text) if _ISO_DAY.fullmatch(str(text)) else page_digits(text)


TIMELINE_HEIGHT = 48  # px: the tallest bar; the bars share the aside's width
LEAST_HEIGHT = 2  # px: a bar of one article beside thousands is still seen (and told from an empty period)
PHONE_BARS = 8  # more bars than this are too narrow to tap on a phone (under 44 px): it gathers them
MONTHS_GATHERED = (2, 3, 4, 6, 12)  # months a phone's bar may gather, from the year's first (two, a quarter …)
YEARS_GATHERED = (2, 5, 10, 20, 50, 100, 200)  # year-like bars (years, decades, centuries) a phone's bar may gather


def _period_name(bar: Bar, first: bool) -> str:
    """A bar's period in words: «٢١ سبتمبر ٢٠١٨», «٢١–٢٧ سبتمبر ٢٠١٨», «مايو ٢٠١٨», «٢٠١٨», «٢٠١٠–٢٠١٩»;
    the stragglers' bucket by where it ends: «قبل ٢٠١٨» (before the first bar), «بعد أكتوبر ٢٠١٨»."""
    months = _months()
    start, end = bar.start, bar.end
    if bar.unit == "span":
        edge = end + timedelta(1) if first else start - timedelta(1)
        if first:
            whole_year, whole_month = (edge.month, edge.day) == (1, 1), edge.day == 1
        else:
            whole_year, whole_month = (edge.month, edge.day) == (12, 31), (edge + timedelta(1)).day == 1
        when = (str(edge.year) if whole_year else f"{months[edge.month - 1]} {edge.year}" if whole_month
                else f"{edge.day} {months[edge.month - 1]} {edge.year}")
        return ("قبل " if first else "بعد ") + when
    if bar.unit == "day":
        return f"{start.day} {months[start.month - 1]} {start.year}"
    if bar.unit == "week":
        if start == end:
            return f"{start.day} {months[start.month - 1]} {start.year}"
        if start.month == end.month:
            return f"{start.day}–{end.day} {months[start.month - 1]} {start.year}"
        if start.year == end.year:
            return f"{start.day} {months[start.month - 1]} – {end.day} {months[end.month - 1]} {end.year}"
        return f"{start.day} {months[start.month - 1]} {start.year} – {end.day} {months[end.month - 1]} {end.year}"
    if bar.unit == "month" or (bar.unit == "months" and (start.year, start.month) == (end.year, end.month)):
        return f"{months[start.month - 1]} {start.year}"
    if bar.unit == "months":
        if start.year == end.year:
            return f"{months[start.month - 1]}–{months[end.month - 1]} {start.year}"
        return f"{months[start.month - 1]} {start.year} – {months[end.month - 1]} {end.year}"
    if bar.unit == "year" or start.year == end.year:
        return str(start.year)
    return f"{start.year}–{end.year}"


def _drawn(bars: list[Bar], args: SearchArgs) -> dict[str, object]:
    """Bars as the page draws them: heights on a linear scale (the tallest TIMELINE_HEIGHT, a bar with
    articles at least LEAST_HEIGHT), each a link filtering the search to its period, and the peak named."""
    style = _style()
    tallest = max(bar.count for bar in bars) or 1
    out = []
    for n, bar in enumerate(bars):
        name = digits(_period_name(bar, first=n == 0), style)
        out.append({
            "x": n,
            "height": 0 if not bar.count else max(LEAST_HEIGHT, round(TIMELINE_HEIGHT * bar.count / tallest)),
            "name": name,
            "label": f"{name}: {counted(bar.count, ARTICLES, style)}",
            "href": url_for("pages.index", **args.as_params(page=None, undated=None, **{
                "from": bar.start.isoformat(), "to": bar.end.isoformat()})),
            "chosen": args.filters.date_from == bar.start and args.filters.date_to == bar.end,
            "count": bar.count,
            "span": bar.unit == "span",
        })
    periods = [bar for bar in out if not bar["span"]]
    most = max((bar["count"] for bar in periods), default=0)
    tallest_bars = [bar for bar in periods if bar["count"] == most]
    peak = tallest_bars[0] if most and len(tallest_bars) == 1 and len(periods) > 1 else None  # one peak, or none named
    return {"bars": out, "peak": peak}


def _gathered(timeline: list[Bar]) -> list[Bar] | None:
    """A phone's bars when the timeline has more than PHONE_BARS: days by week; months by two, three, four,
    six or twelve from the year's first month, years (decades …) by two, five, ten …: the fewest that
    bring the bars (stragglers' buckets included) down to PHONE_BARS. None when they fit as they are."""
    if len(timeline) <= PHONE_BARS:
        return None
    if any(bar.unit == "day" for bar in timeline):
        return weeks(timeline)
    periods = [bar for bar in timeline if bar.unit != "span"]
    if not periods:
        return None
    monthly = periods[0].unit == "month"
    width = 1 if monthly else _period_years(periods[0])
    for size in MONTHS_GATHERED if monthly else YEARS_GATHERED:
        def key(bar: Bar, size: int = size) -> tuple[int, int]:
            return (bar.start.year, (bar.start.month - 1) // size) if monthly else (bar.start.year // (size * width), 0)

        runs: list[list[Bar]] = []
        for bar in timeline:
            if bar.unit == "span" or not runs or runs[-1][0].unit == "span" or key(runs[-1][0]) != key(bar):
                runs.append([bar])
            else:
                runs[-1].append(bar)
        if len(runs) <= PHONE_BARS:
            return [run[0] if run[0].unit == "span" else Bar(run[0].start, run[-1].end, sum(b.count for b in run),
                                                             "months" if monthly else "years") for run in runs]
    return None


def _period_years(bar: Bar) -> int:
    """The years a year-like bar stands for: 1, 10 (a decade) or 100 (a century)."""
    return {"decade": 10, "century": 100}.get(bar.unit, 1)


@bp.app_template_global("timeline")
def timeline_view(result: SearchResult, args: SearchArgs) -> dict[str, object] | None:
    """The result's timeline as the page draws it (see _drawn); when it has more bars than a phone can
    tap, also gathered (see _gathered; the stylesheet shows one or the other by the screen's width)."""
    if not result.timeline:
        return None
    view = _drawn(result.timeline, args)
    gathered = _gathered(result.timeline)
    view["phone"] = _drawn(gathered, args) if gathered else None
    return view


PRESET_LABELS = {"week": "آخر أسبوع", "month": "آخر شهر", "year": "آخر سنة", "last_year": "سنة {year}"}


def _presets_end() -> date:
    """The day the presets count back from: today, or the archive's last day when it ends before today
    (on an archive of 2012-2018, «the last year» counted from 2026 selected nothing)."""
    today = date.today()
    try:
        last = engine(current_app).overview().get("last")
        return min(today, date.fromisoformat(str(last)[:10])) if last else today
    except (IndexProblem, ValueError):
        return today


@bp.app_template_global("date_presets")
def date_presets(args: SearchArgs, days: dict[str, int] | None = None) -> list[dict[str, object]]:
    """One-click date ranges, ending today, or on the archive's last day when it ends before today
    (then the first item says so). With the search's matches per day whatever its dates (``days``),
    each says how many articles it finds, and one that finds none is left out (unless chosen): «سنة
    ٢٠١٧» led to an empty page beside a timeline that said 2017 held nothing."""
    out = []
    for name, start, stop in presets(_presets_end()):
        chosen = args.filters.date_from == start and args.filters.date_to == stop
        count = None
        if days is not None:
            low, high = start.isoformat(), stop.isoformat()
            count = sum(n for day, n in days.items() if low <= day <= high)
            if not count and not chosen:
                continue
        out.append({
            "label": digits(PRESET_LABELS[name].format(year=start.year), _style()),
            "href": url_for("pages.index", **args.as_params(page=None, undated=None, **{
                "from": start.isoformat(), "to": stop.isoformat()})),
            "chosen": chosen,
            "count": count,
            "ends": arabic_date(stop.isoformat()) if stop < date.today() and name != "last_year" else None,
        })
    return out


def _widened(args: SearchArgs, result: SearchResult, deadline: float) -> dict[str, object]:
    """What the search finds without its dates, and without any filter: the presets count in the first
    (its matches per day), and an empty filtered page says how many results the filters alone hid. Each
    costs one more search, made only when the page needs it, within what is left of the search's time
    limit (``deadline``, on the monotonic clock): out of time, or cut by it, a count is not shown."""
    search_engine = engine(current_app)
    text = result.query if result.respelled_from else args.q
    f = args.filters
    dated = bool(f.date_from or f.date_to or f.undated)

    def count(filters: Filters, facets: bool) -> SearchResult | None:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        counted = search_engine.search(
            text, per_page=1, sort=args.sort, filters=filters, snippets=False, facets=facets, suggest=False,
            respell=False, match=args.match, collapse=args.collapse, seconds=left,
        )
        return None if counted.timed_out else counted

    out: dict[str, object] = {"days": result.days, "without_dates": None, "without_filters": None}
    if f.group:
        return out
    if dated:
        rest = replace(f, date_from=None, date_to=None, undated=False)
        undated = count(rest, facets=True) if text.strip() or rest.active else None
        # Dates alone (without them the page asks for nothing), or no time left: the presets are shown uncounted.
        out["days"], out["without_dates"] = (undated.days, undated.total) if undated else (None, None)
    if not result.total and text.strip() and (f.source or f.category):
        unfiltered = count(Filters(), facets=False)
        out["without_filters"] = unfiltered.total if unfiltered else None
    return out


@bp.app_template_filter("category_name")
def category_name(value: str) -> str:
    return category_label(value)


@bp.app_template_filter("source_name")
def source_name(value: str) -> str:
    """The name an outlet publishes under (العربية for alarabia); an unknown code as it is."""
    return source_label(value)


@bp.app_template_global("search_title")
def search_title(args: SearchArgs) -> str:
    """What a search asks, in words, for a feed reader's list and the page's feed link: its words, then
    its filters («تونس · بي بي سي عربي · رياضة · من ١ يونيو ٢٠١٨»), so that two alerts on the same words
    from two sources are told apart; a story group's «نسخ الخبر نفسه»; «تصفح المقالات» without either."""
    f = args.filters
    if f.group:
        return "نسخ الخبر نفسه"
    parts = [clipped(args.q.strip())] if args.q.strip() else []
    for values, label in ((f.source, source_label), (f.category, category_label)):
        # what shows nothing (a noncharacter, a control sent as a source) names nothing: no empty «·» part
        names = [shown for v in values if (shown := "".join(c for c in label(v) if c.isprintable()).strip())]
        parts += ["، ".join(names)] if names else []
    period = []
    if f.date_from:
        period.append(f"من {arabic_date(f.date_from.isoformat())}")
    if f.date_to:
        period.append(f"إلى {arabic_date(f.date_to.isoformat())}")
    parts += [" ".join(period)] if period else []
    parts += ["بدون تاريخ"] if f.undated else []
    return " · ".join(parts) or "تصفح المقالات"


@bp.app_template_global("chosen_value")
def chosen_value(field: str, value: str, held: list[str]) -> bool:
    """Whether a filter the reader set (source=bbc, source=العربية, category=رياضة) selects this value."""
    return any(names_value(field, value, text) for text in held)


GONE_GROUP = "لا توجد في الفهرس مجموعة أخبار بهذا المعرّف، فربما أُعيد بناء الفهرس بعد حفظ الرابط."


@bp.get("/")
def index() -> ResponseReturnValue:
    q = request.args.get("q", "")[: settings(current_app).max_query_chars]  # shown in the box when a parameter is bad
    error = None
    result = None
    args = None
    unavailable = None
    retry = None
    try:
        config = settings(current_app)
        args = parse_search_args(request.args, config.per_page, config.max_per_page, config.max_query_chars)
    except BadParameter as exc:
        error = Markup(exc.html_ar(_style()))
        retry = retry_without(exc.name)
    widened = None
    if args is not None and args.asks():
        try:
            deadline = time.monotonic() + settings(current_app).search_time_limit  # the page's searches share it
            result = args.run(engine(current_app))
            widened = None if unknown_group(result) else _widened(args, result, deadline)
        except IndexProblem as exc:
            unavailable = exc.public
    overview = None
    if args is not None and not args.asks():
        try:
            overview = engine(current_app).overview()  # what the archive holds, said on the home page
        except IndexProblem as exc:
            unavailable = exc.public
    if unknown_group(result):
        abort(404, description=GONE_GROUP)
    status = 503 if unavailable else (400 if error else 200)
    home = result is None and error is None and unavailable is None
    page = render_template(
        "search.html", q=q, args=args, result=result, error=error, retry=retry, unavailable=unavailable, autofocus=home,
        overview=overview, widened=widened,
    )
    return page, status


@bp.get("/doc/<path:doc_id>")
def document(doc_id: str) -> ResponseReturnValue:
    q = single_query(request.args, settings(current_app).max_query_chars)
    doc = engine(current_app).document(doc_id, q)
    if doc is None:
        abort(404, description=f"لا توجد مقالة بالمعرّف {doc_id}")
    # The search the article was opened from (its link carries it): the way back to its results, and
    # carried on by the links to the article's copies and related articles (their marks need q).
    config = settings(current_app)
    try:
        searched = parse_search_args(request.args, config.per_page, config.max_per_page, config.max_query_chars)
    except BadParameter:
        searched = None
    asks = searched is not None and searched.asks()
    return render_template(
        "doc.html", doc=doc, q=q,
        search=searched.as_params() if asks else ({"q": q} if q else {}),
        back=url_for("pages.index", **searched.as_params()) if asks else None,
        # a copy's «كل النسخ» returns to this search's results (from a group's page: to where that page returns)
        back_query=(searched.back if searched.filters.group else searched.query_string()) if asks else None,
    )


@bp.app_template_global("author_of")
def author_of(doc) -> str:  # type: ignore[no-untyped-def]
    """The article's author, or nothing when the field only names the outlet («فرانس 24» in every France 24
    article): the page and the citation then name the outlet once, as the source."""
    source = source_label(doc.source) if doc.source else ""
    author = (doc.author or "").strip()
    return "" if author.casefold() in {source.casefold(), (doc.source or "").casefold()} else author


@bp.app_template_global("citation")
def citation(doc) -> str:  # type: ignore[no-untyped-def]
    """How to cite an article: author, «title», source, date, its URL, and its permalink here
    (absolute from the public_url setting, never from the Host header; else the path)."""
    permalink = public_url() + url_for("pages.document", doc_id=doc.id)
    source = source_label(doc.source) if doc.source else ""
    parts = [p for p in (author_of(doc), f"«{doc.title}»" if doc.title else "", source, arabic_date(doc.date)) if p]
    text = "، ".join(parts) + "."
    # Each address on a line of its own, which the box lays out left to right (each line takes its own
    # direction: unicode-bidi: plaintext); no invisible isolate marks (LRI … PDI), which a copy pastes into the URL.
    if doc.url and doc.url.startswith(("http://", "https://")):
        text += f"\n{doc.url}"
    return f"{text}\nباحث:\n{permalink}"


@bp.get("/about")
def about() -> ResponseReturnValue:
    """The collection at a glance: sources, their coverage, categories, undated articles, updates."""
    try:
        search_engine = engine(current_app)
        health = search_engine.health()
    except IndexProblem as exc:
        return render_template("about.html", q="", unavailable=exc.public, health=None, overview=None), 503
    return render_template("about.html", q="", unavailable=None, health=health, overview=health["collection"])


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/opensearch.xml")
def opensearch() -> ResponseReturnValue:
    # Absolute links from the public_url setting; relative ones when it is unknown, never the Host header.
    xml = render_template("opensearch.xml", site=public_url() + "/")
    return Response(xml, mimetype="application/opensearchdescription+xml")
