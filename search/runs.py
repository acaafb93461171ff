"""Topics in, TREC runs out: what `baheth batch` and the evaluation harness share."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from search.engine import Engine

LINE_END = re.compile(r"\r\n|\r|\n")


def read_topics(path: Path) -> list[tuple[str, str]]:
    """Read ``qid<TAB>query`` lines; blank lines are skipped, anything else malformed is an error."""
    topics = []
    seen: dict[str, int] = {}
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # UTF-16, a legacy code page: every query would be mangled
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(f"{path} line {line}: not UTF-8 (byte {exc.start}); save the topics as UTF-8") from None
    # Lines end at \n, \r\n or a lone \r (old Mac files): str.splitlines() also splits at U+2028,
    # U+0085 or a form feed inside a query.
    for n, line in enumerate(LINE_END.split(text), start=1):
        if not line.strip():
            continue
        qid, sep, query = line.partition("\t")
        if not sep or not qid.strip():
            raise ValueError(f"{path} line {n}: expected `qid<TAB>query`, got {line[:60]!r}")
        if any(ch.isspace() or not ch.isprintable() for ch in qid.strip()):
            raise ValueError(
                f"{path} line {n}: a topic id must be printable, without white space, got {qid.strip()[:60]!r}"
            )
        if qid.strip() in seen:  # a run holds each topic once
            raise ValueError(f"{path} line {n}: topic id {qid.strip()[:60]!r} again (first on line {seen[qid.strip()]})")
        seen[qid.strip()] = n
        topics.append((qid.strip(), query.strip()))
    return topics


def check_tag(tag: str) -> str:
    """A run tag is one non-empty word (the sixth column)."""
    if not tag or any(ch.isspace() for ch in tag) or not tag.isprintable():
        raise ValueError(f"--tag must be one printable word without white space, not {tag[:40]!r}")
    return tag


def run_column(doc_id: str) -> str:
    """A document id as one column: white space and `%` percent-encoded (UTF-8), the rest as it is."""
    if not any(ch.isspace() or ch == "%" or not ch.isprintable() for ch in doc_id):
        return doc_id
    return "".join(
        "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        if ch.isspace() or ch == "%" or not ch.isprintable()
        else ch
        for ch in doc_id
    )


def run_topics(
    engine: Engine,
    topics: list[tuple[str, str]],
    limit: int = 100,
    tag: str = "baheth",
    match: str = "auto",
    warn: Callable[[str], None] | None = None,
) -> list[str]:
    """Rank each topic exactly as the web search does and format TREC run lines; ``warn`` is told
    of each topic whose search ran out of time (its ranking may be short or missing) and of each
    that has no results (the run has no line for it)."""
    lines = []
    for qid, query in topics:
        result = engine.search(query, per_page=limit, snippets=False, facets=False, suggest=False, match=match)
        if result.timed_out and warn is not None:
            warn(f"topic {qid}: the search ran out of time (search_time_limit); "
                 f"{len(result.hits)} of its results written")
        elif not result.hits and warn is not None:  # a run has no line for it: say so, never in silence
            told = [n for n in result.notices if n.code not in ("also_searched", "query_cut", "too_many_words")]
            why = ("its query is empty" if not query.strip() else
                   "its query has no searchable words" if any(n.code == "no_searchable_words" for n in told)
                   else told[0].message if told else "no article matches")
            warn(f"topic {qid}: no results, {why}; the run has no line for it")
        for rank, hit in enumerate(result.hits, start=1):
            lines.append(f"{qid} Q0 {run_column(hit.id)} {rank} {hit.score:.6f} {tag}\n")
    return lines
