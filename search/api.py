"""The JSON shapes of the API, in one place (the CLI's --json prints the same)."""

from __future__ import annotations

from typing import Any

from search.engine import DocView, Filters, SearchResult, facet_choice
from search.labels import label_of


def facet_json(result: SearchResult, filters: Filters | None = None) -> dict[str, list[dict[str, Any]]]:
    """Each facet as an ordered list, most used first: value, Arabic label, count, whether it is selected."""
    filters = filters or Filters()
    out: dict[str, list[dict[str, Any]]] = {}
    for name, counts in result.facets.items():
        chosen = getattr(filters, name, []) or []
        rows = []
        for value, count in counts.items():
            selected = any(names_value(name, value, text) for text in chosen)
            label = label_of(name, value)
            rows.append({"value": value, "label": label, "count": count, "selected": selected})
        out[name] = rows
    return out


def names_value(field: str, value: str, text: str) -> bool:
    """Whether a filter's text selects this value, read as the engine reads it (spelling, labels, a
    list with «,» or «،»: source=BBC،CNN marks both chosen, as it filters both)."""
    class One:
        def values(self, _field: str) -> list[str]:
            return [value]

    return value in facet_choice(One(), field, text)[0]  # type: ignore[arg-type]


def result_json(result: SearchResult, filters: Filters | None = None) -> dict[str, Any]:
    return {
        "query": result.query,
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "sort": result.sort,
        "match": result.match,
        "took_ms": result.took_ms,
        "collapse": result.collapse,
        "articles": result.total if result.articles is None else result.articles,
        "results": [hit.to_json() for hit in result.hits],
        "pages": result.pages,
        "facets": facet_json(result, filters),
        "undated": result.undated,
        "histogram": [bar.to_json() for bar in result.timeline],
        "forms": [forms.to_json() for forms in result.forms],
        "suggestion": result.suggestion,
        "respelled_from": result.respelled_from,
        "notices": [notice.to_json() for notice in result.notices],
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
        "group": doc.group.to_json() if doc.group else None,
    }


def error_json(code: str, message: str, message_ar: str | None = None) -> dict[str, Any]:
    """An error: a machine code, an English and an Arabic message."""
    return {"error": {"code": code, "message": message, "message_ar": message_ar or message}}
