"""The Flask application factory: nothing is built or configured at import time."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask_compress import Compress

from models.db import app_database_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _secret_key(instance: Path) -> str:
    # A key per installation, kept in the instance folder so sessions survive restarts.
    # Written beside it (readable by the owner only from the start) and linked into place, so
    # processes starting together (gunicorn workers, test workers) all end up with one key and
    # none reads a half-written file.
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        draft = instance / f".secret_key.{os.getpid()}"
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process was first: its key is the installation's key
        finally:
            draft.unlink()
    return path.read_text().strip()


def _defaults() -> dict[str, Any]:
    """Configuration read from the environment, before ``test_config`` overrides it."""
    return {
        "DATABASE_URL": None,
        "NODE_MODULES": os.environ.get("QUNGONG_NODE_MODULES", str(PROJECT_ROOT / "node_modules")),
        "TILE_URL": os.environ.get("QUNGONG_TILE_URL") or None,
        "TILE_ATTRIBUTION": os.environ.get("QUNGONG_TILE_ATTRIBUTION") or None,
        "MAX_CONTENT_LENGTH": 200 * 1024 * 1024,
        "JSON_AS_ASCII": False,
        # A checked upload waits this long for its "commit", then it is deleted.
        "UPLOAD_TTL_MINUTES": int(os.environ.get("QUNGONG_UPLOAD_TTL_MINUTES", "60")),
        # Log-in sessions live server-side (webmap.auth, models.sessions): idle and absolute
        # limits; the cookie is HttpOnly, SameSite=Lax and, behind HTTPS, Secure.
        "SESSION_IDLE_MINUTES": int(os.environ.get("QUNGONG_SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": int(os.environ.get("QUNGONG_SESSION_MAX_HOURS", "12")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("QUNGONG_HTTPS") == "1",
        # `make demo` sets QUNGONG_DEMO=1: only then may the demo's passwords be used as is.
        "DEMO": os.environ.get("QUNGONG_DEMO") == "1",
        # Connections each process keeps open: one per request thread (``qungong run`` sets
        # it to its threads), plus DB_MAX_OVERFLOW in bursts.
        "DB_POOL_SIZE": int(os.environ.get("QUNGONG_DB_POOL_SIZE", "5")),
        "DB_MAX_OVERFLOW": int(os.environ.get("QUNGONG_DB_MAX_OVERFLOW", "10")),
        # Pages, GeoJSON and CSV compressed (Flask-Compress picks zstd, brotli or gzip by what
        # the browser accepts); small responses are not worth it.
        "COMPRESS_MIMETYPES": [
            "text/html",
            "text/css",
            "text/csv",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/geo+json",
        ],
        "COMPRESS_MIN_SIZE": 1024,
        # Files sent from disk (vendor and static assets) stream; Flask-Compress's streaming
        # path leaves their file handles open.  They are cached for a year, so compressing
        # them matters little: only generated responses are compressed.
        "COMPRESS_STREAMS": False,
    }


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the qungong web app.

    Configuration comes from the environment (``DATABASE_URL``, ``QUNGONG_TILE_URL``,
    ``QUNGONG_NODE_MODULES``) unless ``test_config`` gives it.
    """
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "var" / "instance"))
    _configure(app, test_config)

    from webmap import access, auth, csrf, db, errors, headers, i18n, vendor

    db.init_app(app)
    Compress(app)
    i18n.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    vendor.init_app(app)
    # Order of the before-request hooks: who asks (auth), may they (access), CSRF.
    app.register_blueprint(auth.bp)
    access.init_app(app)
    csrf.init_app(app)
    _register_views(app)

    @app.context_processor
    def inject_nav() -> dict[str, Any]:
        # Only the pages the user may open; the language switch keeps the page's query.
        return {
            "nav": [(e, label) for e, label in NAV if auth.may_open(e)],
            "lang_url": _lang_url,
        }

    return app


def _configure(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """Defaults, then ``test_config``, then the database URL and secret key if still unset."""
    app.config.from_mapping(_defaults())
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config["DATABASE_URL"]:
        # The app's own role (models.db.app_database_url), not the superuser.
        app.config["DATABASE_URL"] = app_database_url()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))
    app.json.ensure_ascii = False  # type: ignore[attr-defined]


def _register_views(app: Flask) -> None:
    """Every page, API and OGC blueprint (registered after the auth, access and CSRF hooks)."""
    from webmap.views import (
        admin,
        api,
        api_geocode,
        api_leaders,
        api_planners,
        api_routes,
        exports,
        leaders,
        network,
        ogc,
        planners,
        review,
        staff,
        teams,
    )

    app.register_blueprint(network.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api_routes.bp)
    app.register_blueprint(admin.bp)
    for module in (
        leaders,
        api_leaders,
        planners,
        api_planners,
        teams,
        staff,
        review,
        ogc,
        exports,
        api_geocode,
    ):
        app.register_blueprint(module.bp)


# (endpoint, label) for the top bar; labels are translated in the template.
def _lang_url(lang: str) -> str:
    """This page's URL with every query argument (filters, layer, area) and ``lang``."""
    from flask import request

    args = request.args.to_dict(flat=False)
    args["lang"] = [lang]
    return request.path + "?" + urlencode(args, doseq=True)


NAV = (
    ("network.index", "网络总览"),
    ("leaders.index", "领导热点图"),
    ("planners.index", "规划覆盖"),
    ("teams.index", "工作队路线"),
    ("staff.index", "数据导入"),
    ("admin.audit", "审计日志"),
)
