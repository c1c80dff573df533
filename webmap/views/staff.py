"""Pages for staff (mounted at /staff/)."""

from __future__ import annotations

from flask import Blueprint, render_template

from webmap.auth import login_required

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
@login_required("staff")
def index() -> str:
    return render_template("placeholder.html", title="数据导入")
