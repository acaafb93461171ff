"""What the web app does not trust: security headers on every response, links never from the Host header.

One table of headers serves Flask's responses (``register``) and the answers
the WSGI server writes itself to requests it cannot parse (``webapp.serve``).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, current_app

from search.settings import Config, defaults

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def missing_headers(present: Iterable[str]) -> list[tuple[str, str]]:
    """The security headers a response does not set itself (names compared without case)."""
    have = {name.lower() for name in present}
    return [(name, value) for name, value in HEADERS.items() if name.lower() not in have]


def register(app: Flask) -> None:
    @app.after_request
    def add_headers(response: Response) -> Response:
        response.headers.extend(missing_headers(response.headers.keys()))
        return response


def public_url() -> str:
    """Where readers reach this server (the public_url setting, no trailing slash), or "" when unknown.

    Links that leave the page (OpenSearch, the OpenAPI servers) come from here
    and never from the request's Host header, which the client chooses.
    """
    config: Config = current_app.config.get("BAHETH") or defaults()
    return str(config.public_url).rstrip("/")
