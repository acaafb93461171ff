"""Request parameters -> validated search arguments, shared by the page and the API."""

from __future__ import annotations

import html
import re
import urllib.parse
from dataclasses import dataclass
from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from search.analysis import ascii_digits
from search.backends.base import Snapshot
from search.engine import SORTS, Engine, Filters, SearchResult, shown
from search.notices import Notice
from search.query import MATCHES
from webapp.arabic import digits

# How the page names each parameter in an Arabic error message.
NAMES_AR = {
    "q": "نص البحث",
    "page": "رقم الصفحة",
    "per_page": "عدد النتائج في الصفحة",
    "sort": "الترتيب",
    "from": "تاريخ البداية",
    "to": "تاريخ النهاية",
    "source": "المصدر",
    "category": "التصنيف",
    "undated": "«بدون تاريخ»",
    "respell": "إعادة التهجئة",
    "match": "المطابقة",
    "collapse": "جمع النسخ",
    "group": "مجموعة الخبر",
    "back": "العودة إلى النتائج",
}


class UnknownGroup(LookupError):
    """``group`` names no story group of the index (a link kept from before a reindex): a 404, on the
    page, the API, the feed and the downloads alike."""

    def __init__(self, group: str) -> None:
        super().__init__(group)
        self.group = group
        self.message = f"no story group {group!r} in the index (a link from before a reindex?)"
        self.message_ar = f"لا توجد في الفهرس مجموعة أخبار بالمعرّف {group}"


def unknown_group(result: SearchResult | None) -> bool:
    """Whether the search asked for a story group the index does not hold (a well-formed id from a
    bookmark kept across a reindex): not an empty list of copies but a page that is not there."""
    return result is not None and any(n.code == "unknown_group" for n in result.notices)


def check_group(result: SearchResult, group: str | None) -> None:
    """Raise UnknownGroup when the search said its group is not in the index."""
    if group and unknown_group(result):
        raise UnknownGroup(group)


class BadParameter(ValueError):
    """A parameter a client sent is invalid; ``code`` goes into the JSON error.

    ``message`` is English (the API); ``message_ar`` Arabic (the page and the
    API), from a template whose ``{got}`` is what was sent, isolated in <bdi>
    on the page."""

    def __init__(self, name: str, message: str, template_ar: str = "", got: object = "") -> None:
        super().__init__(message)
        self.name = name
        self.code = f"invalid_{name}"
        self.message = message
        self._template_ar = template_ar or "قيمة {name} غير صالحة"
        self._got = str(got)

    @property
    def message_ar(self) -> str:
        return self._template_ar.format(name=NAMES_AR.get(self.name, self.name), got=self._got)

    def html_ar(self, style: str = "western") -> str:
        """The message for the page: the template's own numbers (the bounds) in the page's digits
        (``style``), what was sent as it was sent."""
        name = html.escape(NAMES_AR.get(self.name, self.name))
        template = digits(html.escape(self._template_ar), style)
        return template.format(name=name, got=f"<bdi>{html.escape(self._got)}</bdi>")


@dataclass
class SearchArgs:
    q: str
    page: int
    per_page: int
    sort: str
    filters: Filters
    respell: bool = True  # false: the words as typed, never the respelling's results
    match: str = "auto"  # all | any | auto (all for a few words, any for a pasted headline)
    collapse: bool = True  # one result per story group
    per_page_sent: bool = False  # per_page was in the request: every link to this search keeps it
    cut_to: int | None = None  # q was longer than max_query_chars and is cut to this: links carry it cut
    unknown: tuple[str, ...] = ()  # parameters sent that no search reads (a typo: Q=, perpage=): each named
    back: str = ""  # pages only: the results page a story group's page came from (its query string, checked)

    def run(self, engine: Engine, snapshot: Snapshot | None = None) -> SearchResult:
        """This search, on the engine (the page and the API ask the same way); with ``snapshot``,
        on that state of the index."""
        result = engine.search(
            self.q,
            page=self.page,
            per_page=self.per_page,
            sort=self.sort,
            filters=self.filters,
            respell=self.respell,
            match=self.match,
            collapse=self.collapse,
            snapshot=snapshot,
        )
        if self.cut_to is not None and not any(n.code == "query_cut" for n in result.notices):
            result.notices.insert(0, Notice("query_cut", {"limit": self.cut_to}))
        result.notices.extend(Notice("unknown_parameter", {"text": name}) for name in self.unknown)
        return result

    def asks(self) -> bool:
        """Whether this asks for anything: words, or a filter alone (a source, a category, dates,
        «undated», a story group). The page, the API, the feed and the exports agree on it."""
        return bool(self.q.strip() or self.filters.active)

    @property
    def default_sort(self) -> str:
        """The order of a search that names none: by relevance, or newest first without words (browsing)."""
        return "relevance" if self.q.strip() else "newest"

    def as_params(self, **changes: Any) -> dict[str, Any]:
        """Query-string parameters reproducing this search, with changes (for links)."""
        params: dict[str, Any] = {"q": self.q}
        if self.sort != self.default_sort:
            params["sort"] = self.sort
        if self.filters.source:
            params["source"] = self.filters.source
        if self.filters.category:
            params["category"] = self.filters.category
        if self.filters.date_from:
            params["from"] = self.filters.date_from.isoformat()
        if self.filters.date_to:
            params["to"] = self.filters.date_to.isoformat()
        if self.filters.undated:
            params["undated"] = "1"
        if self.filters.group:
            params["group"] = self.filters.group
        if not self.collapse:
            params["collapse"] = "0"
        if self.page != 1:
            params["page"] = self.page
        if self.per_page_sent:
            params["per_page"] = self.per_page
        if not self.respell:
            params["respell"] = "0"
        if self.match != "auto":
            params["match"] = self.match
        if self.back:
            params["back"] = self.back
        params.update(changes)
        return {k: v for k, v in params.items() if v not in (None, "", [])}

    def query_string(self, **changes: Any) -> str:
        """This search as a query string (the ``back`` of a story group's page)."""
        return urllib.parse.urlencode(self.as_params(**changes), doseq=True)


