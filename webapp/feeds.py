"""An Atom feed per search (/feed.atom?q=…): any feed reader becomes an alert for an archive that grows.

Written with the standard library's ElementTree: Atom is a dozen elements, and the
candidate library (feedgen) would bring lxml, a large compiled dependency, for them.
The feed is the search's newest results (the ``sort`` sent is ignored), as many as
``per_page`` (bounded by ``max_per_page``); a bad parameter is a 400 naming it, like the page.
It carries the API's ETag of the index state (``Cache-Control: public, no-cache``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, request, url_for
from flask.typing import ResponseReturnValue

from webapp import engine, settings
from webapp.api import CACHE_CONTROL, entity_tag, not_modified
from webapp.params import BadParameter, parse_search_args
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


def _stamp(value: str | None, fallback: datetime) -> str:
    """An RFC 3339 time: the article's date, else the fallback (Atom requires one)."""
    if value:
        try:
            return datetime.fromisoformat(value).astimezone(UTC).isoformat()
        except ValueError:
            pass
    return fallback.isoformat()


@bp.get("/feed.atom")
def feed() -> ResponseReturnValue:
    config = settings(current_app)
    args = parse_search_args(request.args, config.per_page, config.max_per_page, config.max_query_chars)
    if not args.asks():
        raise BadParameter("q", "a feed needs q or a filter (source, category, from/to, undated, group)",
                           "الخلاصة تحتاج إلى {name} أو مرشّح (مصدر، تصنيف، تاريخ، مجموعة)")
    # The API's entity tag: a reader revalidates and gets 304 until the index changes, and the new
    # entries as soon as `baheth add` wrote them (a max-age kept the old feed for minutes).
    tag = entity_tag()
    cached = not_modified(tag)
    if cached is not None:
        return cached
    args.sort, args.page = "newest", 1
    result = args.run(engine(current_app))
    updated = datetime.now(UTC).replace(microsecond=0)
    params = args.as_params(page=None)
    params.pop("sort", None)
    root = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "ar"})
    _el(root, "id", _id(url_for("feeds.feed", **params)))
    _el(root, "title", f"باحث: {args.q.strip() or 'بحث'}")
    _el(root, "subtitle", f"أحدث المقالات المطابقة ({result.total} في الأرشيف)")
    _el(root, "link", rel="self", type="application/atom+xml", href=_link(url_for("feeds.feed", **params)))
    _el(root, "link", rel="alternate", type="text/html", href=_link(url_for("pages.index", **args.as_params())))
    _el(root, "generator", "Baheth")
    # The latest instant among the entries (dates written with different offsets compare as instants).
    newest = [datetime.fromisoformat(_stamp(hit.date, updated)) for hit in result.hits if hit.date]
    _el(root, "updated", max(newest).isoformat() if newest else updated.isoformat())
    author = _el(root, "author")
    _el(author, "name", "باحث")
    for hit in result.hits:
        entry = _el(root, "entry")
        path = url_for("pages.document", doc_id=hit.id)
        permalink = _link(path)
        _el(entry, "id", _id(path))
        _el(entry, "title", hit.title or hit.id)
        _el(entry, "updated", _stamp(hit.date, updated))
        if hit.date:
            _el(entry, "published", _stamp(hit.date, updated))
        _el(entry, "link", rel="alternate", type="text/html", href=permalink)
        if hit.url.startswith(("http://", "https://")):
            _el(entry, "link", rel="related", href=hit.url)
        who = _el(entry, "author")
        _el(who, "name", hit.author or hit.source or "—")
        if hit.category:
            _el(entry, "category", term=hit.category)
        if hit.snippet_text:
            _el(entry, "summary", hit.snippet_text)
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    response = Response(body, mimetype="application/atom+xml", headers={"Cache-Control": CACHE_CONTROL})
    response.set_etag(tag)
    return response
