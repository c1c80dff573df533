"""Read queries on places: administrative units (codes, outlines, lookup) and stations.

What the map pages, the API and the services read about the network's units and stations.
GeoJSON is built inside PostGIS (simplified and rounded there) so that pages get only what a
view needs and Python never loops over features.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models.schema import LEVELS, AdminUnit

# One definition of the active generation, in models.units; re-exported for the views.
from models.units import active_generation as active_generation

CITY_CODE = "430500000000"


def area_prefix(code: str) -> str:
    """The code prefix shared by every unit inside the unit ``code``.

    Statistical codes are province(2) city(2) county(2) township(3) village(3) [group(3)].

    >>> area_prefix("430500000000")
    '4305'
    >>> area_prefix("430521100000")
    '430521100'
    >>> area_prefix("430521100201003")
    '430521100201003'
    """
    if len(code) > 12:
        return code
    cuts = (2, 4, 6, 9, 12)
    for cut in cuts:
        if set(code[cut:]) <= {"0"}:
            return code[:cut]
    return code


def level_of(code: str) -> str:
    """The level of a statistical code, read from its length and trailing zeros.

    >>> [level_of(c) for c in ("430500000000", "430521000000", "430521100000", "430521100201")]
    ['city', 'county', 'township', 'village']
    >>> level_of("430521100201003")
    'group'
    """
    if len(code) == 15:
        return "group"
    prefix = area_prefix(code)
    by_length = {2: "province", 4: "city", 6: "county", 9: "township", 12: "village"}
    return by_length[len(prefix)]


def extent(
    session: Session, generation_id: int, *, prefix: str = "", level: str = "county"
) -> tuple[float, ...] | None:
    """(west, south, east, north) of the units of ``level`` under ``prefix``, or None."""
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
            " SELECT ST_Extent(geom) AS e FROM admin_unit"
            " WHERE generation_id = :g AND level = :level AND code LIKE :p) s"
        ),
        {"g": generation_id, "p": prefix + "%", "level": level},
    ).one()
    return None if row[0] is None else tuple(float(v) for v in row)


def units_geojson(
    session: Session,
    generation_id: int,
    *,
    level: str,
    prefix: str = "",
    bbox: tuple[float, float, float, float] | None = None,
    tolerance: float = 0.0,
    limit: int = 20000,
) -> dict[str, Any]:
    """A FeatureCollection of the units of one level, simplified by ``tolerance`` degrees.

    Properties are ``code``, ``name`` and ``parent`` (the parent's code); coordinates have
    five decimals (about 1 m), which is all a screen needs.
    """
    if level not in LEVELS:
        msg = f"unknown level {level!r}; expected one of {', '.join(LEVELS)}"
        raise ValueError(msg)
    where = ["u.generation_id = :g", "u.level = :level", "u.code LIKE :p"]
    params: dict[str, Any] = {
        "g": generation_id,
        "level": level,
        "p": prefix + "%",
        "tol": tolerance,
    }
    if bbox is not None:
        where.append("u.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)")
        params.update(dict(zip("wsen", bbox, strict=True)))
    sql = f"""
        SELECT coalesce(json_agg(json_build_object(
                 'type', 'Feature',
                 'properties', json_build_object('code', u.code, 'name', u.name, 'parent', p.code),
                 'geometry', ST_AsGeoJSON(
                     CASE WHEN :tol > 0 THEN ST_SimplifyPreserveTopology(u.geom, :tol)
                          ELSE u.geom END, 5)::json
               ) ORDER BY u.code), '[]'::json)
        FROM (SELECT * FROM admin_unit u WHERE {" AND ".join(where)} ORDER BY u.code LIMIT {int(limit)}) u
        LEFT JOIN admin_unit p ON p.id = u.parent_id
    """
    features = session.execute(text(sql), params).scalar_one()
    return {"type": "FeatureCollection", "features": features}


def parent_names(session: Session, generation_id: int, *, prefix: str = "") -> dict[str, str]:
    """Names of the counties and townships that contain units under ``prefix``, by code."""
    rows = session.execute(
        text(
            "SELECT code, name FROM admin_unit WHERE generation_id = :g"
            " AND level IN ('county', 'township') AND code LIKE :p"
        ),
        # A county's code lies outside a township's prefix: match on the county's digits.
        {"g": generation_id, "p": prefix[:6] + "%"},
    ).all()
    return {str(code): str(name) for code, name in rows}


def area_outline(
    session: Session,
    generation_id: int,
    *,
    level: str,
    prefix: str = "",
    tolerance: float = 0.0,
) -> dict[str, Any] | None:
    """The outline of an area as one GeoJSON geometry: its units of ``level`` merged.

    A map clips what it draws to this (the city is its counties merged); None when no unit
    of ``level`` lies under ``prefix``.
    """
    if level not in LEVELS:
        msg = f"unknown level {level!r}; expected one of {', '.join(LEVELS)}"
        raise ValueError(msg)
    geometry: dict[str, Any] | None = session.execute(
        text(
            "SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(ST_Union(geom), :tol), 5)::json"
            " FROM admin_unit WHERE generation_id = :g AND level = :level AND code LIKE :p"
        ),
        {"g": generation_id, "level": level, "p": prefix + "%", "tol": tolerance},
    ).scalar_one()
    return geometry


def stations_compact(session: Session, generation_id: int, *, prefix: str = "") -> list[list[Any]]:
    """Every station as ``[id, lon, lat]`` (5 decimals): the smallest form a city map can carry."""
    rows = session.execute(
        text(
            "SELECT s.id, round(ST_X(s.geom)::numeric, 5), round(ST_Y(s.geom)::numeric, 5)"
            " FROM station s JOIN admin_unit u ON u.id = s.unit_id"
            " WHERE u.generation_id = :g AND u.code LIKE :p ORDER BY s.id"
        ),
        {"g": generation_id, "p": prefix + "%"},
    ).all()
    return [[r[0], float(r[1]), float(r[2])] for r in rows]


def station_detail(session: Session, station_id: int) -> dict[str, Any] | None:
    """A station with its village, township, county, groups, officer count and team."""
    row = (
        session.execute(
            text(
                """
            SELECT s.id, s.name, s.address, s.head, s.opened_on,
                   ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
                   v.id AS vid, v.code AS vcode, v.name AS vname,
                   t.id AS tid, t.code AS tcode, t.name AS tname,
                   c.code AS ccode, c.name AS cname
            FROM station s
            JOIN admin_unit v ON v.id = s.unit_id
            LEFT JOIN admin_unit t ON t.id = v.parent_id
            LEFT JOIN admin_unit c ON c.id = t.parent_id
            WHERE s.id = :id
            """
            ),
            {"id": station_id},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        return None
    groups = (
        session.execute(
            text(
                "SELECT g.code, g.name, g.households, count(o.id) AS officers"
                " FROM admin_unit g LEFT JOIN officer o ON o.unit_id = g.id"
                " WHERE g.parent_id = :vid GROUP BY g.id ORDER BY g.code"
            ),
            {"vid": row["vid"]},
        )
        .mappings()
        .all()
    )
    teams = (
        session.execute(
            text("SELECT name, leader, members FROM team WHERE unit_id = :tid ORDER BY name"),
            {"tid": row["tid"]},
        )
        .mappings()
        .all()
    )
    return {
        "id": row["id"],
        "name": row["name"],
        "address": row["address"],
        "head": row["head"],
        "opened_on": row["opened_on"].isoformat() if row["opened_on"] else None,
        "lon": round(row["lon"], 6),
        "lat": round(row["lat"], 6),
        "village": {"code": row["vcode"], "name": row["vname"]},
        "township": {"code": row["tcode"], "name": row["tname"]},
        "county": {"code": row["ccode"], "name": row["cname"]},
        "groups": [dict(g) for g in groups],
        "officers": sum(g["officers"] for g in groups),
        "teams": [dict(t) for t in teams],
    }


def units_at(
    session: Session, lon: float, lat: float, *, generation_id: int
) -> list[dict[str, Any]]:
    """Every unit of the generation containing the point, from county down to group."""
    rows = (
        session.execute(
            text(
                "SELECT level, code, name FROM admin_unit"
                " WHERE generation_id = :g AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
                " ORDER BY length(code), code"
            ),
            {"g": generation_id, "x": lon, "y": lat},
        )
        .mappings()
        .all()
    )
    order = {level: i for i, level in enumerate(LEVELS)}
    return sorted((dict(r) for r in rows), key=lambda r: order[r["level"]])


def level_counts(session: Session, generation_id: int, *, prefix: str = "") -> dict[str, int]:
    """How many units of each level lie under ``prefix`` in the generation."""
    rows = session.execute(
        select(AdminUnit.level, text("count(*)"))
        .where(AdminUnit.generation_id == generation_id, AdminUnit.code.startswith(prefix))
        .group_by(AdminUnit.level)
    ).all()
    return {level: int(n) for level, n in rows}


def first_unit_code(session: Session, generation_id: int, *, level: str) -> str | None:
    """The smallest code of the generation's units of ``level`` (e.g. a demo user's area)."""
    return session.scalar(
        select(AdminUnit.code)
        .where(AdminUnit.generation_id == generation_id, AdminUnit.level == level)
        .order_by(AdminUnit.code)
        .limit(1)
    )
