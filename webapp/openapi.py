"""The OpenAPI 3.1 description of the JSON API: the promise the contract tests pin."""

from __future__ import annotations

from typing import Any

from search import __version__

NULLABLE_STRING = {"type": ["string", "null"]}

HIT = {
    "type": "object",
    "required": ["id", "title", "url", "source", "category", "author", "date", "score", "snippet", "snippet_text"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "url": {"type": "string"},
        "source": {"type": "string"},
        "category": {"type": "string"},
        "author": {"type": "string"},
        "date": {**NULLABLE_STRING, "description": "ISO 8601 with its UTC offset, or null"},
        "score": {"type": "number"},
        "snippet": {"type": "string", "description": "HTML: escaped text, matches in <mark>"},
        "snippet_text": {"type": "string"},
    },
}

COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}}

SEARCH_RESULT = {
    "type": "object",
    "required": ["query", "total", "page", "per_page", "took_ms", "results", "facets", "suggestion"],
    "additionalProperties": False,
    "properties": {
        "query": {"type": "string"},
        "total": {"type": "integer", "minimum": 0},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1},
        "sort": {"enum": ["relevance", "newest"]},
        "took_ms": {"type": "number", "minimum": 0},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
        "facets": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"source": COUNTS, "category": COUNTS},
        },
        "suggestion": {**NULLABLE_STRING, "description": "a respelling of the query (هل تقصد)"},
        "notices": {"type": "array", "items": {"type": "string"}},
    },
}

DOCUMENT = {
    "type": "object",
    "required": ["id", "title", "body", "url", "source", "category", "author", "date", "related"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "body": {"type": "string"},
        "url": {"type": "string"},
        "source": {"type": "string"},
        "category": {"type": "string"},
        "author": {"type": "string"},
        "date": NULLABLE_STRING,
        "title_html": {"type": "string"},
        "body_html": {"type": "string"},
        "related": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
    },
}

HEALTH = {
    "type": "object",
    "required": ["status", "documents", "built_at", "version"],
    "properties": {
        "status": {"enum": ["ok", "degraded", "unavailable"], "description": "degraded: some shards do not answer"},
        "documents": {"type": "integer", "minimum": 0},
        "built_at": NULLABLE_STRING,
        "updated_at": NULLABLE_STRING,
        "generation": NULLABLE_STRING,
        "version": {"type": "string"},
        "error": {"type": "string"},
        "caches": {
            "type": "object",
            "description": "each cache's entries, bytes and bound in bytes",
            "additionalProperties": {
                "type": "object",
                "required": ["entries", "bytes", "max_bytes"],
                "properties": {
                    "entries": {"type": "integer", "minimum": 0},
                    "bytes": {"type": "integer", "minimum": 0},
                    "max_bytes": {"type": "integer", "minimum": 0},
                },
            },
        },
        "shards": {
            "type": "object",
            "description": "the Xapian backend: shards in the index and shards that answered",
            "required": ["total", "answered"],
            "properties": {"total": {"type": "integer"}, "answered": {"type": "integer"}},
        },
        "mapped_bytes": {
            "type": "integer",
            "minimum": 0,
            "description": "the embedded backend: bytes of index files this process has mapped (shared pages)",
        },
        "worker": {
            "type": "object",
            "description": "the server process that answered, and its resident memory",
            "properties": {
                "pid": {"type": "integer"},
                "rss_mb": {"type": ["number", "null"], "description": "resident memory, mapped index pages included"},
                "private_mb": {"type": ["number", "null"], "description": "memory of this process alone"},
            },
        },
    },
}

ERROR = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def _param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _or_empty(schema: dict[str, Any]) -> dict[str, Any]:
    """An empty value means the default (the page's form sends empty fields)."""
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


ERROR_RESPONSE = _json("#/components/schemas/Error", "invalid parameters")


def openapi_document(public_url: str = "") -> dict[str, Any]:
    """The document; its one server is ``public_url`` (the setting), else "/" (this host, whatever it is)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Baheth search API",
            "version": __version__,
            "description": "Full-text search for Arabic news.",
        },
        "servers": [{"url": public_url.rstrip("/") or "/"}],
        "paths": {
            "/api/search": {
                "get": {
                    "operationId": "search",
                    "summary": "Search articles with the query language",
                    "parameters": [
                        _param("q", {"type": "string"}, "the query (see the README's query language)"),
                        _param("page", _or_empty({"type": "integer", "minimum": 1, "maximum": 1000}), "page number"),
                        _param("per_page", _or_empty({"type": "integer", "minimum": 1, "maximum": 100}), "per page"),
                        _param("sort", _or_empty({"enum": ["relevance", "newest"]}), "order"),
                        _param("source", {"type": "string"}, "only this source (repeat or comma-separate)"),
                        _param("category", {"type": "string"}, "only this category"),
                        _param("from", _or_empty({"type": "string", "format": "date"}), "first day, YYYY-MM-DD"),
                        _param("to", _or_empty({"type": "string", "format": "date"}), "last day, YYYY-MM-DD"),
                    ],
                    "responses": {
                        "200": _json("#/components/schemas/SearchResult", "one page of results"),
                        "400": ERROR_RESPONSE,
                        "503": _json("#/components/schemas/Error", "no usable index"),
                    },
                }
            },
            "/api/doc/{id}": {
                "get": {
                    "operationId": "document",
                    "summary": "One article, with the query's words highlighted and related articles",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                        _param("q", {"type": "string"}, "words to highlight"),
                    ],
                    "responses": {
                        "200": _json("#/components/schemas/Document", "the article"),
                        "404": _json("#/components/schemas/Error", "no such id"),
                        "503": _json("#/components/schemas/Error", "no usable index"),
                    },
                }
            },
            "/api/health": {
                "get": {
                    "operationId": "health",
                    "summary": "What is being served",
                    "responses": {
                        "200": _json("#/components/schemas/Health", "serving"),
                        "503": _json("#/components/schemas/Health", "no usable index"),
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Hit": HIT,
                "SearchResult": SEARCH_RESULT,
                "Document": DOCUMENT,
                "Health": HEALTH,
                "Error": ERROR,
            }
        },
    }
