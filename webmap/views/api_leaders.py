"""The leaders' hotspot analysis as GeoJSON/CSV under /api/leaders/, and the cache the page shares.

A request's query string (kind, status, from, to, area, unit, gi, fdr) selects the cases and
the area; :func:`analysis` turns it into aggregated layers (H3 bins, unit rates, Gi* classes)
with ``models.hotspots`` and ``geo``, and keeps the result for a few minutes keyed on the
query and the case table's stamp, so switching layers or reloading costs no recomputation.
Nothing returned here identifies a case: bins and units below five cases are dropped or
masked, exactly as on the page.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from libpysal.weights import W
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from geo.density import MIN_COUNT, Grid, hex_bins, pattern_agreement, rates_per_thousand
from geo.density import suppress_small as drop_small
from geo.hotspots import HOTSPOT_CLASSES, getis_ord, spatial_weights
from geo.layers.hotspots import feature_collection
from models import hotspots as q
from models import maps
from models.schema import CASE_KINDS, CASE_STATUSES
from webmap.auth import login_required, scoped_area
from webmap.errors import ApiError, NotFound
from webmap.views.common import db_session

bp = Blueprint("api_leaders", __name__, url_prefix="/api/leaders")

LAYERS = ("heat", "monthly", "rates", "hotspots")
PERMUTATIONS = 999
TOP_N = 20
# H3 resolution of the heatmap and of the monthly frames, by the level being viewed: cells
# a few screen pixels wide at that level's zoom, so binning cannot show on the heatmap.
HEAT_RESOLUTION = {"city": 7, "county": 8, "township": 9}
MONTHLY_RESOLUTION = {"city": 6, "county": 7, "township": 8}
# Units the rates map uses by default, by viewed level (townships at city scale: 255 units
# read better than 5,903 villages and keep the page small).
RATE_UNIT = {"city": "township", "county": "village", "township": "village"}
# Simplification of analysis polygons (degrees) by viewed level.
TOLERANCE = {"city": 0.002, "county": 0.0005, "township": 0.0001}
CACHE_SIZE = 8
CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class LeadersQuery:
    """What a leaders' page or API call asks for, parsed from its query string."""

    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    area: str = ""
    layer: str = "heat"
    unit: str = ""
    gi: str = "rate"
    fdr: bool = True

    @property
    def level(self) -> str:
        """Viewed level: city, county or township (a village area shows its township)."""
        if not self.area:
            return "city"
        level = maps.level_of(self.area)
        return level if level in ("county", "township") else "city"

    @property
    def prefix(self) -> str:
        return maps.area_prefix(self.area) if self.level != "city" else ""

    @property
    def rate_unit(self) -> str:
        return self.unit or RATE_UNIT[self.level]

    def case_filter(self) -> q.CaseFilter:
        return q.CaseFilter(
            kinds=self.kinds,
            statuses=self.statuses,
            date_from=self.date_from,
            date_to=self.date_to,
            prefix=self.prefix,
        )

    def args(self, **changes: Any) -> dict[str, str]:
        """Query-string parameters that reproduce this state (with ``changes``)."""
        state = replace(self, **changes) if changes else self
        out = {
            "kind": ",".join(state.kinds),
            "status": ",".join(state.statuses),
            "from": state.date_from.isoformat() if state.date_from else "",
            "to": state.date_to.isoformat() if state.date_to else "",
            "area": state.area,
            "layer": state.layer if state.layer != "heat" else "",
            "unit": state.unit,
            "gi": state.gi if state.gi != "rate" else "",
            "fdr": "" if state.fdr else "0",
        }
        return {k: v for k, v in out.items() if v}


