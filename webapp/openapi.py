"""The OpenAPI 3.1 description of the JSON API: the promise the contract tests pin."""

from __future__ import annotations

from typing import Any

from search import __version__
from search.notices import MESSAGES as NOTICE_MESSAGES
from webapp.params import MAX_PAGE, MAX_VALUE_CHARS, MAX_VALUES

NULLABLE_STRING = {"type": ["string", "null"]}

GROUP = {
    "type": ["object", "null"],
    "description": "the story group of the article: its copies (the same report republished by other sources or "
    "by the same one, found at indexing); null for an index built before groups. Send `group=<id>` to list them all",
    "required": ["id", "size", "earliest_id", "earliest_date", "members"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^g[0-9a-f]{16}$"},
        "size": {"type": "integer", "minimum": 1, "description": "how many articles the group holds"},
        "earliest_id": {"type": "string", "description": "the group's first article (oldest; undated ones last)"},
        "earliest_date": NULLABLE_STRING,
        "members": {
            "type": "array",
            "description": "the first 10 members, oldest first",
            "items": {
                "type": "object",
                "required": ["id", "title", "source", "date"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "source": {"type": "string"},
                    "date": NULLABLE_STRING,
                },
            },
        },
    },
}

HIT = {
    "type": "object",
    "required": [
        "id", "title", "url", "source", "category", "author", "date", "score", "snippet", "snippet_text", "group"
    ],
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
        "group": {"$ref": "#/components/schemas/Group"},
    },
}

FACET = {
    "type": "array",
    "description": "the values of the matching articles, most used first (at most max_facet_values)",
    "items": {
        "type": "object",
        "required": ["value", "label", "count", "selected"],
        "additionalProperties": False,
        "properties": {
            "value": {"type": "string", "description": "as indexed; send it back as the filter"},
            "label": {"type": "string", "description": "for readers: a category's Arabic name (رياضة for sport), "
                      "the name a source publishes under (العربية for alarabia)"},
            "count": {"type": "integer", "minimum": 1},
            "selected": {"type": "boolean", "description": "this request filters by it"},
        },
    },
}
PAGE_URL = {"type": ["string", "null"], "description": "the same search's next/previous page, or null"}

