"""Administrators' pages (/admin/): the audit log."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from models.audit import audit_entries
from webmap.access import rule
from webmap.errors import ApiError
from webmap.views.common import db_session

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE = 500


def _since(raw: str) -> dt.datetime | None:
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise ApiError(
            _("日期须写成 YYYY-MM-DD：%(raw)s", raw=raw[:20]), code="bad_parameter"
        ) from None
    if not 1949 <= day.year <= 2100:
        raise ApiError(_("日期须写成 YYYY-MM-DD：%(raw)s", raw=raw[:20]), code="bad_parameter")
    return dt.datetime.combine(day, dt.time())


@bp.get("/audit")
@rule("admin", area="none")
def audit() -> str:
    """The newest audit entries, filtered by user, action and day."""
    username = request.args.get("user", "").strip()[:60]
    action = request.args.get("action", "").strip()[:60]
    since_text = request.args.get("since", "").strip()
    with db_session() as session:
        rows = audit_entries(
            session,
            username=username or None,
            since=_since(since_text),
            action=action or None,
            limit=PAGE,
        )
    return render_template(
        "audit.html",
        title=_("审计日志"),
        rows=rows,
        user=username,
        action=action,
        since=since_text,
        page=PAGE,
    )