def _choices(args: MultiDict, name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values: list[str] = []
    for raw in args.getlist(name):
        values += [v.strip() for v in raw.split(",") if v.strip()]
    bad = [v for v in values if v not in allowed]
    if bad:
        msg = f"parameter {name!r} must be among {', '.join(allowed)}, got {bad}"
        raise ApiError(msg, code="bad_parameter")
    return tuple(v for v in allowed if v in values)


def _date(args: MultiDict, name: str, *, end: bool) -> dt.date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 4:  # a year
            return dt.date(int(raw), 12, 31) if end else dt.date(int(raw), 1, 1)
        if len(raw) == 7:  # a month
            first = dt.date.fromisoformat(raw + "-01")
            if not end:
                return first
            following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            return following - dt.timedelta(days=1)
        return dt.date.fromisoformat(raw)
    except ValueError:
        msg = f"parameter {name!r} must be YYYY, YYYY-MM or YYYY-MM-DD, got {raw!r}"
        raise ApiError(msg, code="bad_parameter") from None


def parse_query(args: MultiDict) -> LeadersQuery:
    """A :class:`LeadersQuery` from request arguments, the area limited to the user's own."""
    layer = args.get("layer") or "heat"
    if layer not in LAYERS:
        msg = f"layer must be one of {', '.join(LAYERS)}"
        raise ApiError(msg, code="bad_parameter")
    unit = args.get("unit") or ""
    if unit not in ("", "township", "village"):
        msg = "unit must be township or village"
        raise ApiError(msg, code="bad_parameter")
    gi = args.get("gi") or "rate"
    if gi not in ("rate", "count"):
        msg = "gi must be rate or count"
        raise ApiError(msg, code="bad_parameter")
    area = (args.get("area") or "").strip()
    if area and not (area.isdigit() and len(area) in (12, 15)):
        msg = "area must be a 12-digit division code"
        raise ApiError(msg, code="bad_parameter")
    area = scoped_area(area)
    if area and maps.level_of(area) in ("city", "province"):
        area = ""
    elif area and maps.level_of(area) in ("village", "group"):
        area = maps.area_prefix(area)[:9] + "000"
    date_from = _date(args, "from", end=False)
    date_to = _date(args, "to", end=True)
    if date_from and date_to and date_from > date_to:
        msg = "the date range is reversed"
        raise ApiError(msg, code="bad_parameter")
    return LeadersQuery(
        kinds=_choices(args, "kind", CASE_KINDS),
        statuses=_choices(args, "status", CASE_STATUSES),
        date_from=date_from,
        date_to=date_to,
        area=area,
        layer=layer,
        unit=unit,
        gi=gi,
        fdr=args.get("fdr", "1") not in ("0", "false", "no"),
    )


@dataclass
class Analysis:
    """Aggregated layers of one query; none of them holds an individual case."""

    total: int
    months: pd.Series
    heat: gpd.GeoDataFrame
    monthly: gpd.GeoDataFrame
    rates: gpd.GeoDataFrame
    hotspots: gpd.GeoDataFrame
    agreement: float | None
    gi_units: int
    gi_seconds: float

    def top(self, n: int = TOP_N) -> pd.DataFrame:
        """The ``n`` hottest villages (largest Gi* z) with masked small counts."""
        hs = self.hotspots
        if hs.empty:
            return pd.DataFrame(columns=["code", "name", "count", "rate", "gi_z", "gi_p"])
        order = hs.sort_values(["gi_z", "count"], ascending=[False, False]).head(n)
        out = order[["code", "name", "count", "rate", "gi_z", "gi_p", "hotspot", "geometry"]]
        return mask_small(out.copy())


def mask_small(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts and rates of units with fewer than five cases replaced by ``<5``."""
    small = pd.to_numeric(frame["count"], errors="coerce").lt(MIN_COUNT).to_numpy()
    hidden = f"<{MIN_COUNT}"
    for col in ("count", "rate"):
        if col in frame.columns:
            values = frame[col].astype(object)
            if col == "rate":
                values = pd.Series(
                    np.round(pd.to_numeric(frame[col], errors="coerce").to_numpy(float), 1),
                    index=frame.index,
                ).astype(object)
            values[small] = hidden
            frame[col] = values
    return frame


_cache: OrderedDict[tuple, tuple[float, Analysis]] = OrderedDict()
_weights: OrderedDict[tuple, W] = OrderedDict()
_lock = threading.Lock()


def _cached(store: OrderedDict, key: tuple) -> Any:
    with _lock:
        hit = store.get(key)
        if hit is not None:
            store.move_to_end(key)
        return hit


def _remember(store: OrderedDict, key: tuple, value: Any, size: int) -> None:
    with _lock:
        store[key] = value
        store.move_to_end(key)
        while len(store) > size:
            store.popitem(last=False)


def cache_key(session: Session, generation_id: int, query: LeadersQuery) -> tuple:
    """What a cached result depends on: database, generation, the case table's stamp, query."""
    return (
        current_app.config["DATABASE_URL"],
        generation_id,
        q.case_stamp(session),
        query,
    )


def cached(store: OrderedDict, key: tuple, build: Any, *, size: int = CACHE_SIZE) -> Any:
    """``build()`` once per ``key`` for :data:`CACHE_SECONDS`, keeping ``size`` entries."""
    hit = _cached(store, key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = build()
    _remember(store, key, (time.monotonic(), value), size)
    return value


def analysis(session: Session, generation_id: int, query: LeadersQuery) -> Analysis:
    """The aggregated layers of ``query`` (cached for a few minutes per case-table stamp)."""
    key = cache_key(session, generation_id, replace(query, layer="heat"))
    return cached(_cache, key, lambda: _compute(session, generation_id, query))


def _with_rates(units: pd.DataFrame) -> gpd.GeoDataFrame:
    frame = units.set_index("code", drop=False)
    frame["rate"] = rates_per_thousand(frame["count"], frame["households"].astype("Float64"))
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry="geometry", crs="EPSG:4326")


def _gi_weights(units: gpd.GeoDataFrame, generation_id: int) -> W:
    key = (current_app.config["DATABASE_URL"], generation_id, tuple(units["code"]))
    w = _cached(_weights, key)
    if w is None:
        w = spatial_weights(units, kind="queen")
        _remember(_weights, key, w, 8)
    return w


def _compute(session: Session, generation_id: int, query: LeadersQuery) -> Analysis:
    case_filter = query.case_filter()
    level = query.level
    points = q.case_points(session, case_filter)
    geo_points = gpd.GeoDataFrame(
        {"month": points["month"].to_numpy()},
        geometry=gpd.points_from_xy(points["lon"], points["lat"]),
        crs="EPSG:4326",
    )
    heat = hex_bins(geo_points, resolution=HEAT_RESOLUTION[level])
    monthly = hex_bins(geo_points, resolution=MONTHLY_RESOLUTION[level], by="month")
    agreement = None
    if len(points) and not heat.empty:
        west, south = points["lon"].min(), points["lat"].min()
        east, north = points["lon"].max(), points["lat"].max()
        # A raster of about a hexagon's width, as the page's heatmap blurs it.
        cell = {"city": 0.01, "county": 0.004, "township": 0.0015}[level]
        grid = Grid.around((west, south, east + 1e-9, north + 1e-9), cell_deg=cell)
        try:
            agreement = pattern_agreement(geo_points, drop_small(heat), grid=grid)
        except ValueError:
            agreement = None
    rates = _with_rates(
        q.unit_case_counts(session, generation_id, case_filter, level=query.rate_unit)
    )
    # Gi* needs every village's neighbours: a township view tests the villages of its county
    # and shows its own; wider views test the villages of the area itself.
    study_prefix = query.prefix[:6] if level == "township" else query.prefix
    villages = _with_rates(
        q.unit_case_counts(
            session, generation_id, case_filter, level="village", prefix=study_prefix
        )
    )
    value = "rate" if query.gi == "rate" else "count"
    tested = villages[np.isfinite(villages[value].to_numpy(dtype=float))].reset_index(drop=True)
    started = time.perf_counter()
    if len(tested) >= 3:
        with warnings.catch_warnings():
            # Villages dropped for lack of households can split the map into separate
            # components; Gi* stays valid within each, so libpysal's warning is only noise.
            warnings.filterwarnings("ignore", "The weights matrix is not fully connected")
            hot = getis_ord(
                tested,
                value,
                permutations=PERMUTATIONS,
                fdr=query.fdr,
                weights=_gi_weights(tested, generation_id),
            )
    else:
        hot = tested.assign(gi_z=0.0, gi_p=1.0, hotspot="ns")
    gi_seconds = time.perf_counter() - started
    if level == "township":
        hot = hot[hot["code"].str.startswith(query.prefix)].reset_index(drop=True)
    return Analysis(
        total=len(points),
        months=points["month"].value_counts().sort_index().rename("count"),
        heat=heat,
        monthly=monthly,
        rates=rates,
        hotspots=gpd.GeoDataFrame(hot, geometry="geometry", crs="EPSG:4326"),
        agreement=agreement,
        gi_units=len(tested),
        gi_seconds=gi_seconds,
    )


def fdr_floor_units(units: int, *, alpha: float) -> int:
    """How many units must share the smallest permutation p for FDR to pass them at ``alpha``."""
    return int(np.ceil(units / (alpha * (PERMUTATIONS + 1))))


def class_counts(hotspots: pd.DataFrame) -> dict[str, int]:
    counts = hotspots["hotspot"].value_counts() if len(hotspots) else pd.Series(dtype=int)
    return {c: int(counts.get(c, 0)) for c in HOTSPOT_CLASSES}


# --------------------------------------------------------------------------------------
# Endpoints


def _request_analysis() -> tuple[LeadersQuery, Analysis]:
    query = parse_query(request.args)
    with db_session() as session:
        generation = maps.active_generation(session)
        if generation is None:
            msg = "no active boundary generation: import boundaries first"
            raise NotFound(msg, code="no_generation")
        return query, analysis(session, generation.id, query)


def _geojson(data: dict[str, Any], **meta: Any) -> Response:
    data = {**data, **meta}
    response = jsonify(data)
    response.mimetype = "application/geo+json"
    return response


def _meta(query: LeadersQuery, result: Analysis) -> dict[str, Any]:
    return {
        "query": query.args(),
        "cases": result.total,
        "min_count": MIN_COUNT,
    }


@bp.get("/heat")
@login_required("leader")
def heat() -> ResponseReturnValue:
    """H3 hexagons with their case count (cells below five cases left out); ``month`` optional."""
    query, result = _request_analysis()
    month = request.args.get("month")
    bins = result.monthly if month else result.heat
    if month:
        bins = bins[bins["month"] == month]
    kept = drop_small(bins)
    props = ["h3", "count"] + (["month"] if month else [])
    return _geojson(
        feature_collection(kept, props), **_meta(query, result), agreement=result.agreement
    )


@bp.get("/monthly")
@login_required("leader")
def monthly() -> ResponseReturnValue:
    """Monthly H3 hexagons (``month``, ``h3``, ``count``), cells below five cases left out."""
    query, result = _request_analysis()
    kept = drop_small(result.monthly)
    return _geojson(
        feature_collection(kept, ["month", "h3", "count"]),
        **_meta(query, result),
        months={str(k): int(v) for k, v in result.months.items()},
    )


@bp.get("/rates")
@login_required("leader")
def rates() -> ResponseReturnValue:
    """Cases per 1,000 households by township or village; units below five cases left out."""
    query, result = _request_analysis()
    kept = drop_small(result.rates)
    kept = kept.assign(rate=np.round(kept["rate"].to_numpy(dtype=float), 2))
    return _geojson(
        feature_collection(
            kept,
            ["code", "name", "households", "count", "rate"],
            simplify_tolerance=TOLERANCE[query.level],
        ),
        **_meta(query, result),
        unit=query.rate_unit,
    )


@bp.get("/hotspots")
@login_required("leader")
def hotspots() -> ResponseReturnValue:
    """Gi* class, z and p of every tested village; counts and rates below five read ``<5``."""
    query, result = _request_analysis()
    hs = mask_small(result.hotspots.copy())
    hs["gi_z"] = np.round(hs["gi_z"].to_numpy(dtype=float), 3)
    return _geojson(
        feature_collection(
            hs,
            ["code", "name", "count", "rate", "gi_z", "gi_p", "hotspot"],
            simplify_tolerance=TOLERANCE[query.level],
        ),
        **_meta(query, result),
        permutations=PERMUTATIONS,
        fdr=query.fdr,
        value=query.gi,
        classes=class_counts(result.hotspots),
    )


TOP_COLUMNS = ("rank", "code", "name", "count", "rate", "gi_z", "gi_p", "hotspot")


def top_rows(result: Analysis) -> list[dict[str, Any]]:
    """The top villages as plain rows (rank first), ready for a table, CSV or JSON."""
    top = result.top()
    rows = []
    for rank, rec in enumerate(top.drop(columns="geometry").to_dict("records"), start=1):
        rows.append(
            {
                "rank": rank,
                "code": rec["code"],
                "name": rec["name"],
                "count": rec["count"],
                "rate": rec["rate"],
                "gi_z": round(float(rec["gi_z"]), 3),
                "gi_p": round(float(rec["gi_p"]), 4),
                "hotspot": rec["hotspot"],
            }
        )
    return rows


@bp.get("/top.csv")
@login_required("leader")
def top_csv() -> ResponseReturnValue:
    """The 20 hottest villages as CSV (UTF-8 with BOM, so Excel reads the Chinese names)."""
    _, result = _request_analysis()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TOP_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(top_rows(result))
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=hotspot_villages_top20.csv"},
    )


@bp.get("/top.geojson")
@login_required("leader")
def top_geojson() -> ResponseReturnValue:
    """The 20 hottest villages as GeoJSON polygons with the table's figures."""
    query, result = _request_analysis()
    top = result.top()
    frame = gpd.GeoDataFrame(
        pd.DataFrame(top_rows(result)),
        geometry=top["geometry"].to_numpy(),
        crs="EPSG:4326",
    )
    response = _geojson(
        feature_collection(frame, list(TOP_COLUMNS), simplify_tolerance=TOLERANCE[query.level]),
        **_meta(query, result),
    )
    response.headers["Content-Disposition"] = "attachment; filename=hotspot_villages_top20.geojson"
    return response
