"""Pages for planners (mounted at /planners/)."""

from __future__ import annotations

from flask import Blueprint, render_template

from webmap.auth import login_required

bp = Blueprint("planners", __name__, url_prefix="/planners")


@bp.get("/")
@login_required("planner")
def index() -> str:
    return render_template("placeholder.html", title="规划覆盖")
