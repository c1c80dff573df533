"""Log-in, roles and areas: every page and API call knows who asks and what area they may see."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse

from flask import (
    Blueprint,
    current_app,
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

from models import sessions, users
from models.registers import audit
from webmap import bearer
from webmap.access import public, rule, rule_of
from webmap.db import transaction

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.before_app_request
def load_user() -> None:
    """``g.user`` from the server-side session (or a Bearer token on /api/ and /ogc/)."""
    g.user = None
    g.must_change_password = False
    # A bearer token (scripts, GIS clients; /ogc/ and /api/ only) stands for its user.
    token = bearer.presented_token()
    if token is not None:
        g.user = bearer.user_from_token(token)
        return
    sid = session.get("sid")
    if not isinstance(sid, str):
        return
    with transaction() as db:
        found = sessions.current(db, sid, idle=_idle(), absolute=_absolute())
    if found is None:
        session.clear()  # expired, revoked or unknown: the cookie is worthless
        return
    g.user = found.user
    g.must_change_password = found.must_change_password


def _idle() -> dt.timedelta:
    return dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def _absolute() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config["SESSION_MAX_HOURS"])


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
        with transaction() as db:
            result = users.sign_in(db, username, password, source=request.remote_addr or "")
            token = None
            if result.user is not None:
                # Outside demo mode a weak password (the demo's included) must be changed
                # before anything else; so must one an administrator has reset.
                weak = not current_app.config["DEMO"] and not users.password_ok(
                    password, username=result.user.username
                )
                token = sessions.start_session(
                    db,
                    result.user,
                    must_change_password=weak or result.user.must_change_password,
                )
        if token is not None:
            session.clear()  # a fresh session (and CSRF token) for the signed-in user
            session["sid"] = token
            return redirect(_safe_next(request.args.get("next")))
        # One message for a wrong name, a wrong password, a disabled user and a lock-out.
        flash(_("用户名或密码错误，或尝试次数过多（请稍后再试）"))
    return render_template("login.html", title=_("登录"))


@bp.post("/logout")
@public
def logout() -> ResponseReturnValue:
    sid = session.get("sid")
    if isinstance(sid, str):
        with transaction() as db:
            sessions.end_session(db, sid)
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@rule(area="none")
def password() -> ResponseReturnValue:
    """Change one's own password (required first after a reset or with a weak password)."""
    if request.method == "POST":
        current = request.form.get("current", "")
        new = request.form.get("new", "")
        try:
            if new != request.form.get("repeat", ""):
                raise users.PasswordRefused(_("两次输入的新密码不一致"))
            with transaction() as db:
                if users.authenticate(db, g.user.username, current) is None:
                    raise users.PasswordRefused(_("当前密码不正确"))
                users.set_password(db, g.user.username, new)
                # set_password ended every session of the user: this one starts afresh.
                user = users.get_user(db, g.user.id)
                token = sessions.start_session(db, user)  # type: ignore[arg-type]
                audit(db, username=g.user.username, action="password.change", detail={})
        except users.PasswordRefused as err:
            flash(_("密码未更改：%(why)s", why=str(err)))
        else:
            session.clear()
            session["sid"] = token
            flash(_("密码已更改"))
            return redirect(url_for("network.index"))
    return render_template(
        "password.html", title=_("修改密码"), forced=g.get("must_change_password", False)
    )
