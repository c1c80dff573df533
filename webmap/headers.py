"""Security headers on every response: no framing, no MIME sniffing, no referrer leaving the
site, and a Content-Security-Policy that allows only the app's own assets.

Folium writes its map as inline ``<script>`` and ``<style>`` blocks, so the full policy keeps
``'unsafe-inline'`` for them and allows everything else only from the app itself (map tiles
also from the configured intranet tile server).  Enforced today: no framing, no plugins, no
<base> or form targets elsewhere; the full policy is sent Report-Only.
"""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Flask, Response, current_app


def content_security_policy(tile_url: str | None) -> str:
    """The CSP of every page; ``tile_url``'s origin is added to ``img-src``.

    >>> content_security_policy("http://tiles.local/{z}/{x}/{y}.png").split("; ")[3]
    "img-src 'self' data: blob: http://tiles.local"
    """
    images = ["'self'", "data:", "blob:"]
    if tile_url:
        parts = urlparse(tile_url)
        if parts.scheme in ("http", "https") and parts.netloc:
            images.append(f"{parts.scheme}://{parts.netloc}")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {' '.join(images)}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


# Sent on every response: directives no page of the app relies on breaking.  The full
# policy above is only reported (Report-Only) until every page's browser test has run under
# it enforced.
ENFORCED_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", ENFORCED_CSP)
    headers.setdefault(
        "Content-Security-Policy-Report-Only",
        content_security_policy(current_app.config.get("TILE_URL")),
    )
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)
