"""One error handler that answers in JSON under /api and in HTML elsewhere."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from search.api import error_json
from search.errors import IndexProblem
from webapp.params import BadParameter

MESSAGES_AR = {
    400: "طلب غير صالح",
    404: "الصفحة غير موجودة",
    405: "طريقة الطلب غير مسموح بها",
    413: "الطلب كبير جدا",
    500: "حدث خطأ غير متوقع",
    503: "الفهرس غير متاح حاليا",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/api"


def _respond(status: int, code: str, message: str) -> ResponseReturnValue:
    if _wants_json():
        return jsonify(error_json(code, message)), status
    title = MESSAGES_AR.get(status, "خطأ")
    return render_template("error.html", status=status, title=title, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(BadParameter)
    def bad_parameter(exc: BadParameter) -> ResponseReturnValue:
        return _respond(400, exc.code, exc.message)

    @app.errorhandler(IndexProblem)
    def index_problem(exc: IndexProblem) -> ResponseReturnValue:
        app.logger.warning("index unavailable: %s", exc)
        return _respond(503, "index_unavailable", exc.public)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = (exc.name or "error").lower().replace(" ", "_")
        body, status = _respond(exc.code or 500, code, exc.description or exc.name)  # type: ignore[misc]
        # Keep the exception's own headers, such as Allow on a 405.
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return body, status, headers

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        app.logger.exception("unexpected error on %s", request.path)
        return _respond(500, "internal_error", "an unexpected error occurred; it has been logged")
