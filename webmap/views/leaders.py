"""Pages for leaders (mounted at /leaders/)."""

from __future__ import annotations

from flask import Blueprint, render_template

from webmap.auth import login_required

bp = Blueprint("leaders", __name__, url_prefix="/leaders")


@bp.get("/")
@login_required("leader")
def index() -> str:
    return render_template("placeholder.html", title="领导热点图")
