"""Every setting, declared once with its name, type, allowed range, default and help.

The same table feeds the CLI options, the environment variables, the web
app's ``create_app(config)``, ``baheth settings`` and the README. Settings are
read and validated once, at CLI start or app start, into a :class:`Config`;
the code below that receives values from the Config and never reads the
environment. A setting's value comes from, in order: an explicit value (a CLI
option or the app's config), the environment variable ``BAHETH_<NAME>``, then
the default. A bad value is a :class:`SettingError` naming the variable and
what it allows, before anything starts.
"""

from __future__ import annotations

import decimal
import hashlib
import math
import os
import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from search.analysis import ARABIC_DECIMAL_SEPARATOR, ascii_digits

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class SettingError(ValueError):
    """A setting has a value it does not allow; the message names it and the allowed range."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    low: float | None = None  # inclusive bounds for numbers
    high: float | None = None
    choices: tuple[str, ...] = ()  # the allowed words, for a text setting that is a choice
    # For a text setting with a syntax of its own: raises ValueError saying what is wrong with a value.
    test: Callable[[str], None] | None = None

    @property
    def env(self) -> str:
        return "BAHETH_" + self.name.upper()

    @property
    def kind(self) -> type:
        return type(self.default)

    def allowed(self) -> str:
        """The allowed values, in words, for error messages and the README."""
        if self.kind is bool:
            return "true or false"
        if self.choices:
            return " or ".join(self.choices)
        what = {int: "a whole number", float: "a number"}.get(self.kind, "text")
        if self.low is not None and self.high is not None:
            return f"{what} from {_num(self.low)} to {_num(self.high)}"
        if self.low is not None:
            return f"{what} of at least {_num(self.low)}"
        return what

    def check(self, value: Any, source: str | None = None) -> Any:
        """Convert ``value`` (text from the environment, or a Python value) and check its range.
        An error names the setting and shows the value as it was given (at most 40 characters)."""
        source = source or self.name
        given = value
        try:
            return self._check(value, source)
        except SettingError:  # a reason of its own ("must be one line of text")
            raise
        except (_Refused, OverflowError, ValueError, decimal.InvalidOperation):  # OverflowError: 10**400
            raise SettingError(f"{source}={_shown(given)}: must be {self.allowed()}") from None

    def _check(self, value: Any, source: str) -> Any:
        if isinstance(value, str) and self.kind is not str:
            value = self._parse(value.strip(), source)
        if self.kind is bool:
            if not isinstance(value, bool):
                raise _Refused
            return value
        if self.kind in (int, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _Refused
            if self.kind is int and (isinstance(value, float) and not value.is_integer()):
                raise _Refused
            value = self.kind(value)
            if (isinstance(value, float) and not math.isfinite(value)) or (
                (self.low is not None and value < self.low) or (self.high is not None and value > self.high)
            ):
                raise _Refused
            return value + 0 if isinstance(value, float) else value  # -0.0 is 0.0
        if not isinstance(value, str):
            value = str(value)
        if any(ch in value for ch in "\x00\r\n"):
            raise SettingError(f"{source}: must be one line of text")
        if self.choices and value not in self.choices:
            raise _Refused
        if self.test is not None:
            try:
                self.test(value)
            except ValueError as exc:
                flag = "--" + self.name.replace("_", "-")
                raise SettingError(f"{source}={_shown(value)}: {exc} ({flag} or {self.env})") from None
        return value

    def _parse(self, raw: str, source: str) -> Any:
        if self.kind is bool:
            word = raw.lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise _Refused
        written = ascii_digits(raw).replace(ARABIC_DECIMAL_SEPARATOR, ".")
        if not _NUMBER.fullmatch(written):
            raise _Refused
        number = decimal.Decimal(written)  # exact: «2.9999999999999999» is not the whole number 3
        if number and number.adjusted() > 30:  # beyond any setting's range: not worth a huge int
            raise _Refused
        if self.kind is int:
            if number != number.to_integral_value():
                raise _Refused
            return int(number)
        return float(number)


class _Refused(Exception):
    """A value outside what a setting takes (``Setting.check`` says which and why)."""


def _shown(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, int) and text.bit_length() > 200:  # Python refuses to write out an int of 4,300 digits
        return "<a whole number too long to show>"
    try:
        shown = repr(text)
    except Exception:  # noqa: BLE001 - a container of such an int, an object whose repr fails: not a traceback
        return f"<a {type(text).__name__}>"
    return shown if len(shown) <= 40 else shown[:39] + "…"


# A number as an operator writes it: ASCII or Arabic-Indic digits (read as ASCII), a sign, a point and an
# exponent. Not what else Python's float() takes: «5_0», other scripts' digits, «inf», «nan».
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _web_address(text: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - raises on «:99999» or «:abc»
    except ValueError:  # «http://[x»
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname) and "?" not in text and "#" not in text
            and not any(ch.isspace() or not ch.isprintable() for ch in text))


def _shard_list(text: str) -> None:
    """The shards setting's syntax, checked by the Xapian backend's one parser (imported here, when
    used: the backends import this module)."""
    from search.backends.xapian.shardlist import check_shards

    check_shards(text)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


class Settings:
    def __init__(self, *settings: Setting) -> None:
        self._table = {s.name: s for s in settings}

    def __iter__(self) -> Iterator[Setting]:
        return iter(self._table.values())

    def __getitem__(self, name: str) -> Setting:
        return self._table[name]

    def __contains__(self, name: object) -> bool:
        return name in self._table

    def markdown(self) -> str:
        """The table as Markdown, for the README (`baheth settings --markdown`)."""
        rows = ["| setting | environment | default | allowed | meaning |", "|---|---|---|---|---|"]
        for s in self:
            default = f"`{s.default}`" if s.default != "" else "(empty)"
            rows.append(f"| {s.name} | `{s.env}` | {default} | {s.allowed()} | {s.help.replace('|', chr(92) + '|')} |")
        return "\n".join(rows)


MB = 1024 * 1024

SETTINGS = Settings(
    Setting("index", "index_data", "The index folder (built by `baheth reindex`)."),
    Setting(
        "backend",
        "whoosh",
        "Where the index lives: whoosh (embedded, one folder) or xapian (shards, served by xapian-tcpsrv).",
        choices=("whoosh", "xapian"),
    ),
    Setting(
        "shards",
        "",
        "Xapian shard servers, in shard order: host:port,host:port; replicas of a shard with |, "
        "as host:port|host:port. Empty: the servers `baheth shards start` started for the index folder.",
        test=_shard_list,
    ),
    Setting("shard_count", 2, "Shards a Xapian reindex builds (one process each).", 1, 64),
    Setting(
        "shard_timeout",
        5.0,
        "Seconds a Xapian shard server may take to connect or answer before it counts as down.",
        0.1,
        600.0,
    ),
    Setting(
        "rerank_depth",
        100,
        "Candidates a Xapian search reranks with the engine's BM25F (the first stage ranks by Xapian's BM25; "
        "each candidate is one round trip to its shard). 100 kept MRR@10 and 99% of top 10s of 300. Under 30, "
        "the roots rerank sees fewer candidates than the embedded backend's (search/roots.py ROOT_DEPTH).",
        10,
        100_000,
    ),
    Setting("host", "127.0.0.1", "Address `baheth serve` listens on."),
    Setting("port", 8000, "Port `baheth serve` listens on (0: any free port).", 0, 65535),
    Setting(
        "cors_origins",
        "*",
        "Web origins whose pages may read the read-only JSON API (comma-separated, e.g. "
        "https://newsroom.example.org); * for any; empty for none.",
    ),
    Setting(
        "public_url",
        "",
        "The address readers reach the server at (https://search.example.org), used for absolute links in "
        "/opensearch.xml and the OpenAPI document; empty: the address `serve` is bound to, else relative links. "
        "Never taken from the request's Host header.",
    ),
    Setting(
        "workers",
        0,
        "Processes of `baheth serve`, each with its threads, sharing one listening socket (0: one per core).",
        0,
        64,
    ),
    Setting("threads", 8, "Worker threads of each web server process.", 1, 256),
    Setting(
        "connection_limit", 100, "Connections the web server holds open at once; more wait in the backlog.", 1, 10000
    ),
    Setting(
        "channel_timeout",
        30,
        "Seconds a connection may stay silent (a slow or half-open client) before the server closes it.",
        1,
        3600,
    ),
    Setting("procs", 2, "Processes that analyse documents and write index segments during a reindex.", 1, 64),
    Setting(
        "memory_mb",
        1024,
        "MB of postings each indexing process holds: a reindex then closes the segment and starts another, `add` spills sorted runs to disk.",
        16,
        1 << 20,
    ),
    Setting("per_page", 10, "Results per page when the request does not say.", 1, 1000),
    Setting(
        "digits",
        "eastern",
        "How the page writes numbers: eastern (Arabic-Indic ٠١٢٣, as Mashriq papers do) or western (0123, "
        "as Maghreb papers do).",
        choices=("eastern", "western"),
    ),
    Setting(
        "month_names",
        "mashriq",
        "How the page names months: mashriq (يناير، فبراير …, as Egyptian and Gulf papers do), maghreb "
        "(جانفي، فيفري …) or levant (كانون الثاني، شباط …). A search finds a month by any of its names.",
        choices=("mashriq", "maghreb", "levant"),
    ),
    Setting("max_per_page", 100, "The most results one page may ask for.", 1, 1000),
    Setting(
        "export_max_rows",
        10_000,
        "The most results one download (CSV or JSON Lines) holds; the page, the response headers and a last "
        "`#incomplete` line say so.",
        1,
        1_000_000,
    ),
    Setting(
        "export_page_rows",
        1000,
        "Results a download (CSV or JSON Lines) reads per pass over the index: each pass ranks the whole search "
        "again, so fewer, larger passes cost less; each holds this many articles in memory.",
        1,
        100_000,
    ),
    Setting(
        "export_time_limit",
        120.0,
        "Seconds one download (CSV or JSON Lines) may take; one that ends early says so in its last line.",
        1.0,
        3600.0,
    ),
    Setting("max_query_chars", 2000, "Longer queries are cut to this many characters.", 1, 100_000),
    Setting("max_query_terms", 64, "Query words beyond this number are ignored (a notice says so).", 1, 1024),
    Setting(
        "max_facet_values",
        50,
        "The most values of a facet (sources, categories) a search lists, the most used first.",
        20,
        100_000,
    ),
    Setting("max_prefix_terms", 50, "A `word*` prefix expands to at most this many words.", 1, 10_000),
    Setting(
        "search_time_limit",
        3.0,
        "Seconds one search may take, snippets included, before it returns what it has.",
        0.0,
        600.0,
    ),
    Setting("snippet_chars", 220, "Length of a result snippet, in characters.", 20, 10_000),
    Setting(
        "max_body_chars",
        1_000_000,
        "An article's text longer than this is cut when it is loaded (with a warning).",
        1_000,
        100_000_000,
    ),
    Setting(
        "max_record_mb",
        64,
        "MB one record (one JSON line, one <DOC> block, one plain-text or JSON file) may take; "
        "a larger record is reported and skipped. Files of any size stream record by record.",
        1,
        4096,
    ),
    Setting(
        "postings_cache_mb",
        0,
        "MB of posting lists the embedded ranker keeps in memory between searches; "
        "0: a quarter of the index's size on disk, between 16 and 256 MB.",
        0,
        1 << 20,
    ),
    Setting(
        "spelling_mb",
        64,
        "MB the «هل تقصد» vocabulary may take in memory (~15 MB for 88k words); "
        "beyond it the least used words are left out.",
        1,
        1 << 20,
    ),
    Setting(
        "highlight_cache_mb",
        32,
        "MB of analysed article texts kept for highlighting between searches.",
        1,
        1 << 20,
    ),
)


class Config(Mapping[str, Any]):
    """The values in force, read and validated once; read them as attributes (``config.per_page``)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"Config({self._values!r})"

    def fingerprint(self) -> str:
        """A short digest of every value: equal for equal settings (for HTTP entity tags)."""
        text = repr(sorted((name, repr(value)) for name, value in self._values.items()))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def replace(self, **changes: Any) -> Config:
        """A new Config with some values changed (None leaves a value as it is); validated."""
        return resolve({**self._values, **{k: v for k, v in changes.items() if v is not None}}, environ={})


