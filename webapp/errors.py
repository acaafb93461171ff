"""One error handler that answers in JSON under /api and in HTML elsewhere."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request, url_for
from markupsafe import Markup
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from search.api import error_json
from search.engine import shown
from search.errors import IndexProblem
from webapp import settings
from webapp.params import NAMES_AR, READ_PARAMETERS, BadParameter, UnknownGroup

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


# What the page says under the title, when the error brings no Arabic message of its own.
DETAILS_AR = {
    400: "لم يُفهم الطلب.",
    404: "لا شيء في هذا العنوان. تحقق من الرابط أو ابحث من الصفحة الرئيسية.",
    405: "هذه الصفحة تُطلب بـ GET فقط.",
    413: "الطلب أكبر مما يقبله الخادم.",
    500: "حدث خطأ غير متوقع، وسُجّل ليُصلح.",
    503: "لا يمكن البحث الآن.",
}


def _arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def _respond(  # type: ignore[no-untyped-def]
    status: int, code: str, message: str, message_ar: str | None = None, html_ar: str | None = None, bad: str = ""
):
    """JSON under /api (code, English and Arabic messages); an Arabic page elsewhere, which keeps
    the reader's words in the search box and, for a ``bad`` parameter, links to the same search
    without it."""
    if message_ar is None:
        message_ar = message if _arabic(message) else DETAILS_AR.get(status, MESSAGES_AR.get(status, "خطأ"))
    if _wants_json():
        return jsonify(error_json(code, message, message_ar)), status
    title = MESSAGES_AR.get(status, "خطأ")
    detail = Markup(html_ar) if html_ar is not None else message_ar
    q = shown(request.args.get("q", "")[: _query_chars()])
    return render_template(
        "error.html", status=status, title=title, message=detail, code=code, q=q, retry=retry_without(bad)
    ), status


def _query_chars() -> int | None:
    """The longest query the engine searches (the error page's search box shows no more)."""
    try:
        return current_app.config["BAHETH"].max_query_chars
    except (RuntimeError, KeyError, AttributeError):
        return None


def retry_without(bad: str) -> tuple[str, str] | None:
    """A link to the page of the same search without the ``bad`` parameter, and the parameter's
    Arabic name; None when there are no words to search again or the words are what is bad."""
    if not bad or bad == "q" or bad not in request.args or not request.args.get("q", "").strip():
        return None
    kept = {name: request.args.getlist(name) for name in READ_PARAMETERS if name != bad and name in request.args}
    return url_for("pages.index", **kept), NAMES_AR.get(bad, bad)


def register(app: Flask) -> None:
    @app.errorhandler(BadParameter)
    def bad_parameter(exc: BadParameter) -> ResponseReturnValue:
        return _respond(400, exc.code, exc.message, exc.message_ar, exc.html_ar(settings(current_app).digits),
                        bad=exc.name)

    @app.errorhandler(UnknownGroup)
    def unknown_group(exc: UnknownGroup) -> ResponseReturnValue:
        return _respond(404, "unknown_group", exc.message, exc.message_ar)

    @app.errorhandler(IndexProblem)
    def index_problem(exc: IndexProblem) -> ResponseReturnValue:
        app.logger.warning("index unavailable: %s", exc)
        return _respond(503, "index_unavailable", exc.public, exc.public_ar)

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
        return _respond(500, "internal_error", "an unexpected error occurred; it has been logged", DETAILS_AR[500])