SEARCH_RESULT = {
    "type": "object",
    "required": [
        "query", "total", "page", "pages", "per_page", "sort", "match", "took_ms", "results", "facets", "undated",
        "histogram", "suggestion", "respelled_from", "notices", "next", "prev", "collapse", "articles", "forms",
    ],
    "additionalProperties": False,
    "properties": {
        "query": {"type": "string"},
        "total": {"type": "integer", "minimum": 0, "description": "results: with collapse, story groups"},
        "articles": {"type": "integer", "minimum": 0, "description": "the articles that match (facets count them)"},
        "collapse": {"type": "boolean", "description": "one result per story group (its best-ranked member)"},
        "page": {"type": "integer", "minimum": 1},
        "pages": {"type": "integer", "minimum": 1},
        "next": PAGE_URL,
        "prev": PAGE_URL,
        "per_page": {"type": "integer", "minimum": 1},
        "sort": {
            "enum": ["relevance", "newest", "oldest"],
            "description": "the order used: without words (browsing a source, a category, dates) newest unless oldest "
            "was asked for, since relevance needs words",
        },
        "match": {"enum": ["all", "any"], "description": "as applied: all when every word was required"},
        "took_ms": {"type": "number", "minimum": 0},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
        "facets": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"source": FACET, "category": FACET},
        },
        "suggestion": {**NULLABLE_STRING, "description": "a respelling of the query (هل تقصد)"},
        "undated": {"type": "integer", "minimum": 0, "description": "how many of the results have no date"},
        "histogram": {
            "type": "array",
            "description": "the matching articles by period, oldest first, every period between the first and the "
            "last (empty ones too). The unit comes from the span of the bulk of the dated matches, the 2nd to the "
            "98th percentile: days for a span of up to 31 days, months up to 36 months, else years (decades, or "
            "centuries, beyond 200 years). Matches outside the bars (at most 2% at each end, when they would stretch "
            "the span to a coarser unit) are counted in a first or last bar of unit `span`, from the first "
            "straggler's day to the day before the bars (or from the day after them to the last straggler's). With "
            "from and to, the bars run from one to the other when that keeps the unit. The counts add up to "
            "`articles` (to `total` without collapse) minus `undated`. Send from/to of a bar to narrow to it. Empty "
            "when facets are not counted or no result has a date.",
            "items": {
                "type": "object",
                "required": ["from", "to", "count", "unit"],
                "additionalProperties": False,
                "properties": {
                    "from": {"type": "string", "format": "date"},
                    "to": {"type": "string", "format": "date"},
                    "count": {"type": "integer", "minimum": 0},
                    "unit": {"enum": ["day", "month", "year", "decade", "century", "span"]},
                },
            },
        },
        "forms": {
            "type": "array",
            "description": "how the query's words were written where they matched in the results of this page "
            "(marks, tatweel and invisible controls left out; hamza forms and clitics kept): each word that "
            "matched in more than one written form, with its forms, most frequent first (at most 6)",
            "items": {
                "type": "object",
                "required": ["word", "forms"],
                "additionalProperties": False,
                "properties": {
                    "word": {"type": "string", "description": "as typed"},
                    "forms": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["form", "count"],
                            "additionalProperties": False,
                            "properties": {"form": {"type": "string"}, "count": {"type": "integer", "minimum": 1}},
                        },
                    },
                },
            },
        },
        "respelled_from": {
            **NULLABLE_STRING,
            "description": "when set, the query had (almost) no results: these are the results of `query`, "
            "its respelling, instead of this text as typed (send respell=0 to search it as typed)",
        },
        "notices": {"type": "array", "items": {"$ref": "#/components/schemas/Notice"}},
    },
}

SEARCH_RESULT["examples"] = [
    {
        "query": "الانترنت", "total": 1172, "page": 1, "pages": 118, "per_page": 10, "sort": "relevance",
        "took_ms": 12.4, "match": "any",
        "results": [{
            "id": "SK-technology-745-20180523", "title": "…", "url": "https://www.skynewsarabia.com/…",
            "source": "skynews", "category": "technology", "author": "", "date": "2018-05-23T16:07:28+00:00",
            "score": 38.2, "snippet": "… إذا ما نظرت إلى <mark>الإنترنت</mark>، …",
            "snippet_text": "… إذا ما نظرت إلى الإنترنت، …",
            "group": {
                "id": "g3f1c0de2b4a69e71", "size": 2, "earliest_id": "SK-technology-745-20180523",
                "earliest_date": "2018-05-23T16:07:28+00:00",
                "members": [
                    {"id": "SK-technology-745-20180523", "title": "…", "source": "skynews",
                     "date": "2018-05-23T16:07:28+00:00"},
                    {"id": "AL-technology-88-20180524", "title": "…", "source": "alarabia",
                     "date": "2018-05-24T09:12:00+00:00"},
                ],
            },
        }],
        "collapse": True, "articles": 1190,
        "forms": [{"word": "الانترنت", "forms": [{"form": "الإنترنت", "count": 9}, {"form": "للإنترنت", "count": 3},
                                                 {"form": "الانترنت", "count": 2}]}],
        "facets": {
            "source": [{"value": "skynews", "label": "سكاي نيوز عربية", "count": 393, "selected": False}],
            "category": [{"value": "technology", "label": "تكنولوجيا", "count": 379, "selected": False}],
        },
        "undated": 0,
        "histogram": [
            {"from": "2018-04-01", "to": "2018-04-30", "count": 180, "unit": "month"},
            {"from": "2018-05-01", "to": "2018-05-31", "count": 213, "unit": "month"},
        ],
        "suggestion": None, "respelled_from": None, "notices": [],
        "next": "/api/search?q=%D8%A7%D9%84%D8%A7%D9%86%D8%AA%D8%B1%D9%86%D8%AA&page=2", "prev": None,
    }
]

