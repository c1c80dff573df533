"""Log-in, roles and areas: every page and API call knows who asks and what area they may see."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import (
    Blueprint,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from models import users
from webmap import bearer
from webmap.access import public, rule_of
from webmap.db import get_session

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.before_app_request
def load_user() -> None:
    """``g.user`` from the session cookie; requests with a Bearer token never use the cookie."""
    g.user = None
    # A bearer token (scripts, GIS clients; /ogc/ and /api/ only) stands for its user.
    token = bearer.presented_token()
    if token is not None:
        g.user = bearer.user_from_token(token)
        return
    user_id = session.get("user_id")
    if user_id is None:
        return
    g.user = users.get_user(get_session(), user_id)


def may_open(endpoint: str) -> bool:
    """Whether the logged-in user's role may open the page of ``endpoint`` (the navigation)."""
    from flask import current_app

    declared = rule_of(current_app, endpoint)
    return g.user is not None and declared is not None and declared.allows(g.user.role)


def _safe_next(target: str | None) -> str:
    # Only local paths: never redirect a user off the host after log-in.
    if target and not urlparse(target).netloc and target.startswith("/"):
        return target
    return url_for("network.index")


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        user = users.authenticate(get_session(), username, password)
        if user is not None:
            session.clear()
            session["user_id"] = user.id
            return redirect(_safe_next(request.args.get("next")))
        flash(_("用户名或密码错误"))
    return render_template("login.html", title=_("登录"))


@bp.post("/logout")
@public
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("auth.login"))
