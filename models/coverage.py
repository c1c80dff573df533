"""Read queries behind the planners' coverage measures: groups, stations and activity per group.

Aggregation happens in PostGIS (one set-based query each); ``geo.coverage`` does the rest.
Locations come out in EPSG:4546 metres, the frame every distance is measured in.

Officers, cases and visits are attached to the units of the generation they were imported
under.  When the planner looks at another generation, each such unit is carried to the group
of that generation that holds its representative point (a crosswalk built in SQL).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["activity", "as_of", "generations", "groups", "stations", "unit_names", "unit_shapes"]

METRIC_SRID = 4546


def _area(prefix: str) -> dict[str, Any]:
    # The county column is indexed on every table: filter on it when the area is a county or
    # smaller, then on the code prefix.
    return {"p": prefix + "%", "county": prefix[:6] if len(prefix) >= 6 else None}


def groups(session: Session, generation_id: int, *, prefix: str = "") -> pd.DataFrame:
    """Villager groups of a generation under ``prefix``, with a representative point (m)."""
    sql = text(
        f"""
        SELECT a.code, a.name, a.county_code,
               left(a.code, 9) || '000' AS township_code, left(a.code, 12) AS village_code,
               coalesce(a.households, 0) AS households,
               ST_X(p) AS x, ST_Y(p) AS y
        FROM admin_unit a,
             LATERAL ST_Transform(ST_PointOnSurface(a.geom), {METRIC_SRID}) AS p
        WHERE a.generation_id = :g AND a.level = 'group' AND a.code LIKE :p
          AND (CAST(:county AS text) IS NULL OR a.county_code = :county)
        ORDER BY a.code
        """
    )
    params = {"g": generation_id, **_area(prefix)}
    return pd.read_sql(sql, session.connection(), params=params)


def unit_names(session: Session, generation_id: int, codes: list[str]) -> dict[str, str]:
    """Names of the units of a generation with these codes."""
    rows = session.execute(
        text("SELECT code, name FROM admin_unit WHERE generation_id = :g AND code = ANY(:c)"),
        {"g": generation_id, "c": codes},
    )
    return {str(row[0]): str(row[1]) for row in rows}


def stations(session: Session, generation_id: int) -> pd.DataFrame:
    """Every station of the generation (not only the area's: the nearest may lie outside)."""
    sql = text(
        f"""
        SELECT v.code AS station_code, s.name, s.county_code,
               ST_X(p) AS x, ST_Y(p) AS y
        FROM station s JOIN admin_unit v ON v.id = s.unit_id,
             LATERAL ST_Transform(s.geom, {METRIC_SRID}) AS p
        WHERE v.generation_id = :g
        ORDER BY v.code
        """
    )
    return pd.read_sql(sql, session.connection(), params={"g": generation_id})


def as_of(session: Session) -> pd.Timestamp:
    """The day measures are taken on: the latest visit or case in the data, else today.

    The data are imported in batches weeks after the fact; counting "days since the last
    visit" from the wall clock would make every group look stale between imports.
    """
    row = session.execute(
        text(
            "SELECT coalesce(((SELECT max(visited_at) FROM visit) AT TIME ZONE 'Asia/Shanghai')::date,"
            " (SELECT max(opened_on) FROM case_record))"
        )
    ).scalar_one()
    return pd.Timestamp(row or dt.date.today())


# Each table is aggregated by its own unit id first (integer keys, one pass each), then carried
# to the generation's groups: ~1 s on 1.6M visits where joining every visit row to the
# crosswalk first took 10 s.  Only units the aggregates name and that belong to another
# generation go through the point-in-polygon crosswalk: none when the active generation is
# viewed, and no extra pass over the visits to find out which generations are in use.
_ACTIVITY = """
    WITH
    o AS (SELECT unit_id, count(*) AS n FROM officer GROUP BY 1),
    c AS (SELECT unit_id, count(*) AS n FROM case_record
          WHERE opened_on >= CAST(:need AS date) AND opened_on < CAST(:end AS date) GROUP BY 1),
    vl AS (SELECT unit_id, max(visited_at) AS last,
                  count(*) FILTER (WHERE visited_at >= :need) AS n
           FROM visit WHERE visited_at < :end GROUP BY 1),
    vh AS (SELECT unit_id, count(*) AS n FROM (
               SELECT DISTINCT unit_id, household FROM visit
               WHERE visited_at >= :window AND visited_at < :end) d
           GROUP BY 1),
    vd AS (SELECT DISTINCT unit_id, (visited_at AT TIME ZONE 'Asia/Shanghai')::date AS day
           FROM visit WHERE visited_at >= :window AND visited_at < :end),
    used AS (SELECT unit_id FROM o UNION SELECT unit_id FROM c UNION SELECT unit_id FROM vl),
    xwalk AS (
        SELECT id AS src, code AS dst FROM admin_unit
        WHERE generation_id = :g AND level = 'group' AND code LIKE :p
        UNION ALL
        (SELECT DISTINCT ON (s.id) s.id, t.code
         FROM admin_unit s
         JOIN admin_unit t ON ST_Intersects(t.geom, ST_PointOnSurface(s.geom))
         WHERE s.id IN (SELECT unit_id FROM used)
           AND s.level = 'group' AND s.generation_id <> :g
           AND t.level = 'group' AND t.generation_id = :g AND t.code LIKE :p
         ORDER BY s.id, t.id)
    ),
    per AS (SELECT x.dst, coalesce(sum(o.n), 0) AS officers, coalesce(sum(c.n), 0) AS cases,
                   coalesce(sum(vl.n), 0) AS visits, max(vl.last) AS last_visit,
                   coalesce(sum(vh.n), 0) AS households_visited
            FROM xwalk x
            LEFT JOIN o ON o.unit_id = x.src LEFT JOIN c ON c.unit_id = x.src
            LEFT JOIN vl ON vl.unit_id = x.src LEFT JOIN vh ON vh.unit_id = x.src
            GROUP BY x.dst),
    days AS (SELECT left(x.dst, 12) AS village_code, count(DISTINCT vd.day) AS n
             FROM vd JOIN xwalk x ON x.src = vd.unit_id GROUP BY 1)
    SELECT per.dst AS code, officers, cases, visits, households_visited,
           last_visit AT TIME ZONE 'Asia/Shanghai' AS last_visit,
           coalesce(days.n, 0) AS village_visit_days
    FROM per LEFT JOIN days ON days.village_code = left(per.dst, 12)
"""


def activity(
    session: Session,
    generation_id: int,
    *,
    prefix: str = "",
    as_of: pd.Timestamp,
    window_days: int,
    need_days: int,
) -> pd.DataFrame:
    """Officers, cases, visits, households visited, last visit and village visit days per group.

    Indexed by the group code of ``generation_id``, one row per group of the area.  The area
    is applied to the crosswalk, not to the activity tables' county codes: a county may
    change its code between generations (邵东县 430521 became 邵东市 430582).
    """
    day = as_of.to_pydatetime()
    params = _area(prefix) | {
        "g": generation_id,
        "end": day + dt.timedelta(days=1),
        "window": day + dt.timedelta(days=1 - window_days),
        "need": day + dt.timedelta(days=1 - need_days),
    }
    # The planner cannot estimate the CTE joins (it guesses billions of rows) and would spend
    # seconds JIT-compiling a query that runs in one.
    session.execute(text("SET LOCAL jit = off"))
    frame = pd.read_sql(text(_ACTIVITY), session.connection(), params=params)
    frame["last_visit"] = pd.to_datetime(frame["last_visit"])
    return frame.set_index("code")


def unit_shapes(
    session: Session,
    generation_id: int,
    *,
    level: str,
    prefix: str = "",
    tolerance: float = 0.0,
) -> pd.DataFrame:
    """Code, name and simplified outline (GeoJSON text, 5 decimals) of the units of a level.

    Groups come as their representative point: 47,224 outlines are more than any map or
    client needs for a measure taken at that point.
    """
    geom = (
        "ST_PointOnSurface(u.geom)"
        if level == "group"
        else "CASE WHEN :tol > 0 THEN ST_SimplifyPreserveTopology(u.geom, :tol) ELSE u.geom END"
    )
    sql = text(
        f"""
        SELECT u.code, u.name, ST_AsGeoJSON({geom}, 5) AS geometry
        FROM admin_unit u
        WHERE u.generation_id = :g AND u.level = :level AND u.code LIKE :p
        ORDER BY u.code
        """
    )
    params = {"g": generation_id, "level": level, "p": prefix + "%", "tol": tolerance}
    return pd.read_sql(sql, session.connection(), params=params)


def generations(session: Session) -> list[tuple[int, str, bool]]:
    """(id, name, active) of every generation, oldest first."""
    rows = session.execute(text("SELECT id, name, active FROM generation ORDER BY valid_from, id"))
    return [(int(i), str(n), bool(a)) for i, n, a in rows]


def village_points(session: Session, generation_id: int, *, prefix: str = "") -> pd.DataFrame:
    """Code, name and representative point (EPSG:4546 metres) of the villages under ``prefix``:
    the default candidate sites for a new station."""
    sql = text(
        f"""
        SELECT a.code, a.name, ST_X(p) AS x, ST_Y(p) AS y
        FROM admin_unit a,
             LATERAL ST_Transform(ST_PointOnSurface(a.geom), {METRIC_SRID}) AS p
        WHERE a.generation_id = :g AND a.level = 'village' AND a.code LIKE :p
        ORDER BY a.code
        """
    )
    return pd.read_sql(sql, session.connection(), params={"g": generation_id, "p": prefix + "%"})


def unit_list(
    session: Session, generation_id: int, *, level: str, prefix: str = ""
) -> list[tuple[str, str]]:
    """(code, name) of the units of one level under ``prefix``: the page's filter choices."""
    rows = session.execute(
        text(
            "SELECT code, name FROM admin_unit WHERE generation_id = :g AND level = :level"
            " AND code LIKE :p ORDER BY code"
        ),
        {"g": generation_id, "level": level, "p": prefix + "%"},
    )
    return [(str(r[0]), str(r[1])) for r in rows]


def unit_bounds(
    session: Session, generation_id: int, codes: list[str]
) -> dict[str, list[list[float]]]:
    """[[south, west], [north, east]] of each unit: where a click on a table row zooms to."""
    rows = session.execute(
        text(
            "SELECT code, ST_YMin(b), ST_XMin(b), ST_YMax(b), ST_XMax(b)"
            " FROM (SELECT code, Box2D(geom) AS b FROM admin_unit"
            "       WHERE generation_id = :g AND code = ANY(:c)) s"
        ),
        {"g": generation_id, "c": codes},
    )
    return {
        str(r[0]): [[round(r[1], 5), round(r[2], 5)], [round(r[3], 5), round(r[4], 5)]]
        for r in rows
    }
