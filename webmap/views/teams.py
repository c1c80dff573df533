"""Pages for work teams (mounted at /teams/): the month plan, day sheets, GPX, planned vs done.

A team user sees its own township only (``webmap.access``: another area is 404);
users with a wider area pick a township with ``?area=``.  The work is in
``webmap.services.team_plan``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from geo.layers.offline import offline_map
from geo.layers.routes import add_plan_layers
from webmap.access import rule, scoped_code
from webmap.errors import ApiError
from webmap.services import team_plan
from webmap.services.routes import PlanError
from webmap.services.team_plan import MonthPlan, NoTownship, PlanOptions
from webmap.views.common import db_session, render_map_page

bp = Blueprint("teams", __name__, url_prefix="/teams")


class PageError(ApiError):
    code = "bad_parameter"


def _int_arg(name: str, lo: int, hi: int) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise PageError(_("参数 %(name)s 须为 %(lo)d–%(hi)d 的整数", name=name, lo=lo, hi=hi))
    return int(raw)


def _month_arg() -> dt.date | None:
    raw = request.args.get("month", "").strip()
    if not raw:
        return None
    try:
        return dt.datetime.strptime(raw, "%Y-%m").date()
    except ValueError:
        raise PageError(_("月份须写成 YYYY-MM")) from None


def _distance_arg() -> str:
    distance = request.args.get("distance", "").strip() or "straight"
    if distance not in ("straight", "roads"):
        raise PageError(_("参数 distance 须为 straight 或 roads"))
    return distance


def _plan() -> tuple[MonthPlan, dict[str, Any]]:
    """The plan the query asks for, within the user's area."""
    options = PlanOptions(
        days=_int_arg("days", 1, 31),
        service_minutes=_int_arg("service", 5, 480) or 30,
        day_minutes=_int_arg("day_minutes", 60, 1440) or 480,
        distance=_distance_arg(),
    )
    with db_session() as session:
        township = team_plan.township_for(session, scoped_code(request.args.get("area")))
        month = _month_arg() or team_plan.default_month(session, township)
        try:
            plan = team_plan.month_plan(session, township, month, options)
        except PlanError as exc:
            if options.distance == "roads" and "no road network" in exc.message:
                raise PageError(_("尚未导入道路网，不能沿道路编排；请选择直线距离。")) from None
            raise
    query = {
        "area": township,
        "month": f"{month:%Y-%m}",
        "days": request.args.get("days", ""),
        "service": request.args.get("service", ""),
        "day_minutes": request.args.get("day_minutes", ""),
        "distance": request.args.get("distance", ""),
    }
    return plan, {k: v for k, v in query.items() if v}


@bp.get("/")
@rule("team", area="param")
def index() -> ResponseReturnValue:
    try:
        plan, query = _plan()
    except NoTownship:
        return render_template(
            "teams_empty.html", title=_("工作队路线"), message=_("尚未导入行政区划边界。")
        )
    with db_session() as session:
        done = team_plan.planned_vs_done(session, plan)
        history = team_plan.visit_history(session, plan)
    m = offline_map(
        tile_url=current_app.config["TILE_URL"],
        attribution=current_app.config["TILE_ATTRIBUTION"],
        location=[plan.depot[1], plan.depot[0]],
        zoom_start=11,
    )
    add_plan_layers(
        m,
        plan.days,
        plan.depot,
        labels={
            "depot": _("乡镇（街道）办公地点"),
            "day": _("第 {n} 天"),
            "legend": _("走访日"),
            "arrive": _("建议到达"),
        },
    )
    names = {s["code"]: s["name"] for d in plan.days for s in d["stops"]}
    names.update({u["code"]: u["name"] for u in plan.unassigned})
    return render_map_page(
        "teams.html",
        m,
        title=_("工作队路线"),
        plan=plan,
        done=done,
        history=history,
        names=names,
        query=query,
    )


@bp.get("/day/<int:day>")
@rule("team", area="param")
def day_sheet(day: int) -> ResponseReturnValue:
    """The printable sheet of one day: order, suggested times, village, station, phones."""
    plan, query = _plan()
    sheet = next((d for d in plan.days if d["day"] == day), None)
    if sheet is None:
        raise PageError(_("本月计划没有第 %(n)d 天", n=day), status=404, code="not_found")
    return render_template(
        "teams_day.html", title=_("走访日程单"), plan=plan, day=sheet, query=query
    )


@bp.get("/day/<int:day>.gpx")
@rule("team", area="param", export=True)
def day_gpx(day: int) -> ResponseReturnValue:
    """One day's route as a GPX file for the team's phones."""
    plan, _query = _plan()
    body = team_plan.day_gpx(plan, day)
    filename = f"route-{plan.township_code}-{plan.month:%Y-%m}-day{day}.gpx"
    return Response(
        body,
        mimetype="application/gpx+xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
