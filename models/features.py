"""Feature queries behind OGC API – Features and the exports: one source per layer.

Every query takes the caller's area prefix, so no layer can be read outside the area of the
user or token asking. GeoJSON text is built inside PostGIS and handed on as text: paging
through the 47,224 groups never parses or re-serialises a geometry in Python.

Case counts are aggregates only (cases per village and month) and counts under
:data:`MIN_COUNT` are masked in SQL, before anything leaves the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.density import MIN_COUNT

UNIT_LEVELS = ("county", "township", "village", "group")


@dataclass(frozen=True)
class Source:
    """How one layer is read: FROM clause, id, geometry, properties and what may filter it.

    ``props`` maps an output property name to its SQL expression; ``queryables`` names the
    properties a client may filter by equality. ``temporal`` is a (start, end) pair of SQL
    date expressions (end exclusive) or None when the layer has no time.
    """

    table: str
    key: str
    key_type: str  # "text" or "int": how a paging cursor or feature id is compared
    geom: str
    area: str  # the statistical code the area scope is applied to
    where: str = "TRUE"
    props: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)  # property -> "str" | "int" | "date"
    queryables: tuple[str, ...] = ()
    temporal: tuple[str, str] | None = None
    geometry_type: str = "MultiPolygon"
    # Sources that aggregate before they page bind ``:key_floor`` (the cursor's first
    # ``floor_length`` characters, '' without one) so later pages aggregate less; their ids
    # begin with the ``area`` code's first ``floor_length`` characters.
    floor_length: int = 0
    # ORDER BY, when the key's order can be written in a form the planner streams.
    order: str = ""
    # FROM clause for numberMatched when ``table`` streams but counts slowly (same aliases).
    count_table: str = ""

    @property
    def order_by(self) -> str:
        """The ORDER BY list: ``order`` or the key."""
        return self.order or self.key


def unit_source(level: str) -> Source:
    """Counties, townships, villages or villager groups of the generation ``:gen``."""
    if level not in UNIT_LEVELS:
        msg = f"unknown level {level!r}; expected one of {', '.join(UNIT_LEVELS)}"
        raise ValueError(msg)
    return Source(
        table="admin_unit u LEFT JOIN admin_unit p ON p.id = u.parent_id",
        key="u.code",
        key_type="text",
        geom="u.geom",
        area="u.code",
        where=f"u.generation_id = :gen AND u.level = '{level}'",
        props={
            "code": "u.code",
            "name": "u.name",
            "parent_code": "p.code",
            "parent_name": "p.name",
            "county_code": "u.county_code",
            "households": "u.households",
            "population": "u.population",
        },
        types={"households": "int", "population": "int"},
        queryables=("code", "name", "parent_code", "county_code"),
    )


STATIONS = Source(
    table="station s JOIN admin_unit v ON v.id = s.unit_id",
    key="s.id",
    key_type="int",
    geom="s.geom",
    area="v.code",
    where="v.generation_id = :gen",
    props={
        "name": "s.name",
        "village_code": "v.code",
        "village_name": "v.name",
        "county_code": "s.county_code",
        "address": "s.address",
        "head": "s.head",
        "phone": "s.phone",
        "opened_on": "s.opened_on",
        "location_source": "s.location_source",
    },
    types={"opened_on": "date"},
    queryables=("name", "village_code", "county_code"),
    temporal=("s.opened_on", "s.opened_on + 1"),
    geometry_type="Point",
)

TEAMS = Source(
    table="team t JOIN admin_unit u ON u.id = t.unit_id",
    key="t.id",
    key_type="int",
    geom="t.home",
    area="u.code",
    where="u.generation_id = :gen",
    props={
        "name": "t.name",
        "township_code": "u.code",
        "township_name": "u.name",
        "county_code": "t.county_code",
        "leader": "t.leader",
        "members": "t.members",
    },
    types={"members": "int"},
    queryables=("name", "township_code", "county_code"),
    geometry_type="Point",
)

# Cases per village and month, counted where the case was attributed (its own generation's
# village code) and drawn at a point inside the village of generation :gen. Counts under
# MIN_COUNT are NULL with cases_text '<5'; no filter may touch the raw count.
#
# Villages are walked in code order and each one's cases counted by month through the
# village-code index (a LATERAL per village), so a page stops after ``limit`` village-months
# instead of aggregating all 222k cases first: the cost of a page follows its size, and a
# cursor starts the walk at its village (``:key_floor``). The count cube (models.case_cube) is
# no cheaper here: its grain (day, kind, status, H3 cells) keeps ~1 row per case.
CASE_COUNTS = Source(
    table=f"""admin_unit v
    CROSS JOIN LATERAL (
        SELECT date_trunc('month', c.opened_on)::date AS month, count(*) AS n
        FROM case_record c WHERE c.village_code = v.code GROUP BY 1
    ) cc
    CROSS JOIN LATERAL (SELECT v.code || '-' || to_char(cc.month, 'YYYY-MM') AS fid,
                               CASE WHEN cc.n >= {MIN_COUNT} THEN cc.n END AS cases) k""",
    key="k.fid",
    key_type="text",
    geom="ST_PointOnSurface(v.geom)",
    area="v.code",
    where="v.generation_id = :gen AND v.level = 'village' AND v.code >= :key_floor",
    props={
        "village_code": "v.code",
        "village_name": "v.name",
        "county_code": "v.county_code",
        "month": "to_char(cc.month, 'YYYY-MM')",
        "cases": "k.cases",
        "cases_text": f"coalesce(k.cases::text, '<{MIN_COUNT}')",
    },
    types={"cases": "int"},
    queryables=("village_code", "county_code", "month"),
    temporal=("cc.month", "(cc.month + interval '1 month')::date"),
    geometry_type="Point",
    floor_length=12,
    # The same order as the key (12-digit codes, then YYYY-MM), in terms the planner can
    # stream: villages by the code index, months sorted within each village.
    order="v.code, cc.month",
    # Counting walks no village one by one: one hash aggregate of the area's cases.
    count_table=f"""admin_unit v
    JOIN (
        SELECT c.village_code, date_trunc('month', c.opened_on)::date AS month, count(*) AS n
        FROM case_record c WHERE c.village_code LIKE :prefix GROUP BY 1, 2
    ) cc ON cc.village_code = v.code
    CROSS JOIN LATERAL (SELECT v.code || '-' || to_char(cc.month, 'YYYY-MM') AS fid,
                               CASE WHEN cc.n >= {MIN_COUNT} THEN cc.n END AS cases) k""",
)


@dataclass(frozen=True)
class Query:
    """What a client asked of a layer, already checked (see webmap.services.ogc)."""

    prefix: str = ""
    # (west, south, east, north); west > east crosses the antimeridian.
    bbox: tuple[float, float, float, float] | None = None
    # [t0, t1) as naive UTC datetimes; None for an open end.
    interval: tuple[dt.datetime | None, dt.datetime | None] | None = None
    filters: dict[str, str] = field(default_factory=dict)
    after: str | None = None
    offset: int = 0
    limit: int = 100


def _where(source: Source, query: Query, params: dict[str, Any]) -> str:
    clauses = [source.where, f"{source.area} LIKE :prefix"]
    params["prefix"] = query.prefix + "%"
    params["key_floor"] = ""
    if query.bbox is not None:
        clauses.append(_bbox_clause(source.geom, query.bbox))
        params.update(dict(zip("wsen", query.bbox, strict=True)))
    if query.interval is not None and source.temporal is not None:
        # The feature's [start, end) meets the asked [t0, t1) (either end may be open).
        t0, t1 = query.interval
        if t0 is not None:
            clauses.append(f"{source.temporal[1]} > :t0")
            params["t0"] = t0
        if t1 is not None:
            clauses.append(f"{source.temporal[0]} < :t1")
            params["t1"] = t1
    for i, (name, value) in enumerate(sorted(query.filters.items())):
        if name not in source.queryables:
            msg = f"{name!r} is not a queryable property"
            raise ValueError(msg)
        clauses.append(f"({source.props[name]})::text = :q{i}")
        params[f"q{i}"] = value
    return " AND ".join(f"({c})" for c in clauses)


def _bbox_clause(geom: str, bbox: tuple[float, float, float, float]) -> str:
    """Where ``geom`` meets the box ``:w, :s, :e, :n``; a box with west east of east crosses
    the antimeridian and is the two boxes either side of it."""
    if bbox[0] <= bbox[2]:
        return f"ST_Intersects({geom}, ST_MakeEnvelope(:w, :s, :e, :n, 4326))"
    return (
        f"ST_Intersects({geom}, ST_MakeEnvelope(:w, :s, 180, :n, 4326))"
        f" OR ST_Intersects({geom}, ST_MakeEnvelope(-180, :s, :e, :n, 4326))"
    )


def _feature_sql(source: Source) -> str:
    props = ", ".join(f"'{name}', {expr}" for name, expr in source.props.items())
    return (
        f"""'{{"type":"Feature","id":' || to_json({source.key})::text"""
        f""" || ',"geometry":' || coalesce(ST_AsGeoJSON({source.geom}, 7), 'null')"""
        f""" || ',"properties":' || json_build_object({props})::text || '}}'"""
    )


def _key_param(source: Source, value: str) -> Any:
    return int(value) if source.key_type == "int" else value


def feature_page(
    session: Session, source: Source, query: Query, *, params: dict[str, Any]
) -> tuple[list[str], str | None]:
    """One page of features as GeoJSON texts, and the cursor of the next page (or None).

    ``params`` carries the source's own bind values (``gen``). Pages are keyset pages on the
    layer's id (``after``), so the 47th page costs what the first does; ``offset`` is honoured
    too for clients that page that way.
    """
    params = dict(params)
    where = _where(source, query, params)
    if query.after is not None:
        where += f" AND {source.key} > :after"
        params["after"] = _key_param(source, query.after)
        params["key_floor"] = query.after[: source.floor_length]
    sql = (
        f"SELECT {source.key} AS k, {_feature_sql(source)} AS f FROM {source.table}"
        f" WHERE {where} ORDER BY {source.order_by} LIMIT :page_size OFFSET :page_offset"
    )
    params.update(page_size=query.limit + 1, page_offset=query.offset)
    rows = session.execute(text(sql), params).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return [r.f for r in rows], (str(rows[-1].k) if more and rows else None)


def count_features(
    session: Session, source: Source, query: Query, *, params: dict[str, Any]
) -> int:
    """How many features match (without paging)."""
    params = dict(params)
    where = _where(source, query, params)
    sql = f"SELECT count(*) FROM {source.count_table or source.table} WHERE {where}"
    return int(session.execute(text(sql), params).scalar_one())


def one_feature(
    session: Session, source: Source, feature_id: str, *, prefix: str, params: dict[str, Any]
) -> str | None:
    """One feature as GeoJSON text, or None when it does not exist inside the area."""
    try:
        key = _key_param(source, feature_id)
    except ValueError:
        return None
    params = dict(params)
    where = _where(source, Query(prefix=prefix), params)
    if source.floor_length:
        # The id begins with the unit's code: look in that unit only, not from it onwards.
        where += f" AND {source.area} = :id_head"
        params["id_head"] = feature_id[: source.floor_length]
    sql = f"SELECT {_feature_sql(source)} FROM {source.table} WHERE {where} AND {source.key} = :id"
    params["id"] = key
    return session.execute(text(sql), params).scalar_one_or_none()


def feature_rows(
    session: Session, source: Source, query: Query, *, params: dict[str, Any], chunk: int = 20000
) -> Iterator[tuple[Any, ...]]:
    """Every matching feature as (properties..., WKB), in id order: the exports' reader.

    Rows stream from a server-side cursor so an export of every group never holds two
    copies of the layer in memory.
    """
    params = dict(params)
    where = _where(source, query, params)
    cols = ", ".join(f"{expr} AS {name}" for name, expr in source.props.items())
    sql = (
        f"SELECT {cols}, ST_AsBinary({source.geom}) AS wkb FROM {source.table}"
        f" WHERE {where} ORDER BY {source.order_by}"
    )
    result = session.execute(text(sql).execution_options(yield_per=chunk), params)
    for part in result.partitions():
        yield from (tuple(r) for r in part)


def feature_texts(
    session: Session, source: Source, query: Query, *, params: dict[str, Any], chunk: int = 20000
) -> Iterator[str]:
    """Every matching feature as GeoJSON text (as /ogc/ serves it), in id order, streamed."""
    params = dict(params)
    where = _where(source, query, params)
    sql = (
        f"SELECT {_feature_sql(source)} FROM {source.table} WHERE {where}"
        f" ORDER BY {source.order_by}"
    )
    result = session.execute(text(sql).execution_options(yield_per=chunk), params)
    for part in result.partitions():
        yield from (r[0] for r in part)


def extent(
    session: Session, generation_id: int, *, prefix: str
) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of the area ``prefix`` in the generation, from its counties
    (or the area's own units when the area is smaller than a county)."""
    level = {2: "county", 4: "county", 6: "county", 9: "township"}.get(len(prefix), "village")
    if len(prefix) > 12:
        level = "group"
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
            " SELECT ST_Extent(geom) AS e FROM admin_unit"
            " WHERE generation_id = :g AND level = :level AND code LIKE :p) s"
        ),
        {"g": generation_id, "level": level, "p": prefix + "%"},
    ).one()
    return None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def case_months(session: Session) -> tuple[dt.date, dt.date] | None:
    """First and last day with a case, for the case counts' temporal extent."""
    row = session.execute(text("SELECT min(opened_on), max(opened_on) FROM case_record")).one()
    return None if row[0] is None else (row[0], row[1])


def generations(session: Session) -> list[tuple[int, str, bool]]:
    """(id, name, active) of every boundary generation, oldest first."""
    rows = session.execute(text("SELECT id, name, active FROM generation ORDER BY id")).all()
    return [(int(r[0]), str(r[1]), bool(r[2])) for r in rows]
