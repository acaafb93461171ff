"""Every setting, declared once with its name, default and help text.

The same table feeds the CLI options, the web app's config, the README and
``/api/health``. A setting's value comes from, in order: an explicit argument
(a CLI option or the app's config), the environment variable
``BAHETH_<NAME>``, then the default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        return "BAHETH_" + self.name.upper()

    def parse(self, raw: str) -> Any:
        if isinstance(self.default, bool):
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(self.default, int):
            return int(raw)
        if isinstance(self.default, float):
            return float(raw)
        return raw


class Settings:
    def __init__(self, *settings: Setting) -> None:
        self._table = {s.name: s for s in settings}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._table.values())

    def __getitem__(self, name: str) -> Setting:
        return self._table[name]

    def value(self, name: str, explicit: Any = None) -> Any:
        """The value in force: explicit, else the environment, else the default."""
        if explicit is not None:
            return explicit
        setting = self._table[name]
        raw = os.environ.get(setting.env)
        if raw is not None and raw != "":
            try:
                return setting.parse(raw)
            except ValueError as exc:
                raise ValueError(f"{setting.env}={raw!r} is not a valid {type(setting.default).__name__}") from exc
        return setting.default


SETTINGS = Settings(
    Setting("index", "index_data", "The index folder (built by `baheth reindex`)."),
    Setting("host", "127.0.0.1", "Address `baheth serve` listens on."),
    Setting("port", 8000, "Port `baheth serve` listens on."),
    Setting("threads", 8, "Worker threads of the web server."),
    Setting("procs", 2, "Processes that analyse documents and write index segments during a reindex."),
    Setting("memory_mb", 1024, "MB of postings each indexing process holds before it spills sorted runs to disk."),
    Setting("per_page", 10, "Results per page when the request does not say."),
    Setting("max_per_page", 100, "The most results one page may ask for."),
    Setting("max_query_chars", 2000, "Longer queries are cut to this many characters."),
    Setting("max_query_terms", 64, "Query clauses beyond this number are ignored."),
    Setting("max_prefix_terms", 50, "A `word*` prefix expands to at most this many words."),
    Setting("search_time_limit", 3.0, "Seconds a search may take before it returns what it has."),
    Setting("snippet_chars", 220, "Length of a result snippet, in characters."),
)
