"""Mapbox Vector Tiles of unit outlines from PostGIS (``ST_AsMVT``), measured against GeoJSON.

Used by bench/mvt_bench.py to decide whether the network map should load villages and groups
as vector tiles instead of GeoJSON per bounding box (see /work/notes/ogc.md for the figures).
"""

from __future__ import annotations

import math

from sqlalchemy import text
from sqlalchemy.orm import Session

_TILE_SQL = text(
    """
    WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env),
    mvtgeom AS (
      SELECT ST_AsMVTGeom(ST_Transform(u.geom, 3857), b.env, 4096, 64, true) AS geom,
             u.code, u.name, p.code AS parent
      FROM admin_unit u CROSS JOIN bounds b
      LEFT JOIN admin_unit p ON p.id = u.parent_id
      WHERE u.generation_id = :g AND u.level = :level AND u.code LIKE :p
        AND u.geom && ST_Transform(b.env, 4326)
    )
    SELECT ST_AsMVT(mvtgeom, :level, 4096, 'geom') FROM mvtgeom WHERE geom IS NOT NULL
    """
)


def unit_tile(
    session: Session, generation_id: int, *, level: str, z: int, x: int, y: int, prefix: str = ""
) -> bytes:
    """One vector tile (layer named after ``level``) of the units inside the area ``prefix``."""
    data = session.execute(
        _TILE_SQL, {"g": generation_id, "level": level, "p": prefix + "%", "z": z, "x": x, "y": y}
    ).scalar_one()
    return bytes(data or b"")


def tiles_covering(bbox: tuple[float, float, float, float], z: int) -> list[tuple[int, int, int]]:
    """The (z, x, y) web-mercator tiles a lon/lat box touches.

    >>> tiles_covering((111.40, 27.20, 111.45, 27.25), 12)
    [(12, 3315, 1725), (12, 3315, 1726), (12, 3316, 1725), (12, 3316, 1726)]
    """
    w, s, e, n = bbox

    def tile(lon: float, lat: float) -> tuple[int, int]:
        scale = 2**z
        x = int((lon + 180.0) / 360.0 * scale)
        rad = math.radians(lat)
        y = int((1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * scale)
        return x, y

    x0, y0 = tile(w, n)
    x1, y1 = tile(e, s)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
