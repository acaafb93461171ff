"""The JSON shapes of the API, in one place (the CLI's --json prints the same)."""

from __future__ import annotations

from typing import Any

from search.engine import DocView, SearchResult


def result_json(result: SearchResult) -> dict[str, Any]:
    return {
        "query": result.query,
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "sort": result.sort,
        "took_ms": result.took_ms,
        "results": [hit.to_json() for hit in result.hits],
        "facets": result.facets,
        "suggestion": result.suggestion,
        "notices": result.notices,
    }


def doc_json(doc: DocView) -> dict[str, Any]:
    return {
        "id": doc.id,
        "title": doc.title,
        "body": doc.body,
        "url": doc.url,
        "source": doc.source,
        "category": doc.category,
        "author": doc.author,
        "date": doc.date,
        "title_html": doc.title_html,
        "body_html": doc.body_html,
        "related": [hit.to_json() for hit in doc.related],
    }


def error_json(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
