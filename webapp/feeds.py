"""An Atom feed per search (/feed.atom?q=…): any feed reader becomes an alert for an archive that grows.

Written with the standard library's ElementTree: Atom is a dozen elements, and the
candidate library (feedgen) would bring lxml, a large compiled dependency, for them.
The feed is the search's newest results (the ``sort`` sent is ignored), as many as
``per_page`` (bounded by ``max_per_page``), newest first by their instants (the page's
«الأحدث» goes by each article's local time, and offsets differ), undated ones last; a bad
parameter is a 400 naming it, like the page. It carries the API's ETag of the index state
(``Cache-Control: public, no-cache``), and while that is unchanged the body is byte for byte
the same: an entry without a date, which Atom still gives an ``updated``, gets the time the
index was built, never the time of the request (a reader would see it updated at each poll).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, request, url_for
from flask.typing import ResponseReturnValue

from search.backends.base import Snapshot
from search.engine import Hit, SearchResult
from search.labels import category_label, source_label
from webapp import engine, settings
from webapp.api import CACHE_CONTROL, entity_tag, not_modified
from webapp.pages import arabic_number, author_of, search_title
from webapp.params import BadParameter, SearchArgs, check_group, parse_search_args
from webapp.security import public_url

bp = Blueprint("feeds", __name__)

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)


# What XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF): left out of the feed.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _el(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM}}}{name}", {k: NOT_XML.sub("", v) for k, v in attrs.items()})
    if text is not None:
        node.text = NOT_XML.sub("", text)
    return node


def _link(path: str) -> str:
    """Absolute from the public_url setting; else the path, which a feed reader resolves against
    the feed's own address. Never from the Host header: the feed may sit in a shared cache."""
    return public_url() + path


def _id(path: str) -> str:
    """An entry's or the feed's Atom id, which must be an absolute IRI: the public address when
    known, else a name that no request can change."""
    return public_url() + path if public_url() else "urn:baheth:" + path.lstrip("/")


def _instant(value: str | None) -> datetime | None:
    """An article's date as an instant in UTC (a date without a zone is UTC, as ingestion takes it)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


# A generation's name starts with the time its build began (search.backends.writing.stamp).
GENERATION_STAMP = re.compile(r"(\d{8}T\d{6})")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # an index that says nothing of its build


def _built(snapshot: Snapshot) -> datetime:
    """When the index served was built: its metadata's built_at, else the time in its generation's
    name. The same for every state of one generation (an add or delete changes neither), so an
    undated entry keeps its ``updated`` from one poll, and one add, to the next."""
    info = snapshot.info()
    built = info.get("built_at")
    if isinstance(built, str) and (moment := _instant(built)):
        return moment
    found = GENERATION_STAMP.search(str(info.get("generation") or ""))
    if found:
        return datetime.strptime(found.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return EPOCH


CANDIDATES = 2  # entries read, as a multiple of those shown, to pick the newest by instant


def _newest(args: SearchArgs, snapshot: Snapshot) -> tuple[SearchResult, list[Hit]]:
    """The search's ``per_page`` newest results, newest first by instant, undated last (in the
    search's order). «الأحدث» ranks by local time: the newest instants are picked from twice as
    many, so that an article whose offset puts it ahead is not left just outside the feed."""
    result = replace(args, per_page=args.per_page * CANDIDATES).run(engine(current_app), snapshot)
    dated = [(moment, n) for n, hit in enumerate(result.hits) if (moment := _instant(hit.date))]
    dated.sort(key=lambda item: (-item[0].timestamp(), item[1]))
    undated = [n for n, hit in enumerate(result.hits) if _instant(hit.date) is None]
    return result, [result.hits[n] for n in [n for _, n in dated] + undated][: args.per_page]


@bp.get("/feed.atom")
def feed() -> ResponseReturnValue:
    config = settings(current_app)
    args = parse_search_args(request.args, config.per_page, config.max_per_page, config.max_query_chars)
    if not args.asks():
        raise BadParameter("q", "a feed needs q or a filter (source, category, from/to, undated, group)",
                           "الخلاصة تحتاج إلى {name} أو مرشّح (مصدر، تصنيف، تاريخ، مجموعة)")
    # The API's entity tag: a reader revalidates and gets 304 until the index changes, and the new
    # entries as soon as `baheth add` wrote them (a max-age kept the old feed for minutes). The tag,
    # the entries and their times are read from one state of the index.
    snapshot = engine(current_app).snapshot()
    tag = entity_tag(snapshot.key)
    cached = not_modified(tag)
    if cached is not None:
        return cached
    args.sort, args.page = "newest", 1
    result, hits = _newest(args, snapshot)
    check_group(result, args.filters.group)  # a 404, as on the page and the API: no feed of an empty group
    built = _built(snapshot)
    stamps = [(_instant(hit.date) or built).isoformat() for hit in hits]
    params = args.as_params(page=None)
    params.pop("sort", None)
    root = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "ar"})
    _el(root, "id", _id(url_for("feeds.feed", **params)))
    _el(root, "title", f"باحث: {search_title(args)}")
    _el(root, "subtitle", f"أحدث المقالات المطابقة ({arabic_number(result.total)} في الأرشيف)")
    _el(root, "link", rel="self", type="application/atom+xml", href=_link(url_for("feeds.feed", **params)))
    _el(root, "link", rel="alternate", type="text/html", href=_link(url_for("pages.index", **args.as_params())))
    _el(root, "generator", "Baheth")
    # The latest instant among the dated entries (they come first); without one, the index's build:
    # never the request's time, which would change the body under the same entity tag.
    _el(root, "updated", stamps[0] if hits and _instant(hits[0].date) else built.isoformat())
    author = _el(root, "author")
    _el(author, "name", "باحث")
    for hit, stamp in zip(hits, stamps, strict=True):
        entry = _el(root, "entry")
        path = url_for("pages.document", doc_id=hit.id)
        permalink = _link(path)
        _el(entry, "id", _id(path))
        _el(entry, "title", hit.title or hit.id)
        _el(entry, "updated", stamp)
        if _instant(hit.date):
            _el(entry, "published", stamp)
        _el(entry, "link", rel="alternate", type="text/html", href=permalink)
        if hit.url.startswith(("http://", "https://")):
            _el(entry, "link", rel="related", href=hit.url)
        # The outlet by the name it publishes under (a code, «alarabia», tells a reader nothing); an
        # author the source gave, when it is not only the outlet's name again, beside it.
        outlet = source_label(hit.source) if hit.source else ""
        for name in [n for n in (author_of(hit), outlet) if n] or ["—"]:
            _el(_el(entry, "author"), "name", name)
        if hit.category:
            _el(entry, "category", term=hit.category, label=category_label(hit.category))
        if hit.snippet_text:
            _el(entry, "summary", hit.snippet_text)
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    response = Response(body, mimetype="application/atom+xml", headers={"Cache-Control": CACHE_CONTROL})
    response.set_etag(tag)
    return response
