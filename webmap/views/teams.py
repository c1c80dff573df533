"""Pages for teams (mounted at /teams/)."""

from __future__ import annotations

from flask import Blueprint, render_template

from webmap.auth import login_required

bp = Blueprint("teams", __name__, url_prefix="/teams")


@bp.get("/")
@login_required("team")
def index() -> str:
    return render_template("placeholder.html", title="工作队路线")
