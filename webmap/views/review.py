"""The staff review queue at /staff/review: rows an import could not place, resolved by hand."""

from __future__ import annotations

from typing import Any

import folium
from branca.element import JavascriptLink, MacroElement
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import Template
from sqlalchemy.orm import Session

from geo.coords import to_wgs84
from geo.layers.offline import offline_map
from models import activity, places, review
from models.registers import audit
from models.schema import ReviewItem
from webmap.access import rule, user_scope
from webmap.db import transaction
from webmap.errors import ApiError
from webmap.views.common import db_session, dumps, map_root, render_map_page

bp = Blueprint("review", __name__, url_prefix="/staff/review")

# Shaoyang's centre, for items with neither candidates nor coordinates.
_CITY_CENTRE = (27.2, 111.0)
KIND_LABELS = {"case": _l("案件"), "visit": _l("走访记录")}


class ItemNotFound(ApiError):
    status = 404
    code = "not_found"


def _in_area(item: ReviewItem) -> bool:
    return review.item_in_area(item, user_scope().prefix)


PAGE_SIZE = 50


def _filter() -> review.ReviewFilter:
    args = request.args
    return review.ReviewFilter(
        prefix=user_scope().prefix,
        county=args.get("county", "").strip(),
        kind=args.get("kind", "").strip(),
        reason=args.get("reason", "").strip(),
    )


def _reason_text(reason: str) -> str:
    """The half of a stored "zh / en" reason in the page's language."""
    zh, _sep, en = reason.partition(" / ")
    return en if str(get_locale()) == "en" and en else zh


@bp.get("/")
@rule("staff", area="own")
def index() -> str:
    """Open review items of the user's area, oldest first: filters, total and pages."""
    chosen = _filter()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    with db_session() as session:
        items, total = review.review_page(
            session, chosen, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        facets = review.review_facets(session, chosen)
        codes = [c["code"] for it in items for c in (it.candidates or {}).get("units", [])]
        names = review.full_names(session, codes)
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template(
        "review.html",
        title=_("待处理数据"),
        items=items,
        total=total,
        page=page,
        pages=pages,
        facets=facets,
        chosen=chosen,
        names=names,
        reason_text=_reason_text,
        kind_label=KIND_LABELS,
    )


class ReviewMap(MacroElement):
    """The item's map, drawn by static/review.js: boundaries around it, numbered candidates,
    and a click that fills the form's coordinates."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        qungong.reviewMap({{ this._parent.get_name() }}, {{ this.config }});
        {% endmacro %}"""
    )

    def __init__(self, config_json: str) -> None:
        super().__init__()
        self._name = "ReviewMap"
        self.config = config_json


def _item_map(session: Session, item: ReviewItem, names: dict[str, list[str]]) -> folium.Map:
    candidates = (item.candidates or {}).get("units", [])
    placed = [c for c in candidates if c.get("lon") is not None and c.get("lat") is not None]
    record = (item.raw or {}).get("record") or {}
    points = [(float(c["lon"]), float(c["lat"])) for c in placed]
    if not points and record.get("source_lon") is not None and record.get("source_lat") is not None:
        points = [(float(record["source_lon"]), float(record["source_lat"]))]
    m = offline_map(
        tile_url=current_app.config.get("TILE_URL"),
        attribution=current_app.config.get("TILE_ATTRIBUTION"),
        location=(points[0][1], points[0][0]) if points else _CITY_CENTRE,
        zoom_start=12 if points else 8,
    )
    config: dict[str, Any] = {
        "candidates": [
            {"code": c["code"], "lon": c["lon"], "lat": c["lat"],
             "name": " › ".join(names.get(c["code"]) or [c["name"]])}
            for c in placed
        ],
        "text": {"picked": _("地图上点选的位置")},
    }  # fmt: skip
    generation = places.active_generation(session)
    if points and generation is not None:
        # The villages and townships around the candidates, so staff see where they lie.
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        bbox = (min(xs) - 0.05, min(ys) - 0.04, max(xs) + 0.05, max(ys) + 0.04)
        for level, tolerance in (("township", 0.0005), ("village", 0.0002)):
            config[level] = places.units_geojson(
                session, generation.id, level=level, bbox=bbox, tolerance=tolerance, limit=400
            )
    map_root(m).header.add_child(
        JavascriptLink(url_for("static", filename="review.js")), name="review_js"
    )
    m.add_child(ReviewMap(dumps(config)))
    if len(points) > 1:
        m.fit_bounds([[y, x] for x, y in points], padding=(30, 30))
    return m


@bp.route("/<int:item_id>", methods=["GET", "POST"])
@rule("staff", area="record")
def item(item_id: int) -> ResponseReturnValue:
    """One item: its row, reason and candidates on a map; POST places it."""
    with db_session() as session:
        found = session.get(ReviewItem, item_id)
    if found is None or found.resolved or not _in_area(found):
        msg = f"no open review item {item_id}"
        raise ItemNotFound(msg)
    if request.method == "GET":
        # The row holds a petitioner's name, phone and address: every view is audited.
        with transaction() as session:
            audit(
                session,
                username=g.user.username,
                action="record.view",
                detail={"record": "review_item", "id": item_id, "kind": found.kind},
            )
    if request.method == "POST":
        point, problem = _chosen_point(found, request.form)
        if point is not None:
            try:
                with transaction() as session:
                    done = activity.resolve_review_item(
                        session,
                        item_id,
                        lon=point[0],
                        lat=point[1],
                        username=g.user.username,
                        prefix=user_scope().prefix,
                    )
            except (ValueError, LookupError) as err:
                problem = str(err)
            else:
                flash(_("已处理：放入村民小组 %(code)s", code=done["group_code"]))
                return redirect(url_for("review.index"))
        flash(problem or _("请选择候选位置或填写坐标"))
    candidates = (found.candidates or {}).get("units", [])
    with db_session() as session:
        names = review.full_names(session, [c["code"] for c in candidates])
        item_map = _item_map(session, found, names)
    return render_map_page(
        "review_item.html",
        item_map,
        title=_("待处理数据"),
        item=found,
        candidates=candidates,
        names=names,
        reason=_reason_text(found.reason),
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
