"""Serve the map assets installed at set-up (npm) and those Folium ships, under /vendor/."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from flask.typing import ResponseReturnValue

from geo.layers.offline import ASSETS, FOLIUM_TEMPLATES

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

# Only the packages the asset table names may be read below node_modules.
NPM_PACKAGES = frozenset(path.split("/")[0] for source, path in ASSETS.values() if source == "npm")


@bp.get("/npm/<package>/<path:path>")
def npm_file(package: str, path: str) -> ResponseReturnValue:
    if package not in NPM_PACKAGES:
        abort(404)
    root = Path(current_app.config["NODE_MODULES"]) / package
    return send_from_directory(root, path, max_age=7 * 24 * 3600)


@bp.get("/folium/<name>")
def folium_file(name: str) -> ResponseReturnValue:
    if ("folium", name) not in ASSETS.values():
        abort(404)
    return send_from_directory(FOLIUM_TEMPLATES, name, max_age=7 * 24 * 3600)
