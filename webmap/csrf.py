"""CSRF protection (Flask-WTF) on every POST, PUT, PATCH and DELETE made with the session cookie.

* HTML forms carry ``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">``.
* Browser JavaScript sends the page's ``<meta name="csrf-token">`` value in an
  ``X-CSRFToken`` header (``base.html`` puts the meta tag on every page).
* Requests carrying ``Authorization: Bearer …`` to /api/ or /ogc/ are not cookie-authenticated
  (``webmap.auth.load_user`` takes the user from the token and never reads the session for
  them, see ``webmap.bearer``), so a forged cross-site request cannot ride on them; they skip
  the check.  A Bearer header anywhere else changes nothing: the cookie and CSRF rules hold.
"""

from __future__ import annotations

from flask import Flask, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

csrf = CSRFProtect()


def bearer_request() -> bool:
    """True when the request authenticates with a Bearer token rather than the cookie."""
    from webmap.bearer import presented_token

    return presented_token() is not None


def _protect() -> None:
    if request.endpoint is None or bearer_request():
        return
    csrf.protect()


def init_app(app: Flask) -> None:
    # The check runs from our own hook so that Bearer requests can skip it.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # The token lives as long as the (server-side, time-limited) log-in session.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    app.before_request(_protect)

    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError) -> ResponseReturnValue:
        from webmap.errors import respond

        return respond(400, "csrf_failed", _("页面已过期或来源无效，请刷新页面后重试。"))
