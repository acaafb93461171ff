"""Every match of a search, not one page: /export.csv and /export.jsonl.

Streamed page by page (``max_per_page`` results at a time) in the search's own
order, up to the ``export_max_rows`` setting; the response says the cap and the
total in its headers (X-Export-Limit, X-Total-Count) and the page says it beside
the link. A download takes at most ``export_time_limit`` seconds; one that ends
early (that limit, or a page of results cut by ``search_time_limit``) ends with
a row or line saying how many rows it holds and why. CSV starts with a
byte-order mark so that spreadsheet software reads
the Arabic as UTF-8. A CSV cell that a spreadsheet would take for a formula
(it starts with = + - @, a tab or a carriage return) starts with an apostrophe.
Both follow the search's ``collapse``: one row per story group by default, like
the page; ``collapse=0`` gives every article.
"""

from __future__ import annotations

import csv
import io
import json
import time
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
# A download that ends early (a page out of time, the download's own time limit) ends with a row
# (CSV: this in the id column, the reason in the title's) or a line ({this: the reason}) saying so.
INCOMPLETE = "#incomplete"
_clock = time.monotonic  # what a download's time limit is measured by (a test moves it on)
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


# A spreadsheet takes a cell that starts with one of these for a formula («=HYPERLINK(…)» in a
# title would run when the file is opened). In the CSV such a cell starts with an apostrophe,
# which spreadsheets read as "text" and do not show (OWASP's advice on CSV injection); the JSON
# Lines export, read by programs, keeps every value as it is.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_row(hit: Hit) -> dict[str, Any]:
    return {k: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v for k, v in _row(hit).items()}


class Export:
    """The rows of one download, page after page, and why it ended early if it did."""

    def __init__(self, args: SearchArgs, limit: int) -> None:
        self.args, self.limit = args, limit
        self.sent = 0
        self.stopped = ""  # why the download holds fewer rows than it should: said in its last line

    def hits(self) -> Iterator[Hit]:
        """The search's results in order, at most ``limit`` of them. A page that ran out of time
        (results or snippets cut), or the download's own time limit, ends it, and ``stopped`` says so."""
        config = settings(current_app)
        search_engine = engine(current_app)
        deadline = _clock() + config.export_time_limit
        page = 1
        while self.sent < self.limit:
            if _clock() > deadline:
                self.stopped = f"the download took longer than {config.export_time_limit:g} s (export_time_limit)"
                return
            result = search_engine.search(
                self.args.q, page=page, per_page=config.max_per_page, sort=self.args.sort,
                filters=self.args.filters, respell=self.args.respell, match=self.args.match,
                facets=False, suggest=False, collapse=self.args.collapse,
            )
            if result.timed_out:
                self.stopped = (f"a page of results took longer than {config.search_time_limit:g} s "
                                "(search_time_limit)")
                return
            for hit in result.hits[: self.limit - self.sent]:
                yield hit
                self.sent += 1
            if page >= result.pages or not result.hits:
                return
            page += 1

    def note(self, total: int) -> str:
        return f"incomplete: {self.sent} of {min(total, self.limit)} rows; {self.stopped}"


def _prepare() -> tuple[SearchArgs, int, int]:
    config = settings(current_app)
    args = parse_search_args(request.args, config.per_page, config.max_per_page)
    if not args.asks():
        raise BadParameter("q", "an export needs q or a filter (source, category, from/to, undated, group)",
                           "التنزيل يحتاج إلى {name} أو مرشّح (مصدر، تصنيف، تاريخ، مجموعة)")
    total = engine(current_app).search(
        args.q, per_page=1, sort=args.sort, filters=args.filters, respell=args.respell, match=args.match,
        snippets=False, facets=False, suggest=False, collapse=args.collapse,
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
        export = Export(args, limit)
        for hit in export.hits():
            writer.writerow(_csv_row(hit))
            if out.tell() > 64 * 1024:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        if export.stopped:  # never a silently short file: a last row says so
            writer.writerow({"id": INCOMPLETE, "title": export.note(total)})
        yield out.getvalue()

    return Response(stream_with_context(rows()), mimetype="text/csv", headers=_headers(total, limit, "baheth.csv"))


@bp.get("/export.jsonl")
def export_jsonl() -> ResponseReturnValue:
    args, total, limit = _prepare()

    def lines() -> Iterator[str]:
        export = Export(args, limit)
        for hit in export.hits():
            yield json.dumps(_row(hit), ensure_ascii=False).translate(LINE_BREAKS) + "\n"
        if export.stopped:  # never a silently short file: a last line says so
            yield json.dumps({INCOMPLETE: export.note(total)}, ensure_ascii=False) + "\n"

    return Response(
        stream_with_context(lines()), mimetype="application/x-ndjson", headers=_headers(total, limit, "baheth.jsonl")
    )
