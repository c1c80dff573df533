"""Helpers shared by the page blueprints: the database session and map rendering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import folium
from branca.element import Figure
from flask import current_app, render_template
from sqlalchemy.orm import Session

from geo.layers.elements import script_safe
from geo.layers.offline import localize
from webmap.db import get_session
from webmap.errors import ApiError
from webmap.vendor import assets_problem
from webmap.vendor import base_url as vendor_base_url


@contextmanager
def db_session() -> Iterator[Session]:
    """The request's session (``webmap.db``); the app closes it when the request ends."""
    yield get_session()


def dumps(obj: Any) -> str:
    """Compact JSON for pages (no spaces, Chinese kept as is), safe inside <script>: names
    from imported files may hold "</script>", so <, >, & and U+2028/9 are escaped."""
    return script_safe(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))


def map_root(m: folium.Map) -> Figure:
    """The page (``Figure``) a map is drawn in: its header, html and script parts."""
    # branca types get_root() as Element; a folium Map's root is always its Figure.
    root = m.get_root()
    assert isinstance(root, Figure)
    return root


class AssetsMissing(ApiError):
    status = 503
    code = "assets_missing"


def render_map_page(template: str, m: folium.Map, **context: object) -> str:
    """Render a Folium map inside one of qungong's page templates, with local assets only."""
    problem = assets_problem(current_app)
    if problem:
        raise AssetsMissing(problem)
    localize(m, base_url=vendor_base_url())
    root = map_root(m)
    root.render()
    return render_template(
        template,
        map_header=root.header.render(),
        map_html=root.html.render(),
        map_script=root.script.render(),
        **context,
    )
