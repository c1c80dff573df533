"""The road table: replaced whole by an import, read whole (in metres) for routing."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy import delete, insert, text
from sqlalchemy.orm import Session

from models.schema import Road

__all__ = ["current_batch", "replace_roads", "road_lines", "road_sources", "roads_geojson"]


def replace_roads(session: Session, roads: gpd.GeoDataFrame, *, batch_id: int | None) -> int:
    """Replace every road by ``roads`` (EPSG:4326; ``road_class, name, speed_kmh, source``)."""
    session.execute(delete(Road))
    wkt = shapely.to_wkt(roads.geometry.to_numpy(), rounding_precision=7)
    rows = [
        {
            "road_class": c,
            "name": n,
            "speed_kmh": float(v),
            "source": s,
            "batch_id": batch_id,
            "geom": f"SRID=4326;{w}",
        }
        for c, n, v, s, w in zip(
            roads["road_class"],
            roads["name"],
            roads["speed_kmh"],
            roads["source"],
            wkt,
            strict=True,
        )
    ]
    if rows:
        session.execute(insert(Road), rows)
    return len(rows)


def current_batch(session: Session) -> int | None:
    """The import batch the current roads came from (None without roads)."""
    found = session.execute(text("SELECT max(batch_id) FROM road")).scalar_one()
    return None if found is None else int(found)


def road_lines(session: Session) -> gpd.GeoDataFrame:
    """Every road in EPSG:4546 with ``road_class`` and ``speed_kmh`` (empty when none)."""
    return gpd.read_postgis(
        text(
            "SELECT id, road_class, speed_kmh, ST_Transform(geom, 4546) AS geom FROM road ORDER BY id"
        ),
        session.connection(),
        geom_col="geom",
        crs="EPSG:4546",
    )


def road_sources(session: Session) -> list[str]:
    """Where the roads came from (``source`` values), e.g. to label synthetic ones."""
    rows = session.execute(text("SELECT DISTINCT source FROM road WHERE source IS NOT NULL"))
    return [str(r[0]) for r in rows]


def roads_geojson(
    session: Session, generation_id: int, *, prefix: str, tolerance: float = 0.0002
) -> dict[str, Any]:
    """Roads within the bounding box of an area's villages, simplified, as a FeatureCollection."""
    features = session.execute(
        text(
            """
            SELECT coalesce(json_agg(json_build_object(
                     'type', 'Feature',
                     'properties', json_build_object('class', r.road_class, 'name', r.name),
                     'geometry', ST_AsGeoJSON(ST_Simplify(r.geom, :tol), 5)::json)), '[]'::json)
            FROM road r
            WHERE r.geom && (SELECT ST_Extent(geom) FROM admin_unit
                             WHERE generation_id = :g AND level = 'village' AND code LIKE :p)
            """
        ),
        {"g": generation_id, "p": prefix + "%", "tol": tolerance},
    ).scalar_one()
    return {"type": "FeatureCollection", "features": features}