MAX_PAGE = 1000
MAX_VALUES = 20  # times a list parameter (source, category) may be repeated
MAX_VALUE_CHARS = 200
WHOLE_NUMBER = re.compile(r"([0-9]+)(?:\.0+)?", re.ASCII)
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
GROUP_ID = re.compile(r"g[0-9a-f]{16}", re.ASCII)  # search.grouping.key_of
BOOLEANS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _bool(args: MultiDict, name: str, default: bool) -> bool:
    raw = args.get(name, "")
    if not raw:
        return default
    if raw not in BOOLEANS:
        raise BadParameter(
            name, f"{name} must be one of {', '.join(BOOLEANS)}, not {raw[:20]!r}", "{name}: 1 أو 0، لا «{got}»", raw[:20]
        )
    return BOOLEANS[raw]


def _int(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name, "")
    if raw == "":
        return default
    whole = WHOLE_NUMBER.fullmatch(ascii_digits(raw))  # ٢٠ and ۲۰ are 20, as in settings and queries
    if not whole:  # exactly what the OpenAPI document calls an integer: no sign, blank, "1e3" or "3_0"
        raise BadParameter(
            name, f"{name} must be a whole number, not {raw[:20]!r}", "{name} عدد صحيح، لا «{got}»", raw[:20]
        )
    digits = whole[1].lstrip("0") or "0"  # "3" and "3.0" are the same page
    if len(digits) > 9 or not low <= int(digits) <= high:
        raise BadParameter(
            name, f"{name} must be between {low} and {high}, not {digits[:20]}", f"{{name}} بين {low} و{high}، لا {{got}}", digits[:20]
        )
    value = int(digits)
    return value


def _date(args: MultiDict, name: str) -> date | None:
    raw = args.get(name, "")
    if not raw:
        return None
    written = ascii_digits(raw)  # ٢٠١٨-٠٣-٠١ is 2018-03-01
    if not ISO_DATE.fullmatch(written):  # fromisoformat alone also takes "20180101" and "2018-W01"
        raise BadParameter(
            name, f"{name} must be a date as YYYY-MM-DD, not {raw[:20]!r}", "{name} تاريخ بالصيغة YYYY-MM-DD، لا «{got}»", raw[:20]
        )
    try:
        return date.fromisoformat(written)
    except ValueError:  # in the form, but no day of the calendar: 2018-02-30, 2018-13-01
        raise BadParameter(
            name, f"{name}: {raw[:20]!r} is no day of the calendar (no such month or day)",
            "{name}: «{got}» ليس يومًا في التقويم (لا شهر ولا يوم بهذا الرقم)", raw[:20],
        ) from None


def _group(args: MultiDict) -> str:
    raw = args.get("group", "")
    if raw and not GROUP_ID.fullmatch(raw):
        raise BadParameter(
            "group",
            f"group must be a story group id (g and 16 hexadecimal digits), not {raw[:20]!r}",
            "{name}: معرّف مجموعة (g و16 رمزًا ست عشريًا)، لا «{got}»",
            raw[:20],
        )
    return raw


def _values(args: MultiDict, name: str) -> list[str]:
    """Each value as sent; the engine reads "a,b" as a list only when no value is called "a,b"."""
    sent = args.getlist(name)
    if len(sent) > MAX_VALUES:
        raise BadParameter(
            name,
            f"{name} can be given at most {MAX_VALUES} times, not {len(sent)}",
            f"{{name}} يُعطى {MAX_VALUES} مرة على الأكثر، لا {{got}}",
            str(len(sent)),
        )
    if any(len(v) > MAX_VALUE_CHARS for v in sent):
        raise BadParameter(
            name, f"{name} values must be at most {MAX_VALUE_CHARS} characters", f"قيم {{name}} {MAX_VALUE_CHARS} حرف على الأكثر"
        )
    return [shown(v).strip() for v in sent if v.strip()]


# Parameters that take one value (source and category take several).
SINGLE_VALUED = (
    "q", "page", "per_page", "sort", "match", "from", "to", "undated", "respell", "collapse", "group", "back",
)


