"""Every match of a search, not one page: /export.csv and /export.jsonl.

Streamed page by page (``max_per_page`` results at a time) in the search's own
order, up to the ``export_max_rows`` setting; the response says the cap and the
total in its headers (X-Export-Limit, X-Total-Count) and the page says it beside
the link. CSV starts with a byte-order mark so that spreadsheet software reads
the Arabic as UTF-8.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, request, stream_with_context
from flask.typing import ResponseReturnValue

from search.engine import Hit
from webapp import engine, settings
from webapp.params import BadParameter, SearchArgs, parse_search_args

bp = Blueprint("exports", __name__)


@bp.app_template_global("export_limit")
def export_limit() -> int:
    return settings(current_app).export_max_rows

COLUMNS = ("id", "date", "source", "category", "title", "url", "snippet")
# Valid inside a JSON string, but a line break to many line readers: escaped, one record per line.
LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def _row(hit: Hit) -> dict[str, Any]:
    return {
        "id": hit.id,
        "date": hit.date or "",
        "source": hit.source,
        "category": hit.category,
        "title": hit.title,
        "url": hit.url,
        "snippet": hit.snippet_text,
    }


def _hits(args: SearchArgs, limit: int) -> Iterator[Hit]:
    """The search's results in order, page after page, at most ``limit`` of them."""
    per_page = settings(current_app).max_per_page
    search_engine = engine(current_app)
    sent = 0
    page = 1
    while sent < limit:
        result = search_engine.search(
            args.q, page=page, per_page=per_page, sort=args.sort, filters=args.filters,
            respell=args.respell, match=args.match, facets=False, suggest=False,
        )
        for hit in result.hits[: limit - sent]:
            yield hit
            sent += 1
        if page >= result.pages or not result.hits:
            return
        page += 1


def _prepare() -> tuple[SearchArgs, int, int]:
    config = settings(current_app)
    args = parse_search_args(request.args, config.per_page, config.max_per_page)
    if not (args.q.strip() or args.filters.source or args.filters.category):
        raise BadParameter("q", "an export needs q, a source or a category", "التنزيل يحتاج إلى {name} أو مصدر أو تصنيف")
    total = engine(current_app).search(
        args.q, per_page=1, sort=args.sort, filters=args.filters, respell=args.respell, match=args.match,
        snippets=False, facets=False, suggest=False,
    ).total
    return args, total, config.export_max_rows


def _headers(total: int, limit: int, name: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Total-Count": str(total),
        "X-Export-Limit": str(limit),
        "Cache-Control": "no-store",
    }


@bp.get("/export.csv")
def export_csv() -> ResponseReturnValue:
    args, total, limit = _prepare()

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
        out.write("\ufeff")
        writer.writeheader()
        for hit in _hits(args, limit):
            writer.writerow(_row(hit))
            if out.tell() > 64 * 1024:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    return Response(stream_with_context(rows()), mimetype="text/csv", headers=_headers(total, limit, "baheth.csv"))


@bp.get("/export.jsonl")
def export_jsonl() -> ResponseReturnValue:
    args, total, limit = _prepare()

    def lines() -> Iterator[str]:
        for hit in _hits(args, limit):
            yield json.dumps(_row(hit), ensure_ascii=False).translate(LINE_BREAKS) + "\n"

    return Response(
        stream_with_context(lines()), mimetype="application/x-ndjson", headers=_headers(total, limit, "baheth.jsonl")
    )
