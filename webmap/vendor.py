"""Serve the map assets under /vendor/ and the app's static files, with versioned URLs.

``geo.layers.offline`` names each asset a map needs and its path under a base URL; this module
owns the files behind those URLs: where they are on disk, whether set-up installed them
(:func:`assets_problem`) and serving them.  Pages link assets under
``/vendor/<version>/...`` (:func:`base_url`), the version being a hash of
``package-lock.json`` and Folium's version, and the app's own static files with
``?v=<hash of the file>``: both are served with a one-year, immutable cache lifetime, so a
browser asks for them once per release instead of once per page.  The unversioned
``/vendor/npm/...`` URLs keep working with a short lifetime.
"""

from __future__ import annotations

import hashlib
import re
from importlib import metadata
from pathlib import Path

import folium
from flask import Blueprint, Flask, abort, current_app, request, send_from_directory
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from geo.layers.offline import ASSETS
from webmap.access import public

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

FOLIUM_TEMPLATES = Path(folium.__file__).parent / "templates"
# Only the packages the asset table names may be read below node_modules.
NPM_PACKAGES = frozenset(path.split("/")[0] for source, path in ASSETS.values() if source == "npm")
MAX_AGE = 7 * 24 * 3600
# Versioned URLs change when their content does, so a browser may keep them for a year.
IMMUTABLE_AGE = 365 * 24 * 3600
PROJECT_ROOT = Path(__file__).resolve().parent.parent


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


def init_app(app: Flask) -> None:
    """Register /vendor/ and give the app's static URLs a content hash and a long lifetime."""
    app.register_blueprint(bp)
    hashes: dict[str, str] = {}

    def static_version(endpoint: str, values: dict[str, object]) -> None:
        filename = values.get("filename")
        if endpoint != "static" or not isinstance(filename, str) or "v" in values:
            return
        if filename not in hashes:
            path = Path(app.static_folder or "") / filename
            hashes[filename] = _digest(path.read_bytes()) if path.is_file() else ""
        if hashes[filename]:
            values["v"] = hashes[filename]

    app.url_defaults(static_version)

    @app.after_request
    def long_lifetime(response: Response) -> Response:
        if request.endpoint == "static" and request.args.get("v"):
            response.cache_control.max_age = IMMUTABLE_AGE
            response.cache_control.public = True
            response.cache_control.immutable = True
        return response


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def asset_version(app: Flask) -> str:
    """A short hash of the installed asset set: package-lock.json and Folium's version."""
    version: str | None = app.extensions.get("qungong_asset_version")
    if version is None:
        lock = PROJECT_ROOT / "package-lock.json"
        data = (lock.read_bytes() if lock.is_file() else b"") + metadata.version("folium").encode()
        version = _digest(data)
        app.extensions["qungong_asset_version"] = version
    return version


def base_url() -> str:
    """The versioned URL prefix of the map assets, for ``geo.layers.offline.localize``."""
    return f"{request.script_root}/vendor/{asset_version(current_app)}"


# A stylesheet's url(//host/...) or url(http...): leaflet-timedimension's control CSS loads
# Bootstrap's glyph font from a CDN.  Pages work offline and the CSP allows fonts only from
# the app, so such URLs are served as an empty data: URL (the buttons keep their titles).
_REMOTE_URL = re.compile(rb"""url\(\s*(['"]?)(?:https?:)?//[^)'"]*\1\s*\)""")


def _offline_css(response: Response) -> Response:
    """Remove remote URLs from a stylesheet the app serves (see ``_REMOTE_URL``)."""
    if response.mimetype != "text/css" or response.status_code != 200:
        return response
    response.direct_passthrough = False
    data = response.get_data()
    if _REMOTE_URL.search(data):
        response.set_data(_REMOTE_URL.sub(b"url(data:,)", data))
    return response


def _immutable(response: Response) -> Response:
    response.cache_control.immutable = True
    return response


@bp.get("/<version>/npm/<package>/<path:path>")
@public
def versioned_npm_file(version: str, package: str, path: str) -> ResponseReturnValue:
    if version != asset_version(current_app):
        return npm_file(package, path)
    if package not in NPM_PACKAGES:
        abort(404)
    root = Path(current_app.config["NODE_MODULES"]) / package
    return _immutable(_offline_css(send_from_directory(root, path, max_age=IMMUTABLE_AGE)))


@bp.get("/<version>/folium/<name>")
@public
def versioned_folium_file(version: str, name: str) -> ResponseReturnValue:
    if version != asset_version(current_app):
        return folium_file(name)
    if ("folium", name) not in ASSETS.values():
        abort(404)
    return _immutable(send_from_directory(FOLIUM_TEMPLATES, name, max_age=IMMUTABLE_AGE))


@bp.get("/npm/<package>/<path:path>")
@public
def npm_file(package: str, path: str) -> ResponseReturnValue:
    if package not in NPM_PACKAGES:
        abort(404)
    root = Path(current_app.config["NODE_MODULES"]) / package
    return _offline_css(send_from_directory(root, path, max_age=MAX_AGE))


@bp.get("/folium/<name>")
@public
def folium_file(name: str) -> ResponseReturnValue:
    if ("folium", name) not in ASSETS.values():
        abort(404)
    return send_from_directory(FOLIUM_TEMPLATES, name, max_age=MAX_AGE)
