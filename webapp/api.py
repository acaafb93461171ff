"""The JSON API: /api/search, /api/doc/<id>, /api/health, /api/openapi.json."""

from __future__ import annotations

import hashlib
import re
import os
from collections.abc import Hashable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue

from search.api import doc_json, error_json, result_json
from search import __version__
from search.errors import IndexProblem
from webapp import engine, settings
from webapp.openapi import openapi_document
from webapp.params import UnknownGroup, last_page, parse_search_args, single_query, unknown_group
from webapp.security import public_url

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.app_template_filter("placeholders")
def placeholders(template: str) -> str:
    """A message template as a reader sees it: each {value} shown as «…»."""
    return re.sub(r"\{[a-z_]+\}", "…", template)


@bp.get("")
def page() -> ResponseReturnValue:
    """A human-readable description of the API (static HTML, no script)."""
    from search.notices import MESSAGES

    return render_template(
        "api.html",
        q="",
        max_per_page=settings(current_app).max_per_page,
        example_url=(public_url() or "http://127.0.0.1:8000") + "/api/search?q=%D8%A7%D9%84%D8%A7%D9%86%D8%AA%D8%B1%D9%86%D8%AA",
        notice_messages=sorted(MESSAGES.items()),
    )


# The answer depends only on the index's state, the request and the server's settings: a client
# revalidates with If-None-Match and gets 304 until the index changes (a reindex, add or delete).
CACHE_CONTROL = "public, no-cache"


def entity_tag(key: Hashable | None = None) -> str:
    """This request's entity tag: the index state (``key``: a snapshot's, else the live one's), the full
    path with its query, the settings."""
    key = engine(current_app).snapshot().key if key is None else key
    seed = f"{key!r}|{__version__}|{settings(current_app).fingerprint()}|{request.full_path!r}"
    return hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def not_modified(tag: str, exists: bool = True) -> Response | None:
    """304 when the client holds this answer. If-None-Match compares weakly (RFC 9110 13.1.2): a
    proxy that compressed the answer sends the tag back as W/"…". «*» matches only an answer that
    ``exists`` (an article that is not there is 404, never 304)."""
    wanted = request.if_none_match
    if (wanted.star_tag and exists) or (not wanted.star_tag and wanted.contains_weak(tag)):
        response = Response(status=304)
        response.set_etag(tag)
        response.headers["Cache-Control"] = CACHE_CONTROL
        return response
    return None


def _fresh(body: dict[str, Any], tag: str, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.set_etag(tag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@bp.get("/search")
def search() -> ResponseReturnValue:
    config = settings(current_app)
    args = parse_search_args(request.args, config.per_page, config.max_per_page, config.max_query_chars)
    tag = entity_tag()
    cached = not_modified(tag)
    if cached is not None:
        return cached
    result = args.run(engine(current_app))
    if unknown_group(result):
        gone = UnknownGroup(args.filters.group or "")
        return _fresh(error_json("unknown_group", gone.message, gone.message_ar), tag, 404)  # with its ETag
    body = result_json(result, args.filters)
    last = last_page(result.pages)
    body["next"] = url_for("api.search", **args.as_params(page=result.page + 1)) if result.page < last else None
    body["prev"] = url_for("api.search", **args.as_params(page=min(result.page - 1, last))) if result.page > 1 else None
    return _fresh(body, tag)


@bp.get("/doc/<path:doc_id>")
def document(doc_id: str) -> ResponseReturnValue:
    q = single_query(request.args, settings(current_app).max_query_chars)
    tag = entity_tag()
    cached = None if request.if_none_match.star_tag else not_modified(tag)
    if cached is not None:
        return cached
    doc = engine(current_app).document(doc_id, q)
    cached = not_modified(tag, exists=doc is not None) if request.if_none_match.star_tag else None
    if cached is not None:
        return cached
    if doc is None:
        body = error_json("not_found", f"no document with id {doc_id!r}", f"لا توجد مقالة بالمعرّف {doc_id}")
        return _fresh(body, tag, 404)
    return _fresh(doc_json(doc), tag)


@bp.after_app_request
def cross_origin(response: Response) -> Response:
    """CORS for the read-only API: the origins of the cors_origins setting may read it."""
    if not request.path.startswith("/api/"):
        return response
    allowed = [o.strip() for o in settings(current_app).cors_origins.split(",") if o.strip()]
    origin = request.headers.get("Origin", "")
    if "*" in allowed:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin and origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
    else:
        return response
    response.headers["Access-Control-Expose-Headers"] = "ETag"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET"
        response.headers["Access-Control-Allow-Headers"] = "If-None-Match"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.get("/health")
def health() -> ResponseReturnValue:
    """The server's state now (its memory changes from one request to the next): never cached."""
    try:
        response = jsonify({**engine(current_app).health(), "worker": worker()})
    except IndexProblem as exc:
        from search import __version__

        body = {"status": "unavailable", "documents": 0, "built_at": None, "version": __version__, "error": exc.public}
        response = jsonify(body)
        response.status_code = 503
    response.headers["Cache-Control"] = "no-store"
    return response


def worker() -> dict[str, object]:
    """This server process (one of `baheth serve --workers N`) and its resident memory: all of it
    (VmRSS, which counts mapped index pages) and its private part (RssAnon)."""
    found: dict[str, float | None] = {"VmRSS": None, "RssAnon": None}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                name = line.split(":", 1)[0]
                if name in found:
                    found[name] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass  # not Linux
    return {"pid": os.getpid(), "rss_mb": found["VmRSS"], "private_mb": found["RssAnon"]}


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The document depends on the version and the settings only: its tag says so."""
    seed = f"{__version__}|{settings(current_app).fingerprint()}|{public_url()}"
    tag = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    cached = not_modified(tag)
    if cached is not None:
        return cached
    return _fresh(openapi_document(public_url(), settings(current_app).max_per_page), tag)