NOTICE = {
    "type": "object",
    "required": ["code", "message", "message_ar"],
    "additionalProperties": False,
    "description": "what the reader should know about this search; the codes are listed in `code`",
    "properties": {
        "code": {"enum": sorted(NOTICE_MESSAGES)},
        "message": {"type": "string", "description": "English"},
        "message_ar": {"type": "string", "description": "Arabic"},
    },
}

DOCUMENT = {
    "type": "object",
    "required": ["id", "title", "body", "url", "source", "category", "author", "date", "related", "group"],
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
        "related": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Hit"},
            "description": "articles like this one, not its own copies (those are its group)",
        },
        "group": {"$ref": "#/components/schemas/Group"},
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
        "undated": {"type": "integer", "minimum": 0, "description": "documents served without a date"},
        "collection": {
            "type": "object",
            "description": "the collection at a glance (as on /about): sources with their counts and the first "
            "and last day they cover (the 200 largest; more_sources counts the rest), categories (the 200 largest; "
            "more_categories counts the rest), undated, and the articles without a source (unsourced) or a "
            "category (uncategorised), which no source or category counts",
            "required": ["documents", "undated", "unsourced", "uncategorised", "first", "last", "sources",
                         "more_sources", "categories", "more_categories"],
            "properties": {
                "documents": {"type": "integer", "minimum": 0},
                "undated": {"type": "integer", "minimum": 0},
                "unsourced": {"type": "integer", "minimum": 0},
                "uncategorised": {"type": "integer", "minimum": 0},
                "first": {"type": ["string", "null"], "format": "date"},
                "last": {"type": ["string", "null"], "format": "date"},
                "more_sources": {"type": "integer", "minimum": 0},
                "more_categories": {"type": "integer", "minimum": 0},
                "sources": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["value", "label", "count", "first", "last", "undated"],
                        "properties": {
                            "value": {"type": "string"},
                            "label": {"type": "string", "description": "the name the outlet publishes under"},
                            "count": {"type": "integer", "minimum": 0},
                            "first": {"type": ["string", "null"], "format": "date"},
                            "last": {"type": ["string", "null"], "format": "date"},
                            "undated": {"type": "integer", "minimum": 0},
                        },
                    },
                },
                "categories": {"type": "array", "items": {
                    "type": "object",
                    "required": ["value", "label", "count"],
                    "properties": {"value": {"type": "string"}, "label": {"type": "string"}, "count": {"type": "integer"}},
                }},
            },
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
            "required": ["code", "message", "message_ar"],
            "additionalProperties": False,
            "properties": {
                "code": {
                    "type": "string",
                    "description": "invalid_<parameter> (invalid_per_page, invalid_from …), not_found, "
                    "method_not_allowed, index_unavailable, internal_error",
                },
                "message": {"type": "string", "description": "English"},
                "message_ar": {"type": "string", "description": "Arabic"},
            },
        }
    },
}


def _param(name: str, schema: dict[str, Any], description: str, example: Any = None) -> dict[str, Any]:
    param = {"name": name, "in": "query", "required": False, "schema": schema, "description": description}
    if example is not None:
        param["example"] = example
    return param


def _list_param(name: str, description: str, example: list[str]) -> dict[str, Any]:
    """A repeating parameter (?source=a&source=b)."""
    schema = {"type": "array", "items": {"type": "string", "maxLength": MAX_VALUE_CHARS}, "maxItems": MAX_VALUES}
    return {**_param(name, schema, description, example), "style": "form", "explode": True}


def _or_empty(schema: dict[str, Any]) -> dict[str, Any]:
    """An empty value means the default (the page's form sends empty fields)."""
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


NOT_MODIFIED = {"description": "the index has not changed since the ETag sent in If-None-Match"}
ERROR_RESPONSE = _json("#/components/schemas/Error", "invalid parameters")


