"""Every match of a search, not one page: /export.csv and /export.jsonl.

The same results the page counts, in the search's own order: the respelling's
results when the page shows them (not with ``respell=0``), one row per story
group by default like the page (``collapse=0``: every article). Read in passes
of ``export_page_rows`` results, each one ranking of the search (a download of
up to that many rows costs one search), every pass from the one state of the index
the first read (an add, delete or reindex meanwhile changes nothing in the file: no
row repeated or lost), and streamed, up to the ``export_max_rows``
setting; the response says the cap and the total in its headers (X-Export-Limit,
X-Total-Count), the page says it beside the link, and a file the cap cut ends with the
#incomplete line too (a file is often read far from the page that gave it). A download takes at most
``export_time_limit`` seconds, its passes included; one that ends early ends with
a row or line saying how many rows it holds and why; so does one whose backend cannot
keep a state (remote shards) when the index changed between two passes. CSV starts with a
byte-order mark so that spreadsheet software reads
the Arabic as UTF-8. A CSV cell that a spreadsheet would take for a formula
(it starts with = + - @, a tab or a carriage return) starts with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import urllib.parse
from collections.abc import Iterator
from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, request, stream_with_context
from flask.typing import ResponseReturnValue

from search.backends.base import Snapshot
from search.engine import Hit, SearchResult
from search.labels import category_label, source_label
from webapp import engine, settings
from webapp.params import BadParameter, SearchArgs, check_group, parse_search_args

bp = Blueprint("exports", __name__)


@bp.app_template_global("export_limit")
def export_limit() -> int:
    return settings(current_app).export_max_rows

# group_id, group_size: the row's story group (a download of one row per group says how many it stands for)
COLUMNS = ("id", "date", "source", "source_name", "category", "category_name", "title", "url", "snippet", "group_id",
           "group_size")
# A download that ends early (past its time limit) ends with a row
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
        "source_name": source_label(hit.source) if hit.source else "",  # as the page names them
        "category": hit.category,
        "category_name": category_label(hit.category) if hit.category else "",
        "title": hit.title,
        "url": hit.url,
        "snippet": hit.snippet_text,
        "group_id": hit.group.id if hit.group else "",
        "group_size": hit.group.size if hit.group else 1,
    }


# A spreadsheet takes a cell that starts with one of these for a formula («=HYPERLINK(…)» in a
# title would run when the file is opened). In the CSV such a cell starts with an apostrophe,
# which spreadsheets read as "text" and do not show (OWASP's advice on CSV injection); the JSON
# Lines export, read by programs, keeps every value as it is.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_row(hit: Hit) -> dict[str, Any]:
    return {k: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v for k, v in _row(hit).items()}


# Why a download ended early, in its last line.
TOO_LONG = "the download took longer than {seconds:g} s (export_time_limit)"
CAPPED = "the download holds at most {limit} rows (export_max_rows); narrow the search for the rest"
CHANGED = ("the index changed during the download (an add, delete or reindex, or a shard that stopped "
           "or came back): download again for the results of one state of the index")


class Export:
    """The rows of one download, pass after pass, and why it ended early if it did.

    Every pass reads the state of the index the first pass read: a snapshot that stays
    pinned (Whoosh) is kept for the download's life, which the row cap and export_time_limit
    bound, and dropped as soon as the passes end. A backend whose snapshots follow the live
    index (remote Xapian shards) is checked instead: when its state is no longer the first
    pass's, the download ends with the #incomplete line rather than repeat or lose rows."""

    def __init__(self, args: SearchArgs, limit: int) -> None:
        config = settings(current_app)
        self.args, self.limit = args, limit
        self.rows = min(config.export_page_rows, limit)  # never more snippets than rows sent
        self.seconds = config.export_time_limit
        self.deadline = _clock() + self.seconds
        self.sent = 0
        self.stopped = ""  # why the download holds fewer rows than it should: said in its last line
        snapshot = engine(current_app).snapshot()
        self.snapshot: Snapshot | None = snapshot if snapshot.pinned else None  # read by every pass
        # The first pass, as the page searches (its respelling included): it gives the total.
        self.first = self._pass(snapshot, args.q, 1, respell=args.respell)
        self.key = snapshot.key  # the state read (after the pass: a shard fault may have reconnected it)
        # The words every later pass searches: the respelling's, when the first pass showed its results.
        self.text = self.first.query if self.first.respelled_from is not None else args.q

    def _pass(self, snapshot: Snapshot, text: str, page: int, respell: bool) -> SearchResult:
        """One ranking of the search, for ``export_page_rows`` results, within the download's time left."""
        return engine(current_app).search(
            text, page=page, per_page=self.rows, sort=self.args.sort, filters=self.args.filters,
            respell=respell, suggest=respell, match=self.args.match, facets=False, collapse=self.args.collapse,
            seconds=max(0.0, self.deadline - _clock()), snapshot=snapshot,
        )

    def _next_pass(self, page: int) -> SearchResult | None:
        """The pass that reads ``page``, from the first pass's state; None when that state is gone."""
        if self.snapshot is not None:
            return self._pass(self.snapshot, self.text, page, respell=False)
        snapshot = engine(current_app).snapshot()
        if snapshot.key != self.key:
            return None
        result = self._pass(snapshot, self.text, page, respell=False)
        # Reconnected during the pass, or the same search now counts otherwise: not the first state.
        return result if snapshot.key == self.key and result.total == self.first.total else None

    def hits(self) -> Iterator[Hit]:
        """The search's results in order, at most ``limit`` of them. Past the download's time limit
        (a pass cut short, or none left for the next), or when the state of the index the first
        pass read cannot be read again, it ends, and ``stopped`` says so."""
        result, page = self.first, 1
        try:
            while True:
                if result.timed_out:
                    self.stopped = TOO_LONG.format(seconds=self.seconds)
                    return
                for hit in result.hits[: self.limit - self.sent]:
                    yield hit
                    self.sent += 1
                if self.sent >= self.limit and self.first.total > self.limit:  # the file itself says it is cut
                    self.stopped = CAPPED.format(limit=self.limit)
                    return
                if self.sent >= self.limit or page >= result.pages or not result.hits:
                    return
                if _clock() > self.deadline:
                    self.stopped = TOO_LONG.format(seconds=self.seconds)
                    return
                page += 1
                found = self._next_pass(page)
                if found is None:
                    self.stopped = CHANGED
                    return
                result = found
        finally:
            self.snapshot = None  # the pinned state is released with the passes, not with the response

    def note(self) -> str:
        """«incomplete: 300 of 1,200 rows; why»: of the rows the file should hold (all the search's, or the
        cap's when it cut them)."""
        wanted = self.first.total if self.stopped.startswith(CAPPED[:20]) else min(self.first.total, self.limit)
        return f"incomplete: {self.sent} of {wanted} rows; {self.stopped}"


