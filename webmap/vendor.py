"""Serve the map assets under /vendor/: npm files installed at set-up and those Folium ships.

``geo.layers.offline`` names each asset a map needs and the URL it has under /vendor/; this
module owns the files behind those URLs: where they are on disk, whether set-up installed
them (:func:`assets_problem`) and serving them.
"""

from __future__ import annotations

from pathlib import Path

import folium
from flask import Blueprint, Flask, abort, current_app, send_from_directory
from flask.typing import ResponseReturnValue

from geo.layers.offline import ASSETS

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

FOLIUM_TEMPLATES = Path(folium.__file__).parent / "templates"
# Only the packages the asset table names may be read below node_modules.
NPM_PACKAGES = frozenset(path.split("/")[0] for source, path in ASSETS.values() if source == "npm")
MAX_AGE = 7 * 24 * 3600


def asset_files(*, node_modules: Path) -> dict[str, Path]:
    """Every asset name with the file on disk that serves it."""
    roots = {"npm": node_modules, "folium": FOLIUM_TEMPLATES}
    return {name: roots[source] / path for name, (source, path) in ASSETS.items()}


def missing_assets(*, node_modules: Path) -> list[Path]:
    """Asset files that are not on disk (set-up did not run, or failed)."""
    return sorted({p for p in asset_files(node_modules=node_modules).values() if not p.is_file()})


def assets_problem(app: Flask) -> str | None:
    """A one-line explanation when the map assets are not installed, else None."""
    missing = missing_assets(node_modules=Path(app.config["NODE_MODULES"]))
    if not missing:
        return None
    return f"{len(missing)} map asset file(s) missing, e.g. {missing[0]}: run `make setup` (npm ci)"


@bp.get("/npm/<package>/<path:path>")
def npm_file(package: str, path: str) -> ResponseReturnValue:
    if package not in NPM_PACKAGES:
        abort(404)
    root = Path(current_app.config["NODE_MODULES"]) / package
    return send_from_directory(root, path, max_age=MAX_AGE)


@bp.get("/folium/<name>")
def folium_file(name: str) -> ResponseReturnValue:
    if ("folium", name) not in ASSETS.values():
        abort(404)
    return send_from_directory(FOLIUM_TEMPLATES, name, max_age=MAX_AGE)
