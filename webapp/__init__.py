"""The web front end: an Arabic right-to-left search page and a JSON API.

``create_app(config=None)`` sets defaults, reads config, then registers the
blueprints, as Flask's tutorial app does. Baheth's settings are read and
validated once here (a bad value stops the app from being created, naming the
variable); ``config`` may hold setting names (``per_page``) and Flask keys
(``TESTING``; ``INDEX`` is the index setting). The engine is opened lazily and
follows the live index, so a reindex is served without a restart, and a
missing or damaged index is reported (page and ``/api/health``: 503) instead
of stopping the server from starting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, request

from search.engine import Engine
from search.settings import SETTINGS, Config, resolve


def create_app(config: Mapping[str, Any] | Config | None = None) -> Flask:
    config = dict(config or {})
    settings = {name: config.pop(name) for name in list(config) if name in SETTINGS}
    if "INDEX" in config:
        settings["index"] = str(config.pop("INDEX"))
    baheth = resolve(settings)
    app = Flask(__name__)
    app.config.from_mapping(JSON_AS_ASCII=False, MAX_CONTENT_LENGTH=64 * 1024)
    app.config.update(config)
    app.config["BAHETH"] = baheth
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.url_map.merge_slashes = False  # an id such as "a//b" is a path, not a typo to redirect
    search_engine = Engine(config=baheth)
    search_engine.warm_in_background = not app.testing
    app.extensions["baheth"] = search_engine

    from webapp import api, errors, exports, feeds, pages, params, security

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(exports.bp)
    errors.register(app)
    security.register(app)

    @app.before_request
    def _utf8_query() -> None:
        params.check_query_encoding(request.query_string)

    return app


def engine(app: Flask) -> Engine:
    return app.extensions["baheth"]


def settings(app: Flask) -> Config:
    return app.config["BAHETH"]
