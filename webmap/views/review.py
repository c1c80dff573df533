"""The staff review queue at /staff/review: rows an import could not place, resolved by hand."""

from __future__ import annotations

from typing import Any

import folium
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from geo.coords import to_wgs84
from geo.layers.offline import offline_map
from models import activity
from models.schema import ReviewItem
from webmap.auth import login_required, user_prefix
from webmap.db import transaction
from webmap.errors import ApiError
from webmap.views.common import db_session, render_map_page

bp = Blueprint("review", __name__, url_prefix="/staff/review")

# Shaoyang's centre, for items with neither candidates nor coordinates.
_CITY_CENTRE = (27.2, 111.0)


class ItemNotFound(ApiError):
    status = 404
    code = "not_found"


def _in_area(item: ReviewItem) -> bool:
    prefix = user_prefix()[:6]
    return item.county_code is None or item.county_code.startswith(prefix)


@bp.get("/")
@login_required("staff")
def index() -> str:
    """Open review items of the user's area, oldest first, with their reasons."""
    kind = request.args.get("kind") or None
    with db_session() as session:
        items = activity.open_review_items(session, kind=kind, prefix=user_prefix())
        counts = activity.review_counts(session)
    return render_template("review.html", title=_("待处理数据"), items=items, counts=counts)


def _item_map(item: ReviewItem) -> folium.Map:
    candidates = (item.candidates or {}).get("units", [])
    placed = [c for c in candidates if c.get("lon") is not None and c.get("lat") is not None]
    centre = (placed[0]["lat"], placed[0]["lon"]) if placed else _CITY_CENTRE
    m = offline_map(
        tile_url=current_app.config.get("TILE_URL"),
        attribution=current_app.config.get("TILE_ATTRIBUTION"),
        location=centre,
        zoom_start=11 if placed else 8,
    )
    for c in placed:
        folium.CircleMarker(
            (c["lat"], c["lon"]),
            radius=7,
            color="#c0392b",
            fill=True,
            tooltip=f"{c['code']} {c['name']}",
        ).add_to(m)
    if len(placed) > 1:
        m.fit_bounds([[c["lat"], c["lon"]] for c in placed], padding=(30, 30))
    return m


@bp.route("/<int:item_id>", methods=["GET", "POST"])
@login_required("staff")
def item(item_id: int) -> ResponseReturnValue:
    """One item: its row, reason and candidates on a map; POST places it."""
    with db_session() as session:
        found = session.get(ReviewItem, item_id)
    if found is None or found.resolved or not _in_area(found):
        msg = f"no open review item {item_id}"
        raise ItemNotFound(msg)
    if request.method == "POST":
        point, problem = _chosen_point(found, request.form)
        if point is not None:
            try:
                with transaction() as session:
                    done = activity.resolve_review_item(
                        session, item_id, lon=point[0], lat=point[1], username=g.user.username
                    )
            except (ValueError, LookupError) as err:
                problem = str(err)
            else:
                flash(_("已处理：放入村民小组 %(code)s", code=done["group_code"]))
                return redirect(url_for("review.index"))
        flash(problem or _("请选择候选位置或填写坐标"))
    return render_map_page(
        "review_item.html",
        _item_map(found),
        title=_("待处理数据"),
        item=found,
        candidates=(found.candidates or {}).get("units", []),
    )


def _chosen_point(item: ReviewItem, form: Any) -> tuple[tuple[float, float] | None, str | None]:
    """The WGS-84 point the form picked: a candidate's code, or typed lon/lat in a system."""
    code = form.get("candidate", "").strip()
    if code:
        for c in (item.candidates or {}).get("units", []):
            if c["code"] == code and c.get("lon") is not None:
                return (float(c["lon"]), float(c["lat"])), None
        return None, _("候选位置无效")
    lon_text, lat_text = form.get("lon", "").strip(), form.get("lat", "").strip()
    if not lon_text and not lat_text:
        return None, None
    try:
        lon, lat = float(lon_text), float(lat_text)
        x, y = to_wgs84([lon], [lat], source=form.get("crs", "wgs84"))
    except ValueError:
        return None, _("坐标或坐标系无效")
    return (float(x[0]), float(y[0])), None