def openapi_document(public_url: str = "", max_per_page: int = 100) -> dict[str, Any]:
    """The document; its one server is ``public_url`` (the setting), else "/" (this host, whatever it is).
    ``max_per_page``: the server's setting, the most results a page may ask for."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Baheth search API",
            "version": __version__,
            "description": "Full-text search for Arabic news. Read-only GET requests; CORS for the origins the "
            "server allows (cors_origins, * by default). Answers carry an ETag of the index state and "
            "Cache-Control: public, no-cache: send If-None-Match to get 304 until the index changes. Errors are "
            "{error: {code, message, message_ar}}; notices in a result carry a code from the Notice schema.",
            "license": {"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
        },
        "servers": [{"url": public_url.rstrip("/") or "/"}],
        "paths": {
            "/api/search": {
                "get": {
                    "operationId": "search",
                    "summary": "Search articles with the query language",
                    "parameters": [
                        _param("q", {"type": "string"}, "the query (see the README's query language)", "الانترنت"),
                        _param("page", _or_empty({"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
                               "page number"),
                        _param("per_page", _or_empty({"type": "integer", "minimum": 1, "maximum": max_per_page}),
                               "per page (at most the server's max_per_page setting)"),
                        _param("sort", _or_empty({"enum": ["relevance", "newest", "oldest"]}),
                               "order (default relevance; newest without q, where relevance means nothing)"),
                        _param(
                            "match",
                            _or_empty({"enum": ["auto", "all", "any"]}),
                            "all: every word; any: any word, the articles with more of them first; auto "
                            "(default): any word by relevance, every word of a query of up to 4 words newest or oldest "
                            "first; when no article has all the words, those with some are shown with the notice "
                            "not_all_words",
                        ),
                        _param(
                            "undated",
                            _or_empty({"enum": ["1", "0", "true", "false", "yes", "no"]}),
                            "1: only the articles without a date (the «بدون تاريخ» bucket)",
                        ),
                        _param(
                            "respell",
                            _or_empty({"enum": ["1", "0", "true", "false", "yes", "no"]}),
                            "0: search the words as typed even when they have (almost) no results",
                        ),
                        _list_param(
                            "source", "only these sources (repeat the parameter; or comma-separate when no source's "
                            "name holds that comma)", ["BBC"]
                        ),
                        _list_param(
                            "category", "only these categories, by code or Arabic label (sport, رياضة)", ["sport"]
                        ),
                        _param(
                            "collapse",
                            _or_empty({"enum": ["1", "0", "true", "false", "yes", "no"]}),
                            "1 (default): one result per story group, its best-ranked (or newest) member, and "
                            "`total` counts groups; 0: every article",
                        ),
                        _param(
                            "group",
                            _or_empty({"type": "string", "pattern": "^g[0-9a-f]{16}$"}),
                            "only the articles of this story group (a result's group.id), all of them",
                        ),
                        _param("from", _or_empty({"type": "string", "format": "date"}),
                               "first day, YYYY-MM-DD (an article's day is its date as published, in its own zone)"),
                        _param("to", _or_empty({"type": "string", "format": "date"}),
                               "last day, YYYY-MM-DD (any date bound leaves out the undated articles)"),
                    ],
                    "responses": {
                        "200": _json("#/components/schemas/SearchResult", "one page of results"),
                        "304": NOT_MODIFIED,
                        "400": ERROR_RESPONSE,
                        "404": _json(
                            "#/components/schemas/Error",
                            "`group` names no story group of the index (code `unknown_group`; a link kept from "
                            "before a reindex, which gives groups new ids)",
                        ),
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
                        "304": NOT_MODIFIED,
                        "400": ERROR_RESPONSE,
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
                        "400": ERROR_RESPONSE,
                        "503": _json("#/components/schemas/Health", "no usable index"),
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Hit": HIT,
                "Group": GROUP,
                "SearchResult": SEARCH_RESULT,
                "Document": DOCUMENT,
                "Health": HEALTH,
                "Error": ERROR,
                "Notice": NOTICE,
            }
        },
    }
