"""Request parameters -> validated search arguments, shared by the page and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from search.engine import SORTS, Filters


class BadParameter(ValueError):
    """A parameter a client sent is invalid; ``code`` goes into the JSON error."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.code = f"invalid_{name}"
        self.message = message


@dataclass
class SearchArgs:
    q: str
    page: int
    per_page: int
    sort: str
    filters: Filters

    def as_params(self, **changes: Any) -> dict[str, Any]:
        """Query-string parameters reproducing this search, with changes (for links)."""
        params: dict[str, Any] = {"q": self.q}
        if self.sort != "relevance":
            params["sort"] = self.sort
        if self.filters.source:
            params["source"] = self.filters.source
        if self.filters.category:
            params["category"] = self.filters.category
        if self.filters.date_from:
            params["from"] = self.filters.date_from.isoformat()
        if self.filters.date_to:
            params["to"] = self.filters.date_to.isoformat()
        if self.page != 1:
            params["page"] = self.page
        params.update(changes)
        return {k: v for k, v in params.items() if v not in (None, "", [])}


MAX_PAGE = 1000


def _int(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name, "").strip()
    if raw == "":
        return default
    try:
        number = float(raw)
        if not number.is_integer():
            raise ValueError(raw)
        value = int(number)  # "3" and "3.0" are the same page
    except (ValueError, OverflowError):
        raise BadParameter(name, f"{name} must be a whole number, not {raw[:20]!r}") from None
    if not low <= value <= high:
        raise BadParameter(name, f"{name} must be between {low} and {high}, not {value}")
    return value


def _date(args: MultiDict, name: str) -> date | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(name, f"{name} must be a date as YYYY-MM-DD, not {raw[:20]!r}") from None


def _values(args: MultiDict, name: str) -> list[str]:
    """Each value as sent; the engine reads "a,b" as a list only when no value is called "a,b"."""
    values = [v.strip() for v in args.getlist(name) if v.strip()]
    if any(len(v) > 200 for v in values):
        raise BadParameter(name, f"{name} values must be shorter than 200 characters")
    return values[:20]


def parse_search_args(args: MultiDict, per_page_default: int, max_per_page: int) -> SearchArgs:
    """Validate the query string; raises BadParameter naming the parameter at fault."""
    q = args.get("q", "")
    sort = args.get("sort", "relevance").strip() or "relevance"
    if sort not in SORTS:
        raise BadParameter("sort", f"sort must be one of {', '.join(SORTS)}, not {sort[:20]!r}")
    filters = Filters(
        source=_values(args, "source"),
        category=_values(args, "category"),
        date_from=_date(args, "from"),
        date_to=_date(args, "to"),
    )
    return SearchArgs(
        q=q,
        page=_int(args, "page", 1, 1, MAX_PAGE),
        per_page=_int(args, "per_page", per_page_default, 1, max_per_page),
        sort=sort,
        filters=filters,
    )
