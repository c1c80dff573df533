"""Security headers on every response: no framing, no MIME sniffing, no referrer leaving the
site, and an enforced Content-Security-Policy that allows only the app's own assets.

Scripts run only from the app's own files or from inline blocks carrying this response's nonce
(``csp_nonce()`` in templates).  Folium writes its map as inline ``<script>`` blocks: the page
templates pass its trusted pieces through the ``with_nonce`` filter, which stamps the nonce on
them.  Imported text never gets a nonce: it reaches pages escaped (``script_safe``), so a
``<script>`` smuggled in a name is inert twice over.  Styles keep ``'unsafe-inline'``: Folium
and Leaflet set ``style=""`` attributes in markup, and CSS cannot run script.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlparse

from flask import Flask, Response, current_app, g
from markupsafe import Markup

# An inline script tag: ``<script`` followed by attributes without ``src=``.
_INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)", re.IGNORECASE)


def content_security_policy(tile_url: str | None, nonce: str) -> str:
    """The CSP of every page; ``tile_url``'s origin is added to ``img-src``.

    >>> content_security_policy("http://tiles.local/{z}/{x}/{y}.png", "n0").split("; ")[1:4]
    ["script-src 'self' 'nonce-n0'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob: http://tiles.local"]
    """
    images = ["'self'", "data:", "blob:"]
    if tile_url:
        parts = urlparse(tile_url)
        if parts.scheme in ("http", "https") and parts.netloc:
            images.append(f"{parts.scheme}://{parts.netloc}")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
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


def csp_nonce() -> str:
    """This response's script nonce (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return str(g.csp_nonce)


def with_nonce(fragment: str) -> Markup:
    """A trusted HTML fragment (Folium's rendered header, body or script) with this response's
    nonce on each inline ``<script>``; never use it on text from users or files."""
    stamped = _INLINE_SCRIPT.sub(f'<script nonce="{csp_nonce()}"', str(fragment))
    # Folium's own output, with imported names already escaped in it
    return Markup(stamped)


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault(
        "Content-Security-Policy",
        content_security_policy(current_app.config.get("TILE_URL"), csp_nonce()),
    )
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)
    app.add_template_global(csp_nonce)
    app.add_template_filter(with_nonce)
