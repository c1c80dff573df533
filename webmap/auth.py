"""Log-in, roles and areas: every page and API call knows who asks and what area they may see."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
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
from models.places import area_prefix
from webmap import bearer
from webmap.db import get_session
from webmap.errors import ApiError

bp = Blueprint("auth", __name__, url_prefix="/auth")
F = TypeVar("F", bound=Callable[..., Any])


class Unauthorised(ApiError):
    status = 401
    code = "login_required"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


@bp.before_app_request
def load_user() -> None:
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


def login_required(*roles: str) -> Callable[[F], F]:
    """Only logged-in users (of ``roles``, when given; admins always) reach the view."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            api = request.path.startswith("/api/")
            if g.user is None:
                if api:
                    raise Unauthorised(_("请先登录"))
                return redirect(url_for("auth.login", next=request.full_path))
            if roles and g.user.role not in roles and g.user.role != "admin":
                raise Forbidden(_("您的角色无权访问此页面"))
            return view(*args, **kwargs)

        # The navigation reads it to show only the pages a user may open.
        wrapped.required_roles = roles  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def may_open(endpoint: str) -> bool:
    """Whether the logged-in user's role may open the page of ``endpoint``."""
    from flask import current_app

    view = current_app.view_functions.get(endpoint)
    roles = getattr(view, "required_roles", ())
    return g.user is not None and (not roles or g.user.role in roles or g.user.role == "admin")


def user_prefix() -> str:
    """The code prefix of the logged-in user's area ('' for no restriction below the city)."""
    if g.user is None:
        msg = "no user"
        raise Unauthorised(msg)
    return area_prefix(g.user.area_code)


def scoped_area(requested: str) -> str:
    """The area to show: the requested one if it lies inside the user's, else the user's own."""
    own = g.user.area_code
    if requested and area_prefix(requested).startswith(area_prefix(own)):
        return requested
    return own


def _safe_next(target: str | None) -> str:
    # Only local paths: never redirect a user off the host after log-in.
    if target and not urlparse(target).netloc and target.startswith("/"):
        return target
    return url_for("network.index")


@bp.route("/login", methods=["GET", "POST"])
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
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("auth.login"))
