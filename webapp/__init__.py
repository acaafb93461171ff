"""The web front end: an Arabic right-to-left search page and a JSON API.

``create_app(config=None)`` sets defaults, reads config, then registers the
blueprints, as Flask's tutorial app does. The engine is opened lazily and
follows the live index, so a reindex is served without a restart, and a
missing or damaged index is reported (page and ``/api/health``: 503) instead
of stopping the server from starting.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from search.searching import Engine
from search.settings import SETTINGS


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        INDEX=SETTINGS.value("index"),
        PER_PAGE=SETTINGS.value("per_page"),
        MAX_PER_PAGE=SETTINGS.value("max_per_page"),
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    if config:
        app.config.update(config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    search_engine = Engine(app.config["INDEX"])
    search_engine.warm_in_background = not app.testing
    app.extensions["baheth"] = search_engine

    from webapp import api, errors, pages, security

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    errors.register(app)
    security.register(app)
    return app


def engine(app: Flask) -> Engine:
    return app.extensions["baheth"]