def _sent_once(args: MultiDict, name: str) -> None:
    """A parameter that takes one value, sent twice: which one was meant? Never one chosen silently."""
    sent = len(args.getlist(name))
    if sent > 1:
        raise BadParameter(name, f"{name} was sent {sent} times; send it once", "{name} مكرّر: أرسله مرة واحدة")


def single_query(args: MultiDict, max_chars: int | None = None) -> str:
    """The ``q`` of a route that reads nothing else of a search (an article's page marks it), cut to
    ``max_chars`` (the engine searches no more of it)."""
    _sent_once(args, "q")
    q = args.get("q", "")
    return q[:max_chars] if max_chars is not None else q


def parse_search_args(
    args: MultiDict, per_page_default: int, max_per_page: int, max_query_chars: int | None = None
) -> SearchArgs:
    """Validate the query string; raises BadParameter naming the parameter at fault.

    Text that cannot be encoded (a lone surrogate) is read with U+FFFD in its place, so
    every link, entity tag and page built from it can be written. A ``q`` longer than
    ``max_query_chars`` is cut to it here, as the engine would cut it: every link, the page's
    search box, the API's ``query`` and the feed carry the query as searched, so a response
    is bounded by the setting, not by the length of a request line."""
    for name in SINGLE_VALUED:
        _sent_once(args, name)
    q = shown(args.get("q", ""))
    cut_to = None
    if max_query_chars is not None and len(q) > max_query_chars:
        q, cut_to = q[:max_query_chars], max_query_chars
    sort = args.get("sort", "") or "relevance"
    if sort not in SORTS:
        raise BadParameter(
            "sort", f"sort must be one of {', '.join(SORTS)}, not {sort[:20]!r}", "{name}: relevance أو newest أو oldest، لا «{got}»", sort[:20]
        )
    if sort == "relevance" and not q.strip():  # no words to be relevant to: browsing lists newest first, and says so
        sort = "newest"
    filters = Filters(
        source=_values(args, "source"),
        category=_values(args, "category"),
        date_from=_date(args, "from"),
        date_to=_date(args, "to"),
        undated=_bool(args, "undated", False),
        group=_group(args),
    )
    match = args.get("match", "") or "auto"
    if match not in MATCHES:
        raise BadParameter(
            "match",
            f"match must be one of {', '.join(MATCHES)}, not {match[:20]!r}",
            "{name}: auto أو all أو any، لا «{got}»",
            match[:20],
        )
    return SearchArgs(
        back=_back(args, per_page_default, max_per_page, max_query_chars),
        collapse=_bool(args, "collapse", True),
        match=match,
        respell=_bool(args, "respell", True),
        q=q,
        page=_int(args, "page", 1, 1, MAX_PAGE),
        per_page=_int(args, "per_page", per_page_default, 1, max_per_page),
        sort=sort,
        filters=filters,
        per_page_sent=bool(args.get("per_page", "")),
        cut_to=cut_to,
        unknown=tuple(sorted(name[:40] for name in set(args) - READ_PARAMETERS)[:MAX_UNKNOWN_NAMED]),
    )


def _back(args: MultiDict, per_page_default: int, max_per_page: int, max_query_chars: int | None) -> str:
    """The results page to go back to, as a query string: parsed as a search (without a ``back`` of its
    own) and written again, so that a link made from it is always a search on this site."""
    raw = args.get("back", "")
    if not raw:
        return ""
    inner = MultiDict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
    inner.poplist("back")
    try:
        searched = parse_search_args(inner, per_page_default, max_per_page, max_query_chars)
    except BadParameter:
        raise BadParameter(
            "back", "back must be the query string of a valid search", "{name}: ليس بحثًا صالحًا: «{got}»", raw[:40]
        ) from None
    return searched.query_string() if searched.asks() else ""


def last_page(pages: int) -> int:
    """The last page a link may lead to: the results' last, within MAX_PAGE, and at least 1."""
    return max(1, min(pages, MAX_PAGE))


# The parameters a route reads: only their values must be UTF-8 (a link may carry others, such as
# a tracking parameter in another encoding, which no route reads).
MAX_UNKNOWN_NAMED = 5  # unknown parameters named in notices, at most

READ_PARAMETERS = frozenset({
    "q", "sort", "match", "page", "per_page", "from", "to", "source", "category", "undated", "respell",
    "collapse", "group", "back",
})


def check_query_encoding(query_string: bytes) -> None:
    """Refuse a parameter a route reads whose percent-encoded bytes are not UTF-8 (``q=%D9``, a
    lone surrogate's ``%ED%A0%80``): the server would read them as the literal text "%D9" and
    search it. The error names the parameter (code ``invalid_<name>``)."""
    for pair in query_string.split(b"&"):
        raw_name, _, value = pair.partition(b"=")
        try:
            name = urllib.parse.unquote_to_bytes(raw_name.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            continue  # no parameter any route reads
        if name not in READ_PARAMETERS:
            continue
        try:
            urllib.parse.unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise BadParameter(
                name,
                f"{name}: percent-encoded bytes that are not UTF-8; encode the text as UTF-8",
                "قيمة {name} ليست نصا بترميز UTF-8",
            ) from None