def resolve(explicit: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read every setting once: explicit values, else the environment, else the default.

    Raises SettingError naming every bad value (its variable and what it allows).
    """
    explicit = explicit or {}
    environ = os.environ if environ is None else environ
    unknown = sorted(set(explicit) - {s.name for s in SETTINGS})
    if unknown:
        raise SettingError(f"unknown setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    errors: list[str] = []
    for setting in SETTINGS:
        try:
            if explicit.get(setting.name) is not None:
                values[setting.name] = setting.check(explicit[setting.name], setting.name)
            elif environ.get(setting.env, "") != "":
                values[setting.name] = setting.check(environ[setting.env], setting.env)
            else:
                values[setting.name] = setting.default
        except SettingError as exc:
            errors.append(str(exc))
    public = values.get("public_url", "")
    if public and not _web_address(public):  # it goes into every permalink, feed and OpenSearch link
        errors.append(f"public_url={_shown(public)}: must be an http:// or https:// address such as "
                      f"https://search.example.org, without spaces, query or fragment [{SETTINGS['public_url'].env}]")
    if not errors and values["per_page"] > values["max_per_page"]:
        errors.append(
            f"per_page ({values['per_page']}) must not be larger than max_per_page ({values['max_per_page']}) "
            f"[{SETTINGS['per_page'].env}, {SETTINGS['max_per_page'].env}]"
        )
    if errors:
        raise SettingError("; ".join(errors))
    return Config(values)


def defaults() -> Config:
    """The defaults alone (for library use and tests that must not see the environment)."""
    return resolve(environ={})
