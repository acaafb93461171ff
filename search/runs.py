"""Topics in, TREC runs out: what `baheth batch` and the evaluation harness share."""

from __future__ import annotations

from pathlib import Path

from search.searching import Engine


def read_topics(path: Path) -> list[tuple[str, str]]:
    """Read ``qid<TAB>query`` lines; blank lines are skipped, anything else malformed is an error."""
    topics = []
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        qid, sep, query = line.partition("\t")
        if not sep or not qid.strip():
            raise ValueError(f"{path} line {n}: expected `qid<TAB>query`, got {line[:60]!r}")
        topics.append((qid.strip(), query.strip()))
    return topics


def run_topics(engine: Engine, topics: list[tuple[str, str]], limit: int = 100, tag: str = "baheth") -> list[str]:
    """Rank each topic exactly as the web search does and format TREC run lines."""
    lines = []
    for qid, query in topics:
        result = engine.search(query, per_page=limit, snippets=False, facets=False, suggest=False)
        for rank, hit in enumerate(result.hits, start=1):
            lines.append(f"{qid} Q0 {hit.id} {rank} {hit.score:.6f} {tag}\n")
    return lines
