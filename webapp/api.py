"""The JSON API: /api/search, /api/doc/<id>, /api/health, /api/openapi.json."""

from __future__ import annotations

import os

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from search.api import doc_json, error_json, result_json
from search.errors import IndexProblem
from webapp import engine, settings
from webapp.openapi import openapi_document
from webapp.params import parse_search_args
from webapp.security import public_url

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/search")
def search() -> ResponseReturnValue:
    args = parse_search_args(request.args, settings(current_app).per_page, settings(current_app).max_per_page)
    result = engine(current_app).search(
        args.q, page=args.page, per_page=args.per_page, sort=args.sort, filters=args.filters
    )
    return jsonify(result_json(result))


@bp.get("/doc/<path:doc_id>")
def document(doc_id: str) -> ResponseReturnValue:
    doc = engine(current_app).document(doc_id, request.args.get("q", ""))
    if doc is None:
        return jsonify(error_json("not_found", f"no document with id {doc_id!r}")), 404
    return jsonify(doc_json(doc))


@bp.get("/health")
def health() -> ResponseReturnValue:
    try:
        return jsonify({**engine(current_app).health(), "worker": worker()})
    except IndexProblem as exc:
        from search import __version__

        body = {"status": "unavailable", "documents": 0, "built_at": None, "version": __version__, "error": exc.public}
        return jsonify(body), 503


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
    return jsonify(openapi_document(public_url()))
