"""The search page, the article view and the OpenSearch description."""

from __future__ import annotations

import html
import math
import re
from datetime import date, datetime

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from search.analysis import MONTH_TRADITIONS, has_arabic
from search.engine import SearchResult
from search.errors import IndexProblem
from search.highlight import WHY
from search.labels import category_label
from search.timeline import presets
from webapp import engine, settings
from webapp.arabic import ARTICLES, HIDDEN_COPIES, OTHER_COPIES, counted, digits, number, result_range
from webapp.errors import retry_without
from webapp.params import BadParameter, SearchArgs, last_page, parse_search_args, single_query
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


@bp.app_template_global("timeline")
def timeline_view(result: SearchResult, args: SearchArgs) -> list[dict[str, object]]:
    """The result's timeline as bars to draw: each a link filtering the search to its period."""
    bars = result.timeline
    if not bars:
        return []
    tallest = max(bar.count for bar in bars) or 1
    style = _style()
    out = []
    for n, bar in enumerate(bars):
        if bar.unit == "day":
            name = f"{bar.start.day} {_months()[bar.start.month - 1]} {bar.start.year}"
        elif bar.unit == "month":
            name = f"{_months()[bar.start.month - 1]} {bar.start.year}"
        elif bar.unit == "year":
            name = str(bar.start.year)
        else:
            name = f"{bar.start.year}–{bar.end.year}"
        # A square-root scale, at least 6 units: one article is visibly more than none beside thousands.
        height = 0 if not bar.count else max(6, round(TIMELINE_HEIGHT * math.sqrt(bar.count / tallest)))
        out.append({
            "x": n,
            "height": height,
            "label": f"{digits(name, style)}: {counted(bar.count, ARTICLES, style)}",
            "href": url_for("pages.index", **args.as_params(page=None, undated=None, **{
                "from": bar.start.isoformat(), "to": bar.end.isoformat()})),
            "chosen": args.filters.date_from == bar.start and args.filters.date_to == bar.end,
            "count": bar.count,
        })
    return out


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
def date_presets(args: SearchArgs) -> list[dict[str, object]]:
    """One-click date ranges, ending today, or on the archive's last day when it ends before today
    (then the first item says so)."""
    return [
        {
            "label": digits(PRESET_LABELS[name].format(year=start.year), _style()),
            "href": url_for("pages.index", **args.as_params(page=None, undated=None, **{
                "from": start.isoformat(), "to": stop.isoformat()})),
            "chosen": args.filters.date_from == start and args.filters.date_to == stop,
            "ends": arabic_date(stop.isoformat()) if stop < date.today() and name != "last_year" else None,
        }
        for name, start, stop in presets(_presets_end())
    ]


@bp.app_template_filter("category_name")
def category_name(value: str) -> str:
    return category_label(value)


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
        error = Markup(exc.html_ar())
        retry = retry_without(exc.name)
    if args is not None and args.asks():
        try:
            result = args.run(engine(current_app))
        except IndexProblem as exc:
            unavailable = exc.public
    overview = None
    if args is not None and not args.asks():
        try:
            overview = engine(current_app).overview()  # what the archive holds, said on the home page
        except IndexProblem as exc:
            unavailable = exc.public
    status = 503 if unavailable else (400 if error else 200)
    home = result is None and error is None and unavailable is None
    page = render_template(
        "search.html", q=q, args=args, result=result, error=error, retry=retry, unavailable=unavailable, autofocus=home,
        overview=overview,
    )
    return page, status


@bp.get("/doc/<path:doc_id>")
def document(doc_id: str) -> ResponseReturnValue:
    q = single_query(request.args, settings(current_app).max_query_chars)
    doc = engine(current_app).document(doc_id, q)
    if doc is None:
        abort(404, description=f"لا توجد مقالة بالمعرّف {doc_id}")
    return render_template("doc.html", doc=doc, q=q)


@bp.app_template_global("citation")
def citation(doc) -> str:  # type: ignore[no-untyped-def]
    """How to cite an article: author, «title», source, date, its URL, and its permalink here
    (absolute from the public_url setting, never from the Host header; else the path)."""
    permalink = public_url() + url_for("pages.document", doc_id=doc.id)
    parts = [p for p in (doc.author, f"«{doc.title}»" if doc.title else "", doc.source, arabic_date(doc.date)) if p]
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