def _prepare() -> Export:
    config = settings(current_app)
    args = parse_search_args(request.args, config.per_page, config.max_per_page, config.max_query_chars)
    if not args.asks():
        raise BadParameter("q", "an export needs q or a filter (source, category, from/to, undated, group)",
                           "التنزيل يحتاج إلى {name} أو مرشّح (مصدر، تصنيف، تاريخ، مجموعة)")
    export = Export(args, config.export_max_rows)
    check_group(export.first, args.filters.group)  # a 404, as on the page and the API: no file of an empty group
    return export


def _filename(args: SearchArgs, ext: str) -> str:
    """Content-Disposition naming the file after the search and the day: «baheth-تونس-2026-12-01.csv» as
    filename* (UTF-8, RFC 6266), and its ASCII letters and digits («baheth-search-2026-12-01.csv») as
    filename for clients that read only that."""
    words = re.findall(r"\w+", args.q)[:6] or [*args.filters.source, *args.filters.category][:3] or ["search"]
    slug = "-".join(words)[:60]
    plain = "-".join(re.findall(r"[A-Za-z0-9]+", slug)) or "search"
    today = date.today().isoformat()
    if not args.collapse:  # every article, copies too: not the same file as one row per story group
        slug, plain = f"{slug}-all", f"{plain}-all"
    utf8 = urllib.parse.quote(f"baheth-{slug}-{today}.{ext}", safe="")
    return f"attachment; filename=\"baheth-{plain}-{today}.{ext}\"; filename*=UTF-8''{utf8}"


def _headers(export: Export, name: str) -> dict[str, str]:
    return {
        "Content-Disposition": _filename(export.args, name.rsplit(".", 1)[-1]),
        "X-Total-Count": str(export.first.total),
        "X-Export-Limit": str(export.limit),
        "Cache-Control": "no-store",
    }


@bp.get("/export.csv")
def export_csv() -> ResponseReturnValue:
    export = _prepare()

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
        out.write("\ufeff")
        writer.writeheader()
        for hit in export.hits():
            writer.writerow(_csv_row(hit))
            if out.tell() > 64 * 1024:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        if export.stopped:  # never a silently short file: a last row says so
            writer.writerow({"id": INCOMPLETE, "title": export.note()})
        yield out.getvalue()

    return Response(stream_with_context(rows()), mimetype="text/csv", headers=_headers(export, "baheth.csv"))


@bp.get("/export.jsonl")
def export_jsonl() -> ResponseReturnValue:
    export = _prepare()

    def lines() -> Iterator[str]:
        for hit in export.hits():
            yield json.dumps(_row(hit), ensure_ascii=False).translate(LINE_BREAKS) + "\n"
        if export.stopped:  # never a silently short file: a last line says so
            yield json.dumps({INCOMPLETE: export.note()}, ensure_ascii=False) + "\n"

    return Response(
        stream_with_context(lines()), mimetype="application/x-ndjson", headers=_headers(export, "baheth.jsonl")
    )
