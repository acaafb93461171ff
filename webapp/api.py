"""The JSON API: /api/search, /api/doc/<id>, /api/health, /api/openapi.json."""

from __future__ import annotations

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
        return jsonify(engine(current_app).health())
    except IndexProblem as exc:
        from search import __version__

        body = {"status": "unavailable", "documents": 0, "built_at": None, "version": __version__, "error": exc.public}
        return jsonify(body), 503


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document(public_url()))
