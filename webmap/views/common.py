"""Helpers shared by the page blueprints: the database session and map rendering."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import folium
from flask import current_app, render_template, request
from sqlalchemy.orm import Session

from geo.layers.offline import localize
from models.db import session_factory
from webmap.errors import ApiError


@contextmanager
def db_session() -> Iterator[Session]:
    """A read session on the app's database, closed after the request's work."""
    with session_factory(current_app.config["DATABASE_URL"])() as session:
        yield session


class AssetsMissing(ApiError):
    status = 503
    code = "assets_missing"


def render_map_page(template: str, m: folium.Map, **context: object) -> str:
    """Render a Folium map inside one of qungong's page templates, with local assets only."""
    from webmap.app import assets_problem

    problem = assets_problem(current_app)
    if problem:
        raise AssetsMissing(problem)
    localize(m, base_url=f"{request.script_root}/vendor")
    root = m.get_root()
    root.render()
    return render_template(
        template,
        map_header=root.header.render(),
        map_html=root.html.render(),
        map_script=root.script.render(),
        **context,
    )
