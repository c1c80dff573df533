"""geo.attribution: the lowest-id group covering a point, checked against GEOS and PostGIS.

The PostGIS check places points exactly on shared borders, on vertices and inside the ~1e-9
degree slivers where neighbouring groups overlap (FIELD-NOTES), and compares the in-process
answer with ``ST_Covers`` + lowest id, as :func:`models.activity.reattribute` and review
resolution ask it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text

from geo.attribution import GroupIndex, lowest_covering
from models import activity
from models.db import transaction


def _units(*groups):
    """A generation's units frame: one village, then groups (code suffix, polygon) by id."""
    rows = [(1, "village", "430525100201", "430525", None)]
    rows += [
        (10 + i, "group", f"430525100201{suffix}", "430525", shapely.to_wkb(geom))
        for i, (suffix, geom) in enumerate(groups)
    ]
    return pd.DataFrame(rows, columns=["id", "level", "code", "county_code", "wkb"])


def test_group_index_agrees_with_geos_on_holes_parts_borders_and_vertices():
    ring = shapely.Polygon(
        [(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (3, 1), (3, 3), (1, 3)]]
    )
    two_parts = shapely.MultiPolygon([shapely.box(4, 0, 6, 2), shapely.box(4, 3, 6, 4)])
    skew = shapely.Polygon([(0, 4), (6, 4), (3, 7)])
    hole_fill = shapely.box(1, 1, 3, 3)  # fills the ring's hole: its border is shared
    polygons = [skew, ring, two_parts, hole_fill]  # ids 10..13: the lowest id wins a border
    index = GroupIndex.from_units(
        _units(*[(f"{i:03d}", g) for i, g in enumerate(polygons)]), generation_id=1
    )
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-1, 7, 4000), np.repeat(np.arange(-1, 8, 0.5), 19)])
    y = np.concatenate([rng.uniform(-1, 8, 4000), np.tile(np.arange(-1, 8.5, 0.5), 18)])
    vx, vy = shapely.get_coordinates(np.array(polygons, dtype=object)).T
    x, y = (
        np.concatenate([x, vx, (vx[:-1] + vx[1:]) / 2]),
        np.concatenate([y, vy, (vy[:-1] + vy[1:]) / 2]),
    )
    got = index.groups_at(x, y)
    hits = shapely.intersects_xy(np.array(polygons, dtype=object)[:, None], x, y)
    expected = np.where(hits.any(axis=0), hits.argmax(axis=0) + 1, -1)  # +1: the village first
    assert (got == expected).all()
    assert index.groups_at(np.array([2.0]), np.array([1.0]))[0] == 2  # hole border: ring wins
    assert index.groups_at(np.array([5.0]), np.array([2.5]))[0] == -1  # between the two parts
    assert index.groups_at(np.array([np.nan]), np.array([1.0]))[0] == -1


def test_group_index_attributes_codes_and_keeps_geocoded_units():
    index = GroupIndex.from_units(
        _units(("001", shapely.box(0, 0, 1, 1)), ("002", shapely.box(1, 0, 2, 1))),
        generation_id=1,
    )
    units = index.attribute(
        np.array([0.5, 1.0, 9.0, 0.5, 0.5]),
        np.array([0.5, 0.5, 9.0, 0.5, 0.5]),
        [None, None, None, "430525100201", "430525999999"],
    )
    assert units["unit_id"].tolist()[:2] == [10, 10]  # the border point goes to the lower id
    assert units["group_code"].tolist()[:2] == ["430525100201001"] * 2
    assert units["township_code"][0] == "430525100000"
    assert units["unit_id"].isna().tolist() == [False, False, True, False, True]
    assert units.iloc[3].tolist() == [1, "430525", "430525100000", "430525100201", None]
    # The importer writes these columns by name.
    assert units.columns.tolist() == [
        "unit_id", "county_code", "township_code", "village_code", "group_code",
    ]  # fmt: skip


def _sliver_groups() -> list[shapely.Geometry]:
    """A 3x3 block of unit squares whose shared edges do not quite agree.

    Each square's east edge is pushed 2e-9 deg east, so it overlaps its neighbour in a sliver
    2e-9 wide; its north edge is moved by a pseudo-random +-1e-9, so some borders overlap and
    some leave a hairline gap; the middle square is split on a diagonal, giving vertices where
    four groups meet.
    """
    rng = np.random.default_rng(7)
    polygons = []
    for j in range(3):
        for i in range(3):
            x0, y0 = 110.0 + i * 0.01, 27.0 + j * 0.01
            x1, y1 = x0 + 0.01 + 2e-9, y0 + 0.01 + rng.choice([-1e-9, 1e-9])
            if (i, j) == (1, 1):
                polygons.append(shapely.Polygon([(x0, y0), (x1, y0), (x1, y1)]))
                polygons.append(shapely.Polygon([(x0, y0), (x1, y1), (x0, y1)]))
            else:
                polygons.append(shapely.box(x0, y0, x1, y1))
    # Ids are not in the polygons' spatial order: the lowest id must win, not the first drawn.
    order = np.random.default_rng(3).permutation(len(polygons))
    return [polygons[k] for k in order]


def _border_points(polygons: list[shapely.Geometry]) -> tuple[np.ndarray, np.ndarray]:
    """Every vertex, edge midpoints, points a third along each edge, sliver centres, and a
    random scatter."""
    coords = shapely.get_coordinates(np.array(polygons, dtype=object))
    rings = [shapely.get_coordinates(p.exterior) for p in polygons]
    edges = np.concatenate([np.stack([r[:-1], r[1:]], axis=1) for r in rings])
    mids = edges.mean(axis=1)
    thirds = edges[:, 0] + (edges[:, 1] - edges[:, 0]) / 3
    # Half a sliver east of every east edge: inside two overlapping squares.
    sliver = np.column_stack([110.0 + np.arange(1, 3) * 0.01 + 1e-9, np.full(2, 27.005)])
    rng = np.random.default_rng(11)
    scatter = rng.uniform([109.999, 26.999], [110.031, 27.031], size=(3000, 2))
    pts = np.concatenate([coords, mids, thirds, sliver, scatter])
    return pts[:, 0], pts[:, 1]


def test_attribution_agrees_with_postgis_covers_and_lowest_id(db_url):
    polygons = _sliver_groups()
    x, y = _border_points(polygons)
    with transaction(db_url) as s:
        gen = s.execute(
            text(
                "INSERT INTO generation (name, valid_from, active) VALUES ('t', '2013-01-01',"
                " true) RETURNING id"
            )
        ).scalar_one()
        ids = []
        for k, polygon in enumerate(polygons):
            ids.append(
                s.execute(
                    text(
                        "INSERT INTO admin_unit (generation_id, level, code, name, county_code,"
                        " geom) VALUES (:g, 'group', :code, 'g', '430525',"
                        " ST_Multi(ST_GeomFromWKB(:wkb, 4326))) RETURNING id"
                    ),
                    {"g": gen, "code": f"430525100201{k:03d}", "wkb": shapely.to_wkb(polygon)},
                ).scalar_one()
            )
        s.execute(text("CREATE TEMP TABLE pt (n int, geom geometry(Point, 4326))"))
        s.execute(
            text("INSERT INTO pt SELECT n, ST_SetSRID(ST_MakePoint(x, y), 4326) FROM"
                 " unnest(CAST(:x AS float8[]), CAST(:y AS float8[])) WITH ORDINALITY u(x, y, n)"),
            {"x": x.tolist(), "y": y.tolist()},
        )  # fmt: skip
        rows = s.execute(
            text(
                "SELECT p.n, min(a.id) FROM pt p JOIN admin_unit a"
                " ON a.level = 'group' AND ST_Covers(a.geom, p.geom) GROUP BY p.n"
            )
        ).all()
        one_by_one = [
            activity.covering_group(s, generation_id=gen, lon=float(x[k]), lat=float(y[k]))
            for k in range(0, len(x), 7)
        ]
        units = pd.DataFrame(
            s.execute(
                text(
                    "SELECT id, level, code, county_code, ST_AsBinary(geom) AS wkb"
                    " FROM admin_unit WHERE generation_id = :g"
                ),
                {"g": gen},
            ).all(),
            columns=["id", "level", "code", "county_code", "wkb"],
        )
    units["wkb"] = [bytes(b) for b in units["wkb"]]
    expected = np.full(len(x), -1)
    for n, unit_id in rows:
        expected[n - 1] = unit_id
    index = GroupIndex.from_units(units, generation_id=gen)
    pos = index.groups_at(x, y)
    got = np.where(pos >= 0, index.ids[np.maximum(pos, 0)], -1)
    assert (got == expected).all()
    # The test has teeth: many points lie in two or more groups, and the answer is the lowest.
    covering = shapely.covers(np.array(polygons, dtype=object)[:, None], shapely.points(x, y))
    assert (covering.sum(axis=0) >= 2).sum() > 50
    multi = covering.sum(axis=0) >= 2
    highest = np.array(ids)[len(ids) - 1 - covering[::-1].argmax(axis=0)]
    assert (got[multi] != highest[multi]).all()
    assert [None if g is None else g[0] for g in one_by_one] == [
        None if e < 0 else e for e in expected[::7]
    ]


def test_lowest_covering_takes_the_lowest_position_in_a_sliver():
    west = shapely.box(0, 0, 1 + 2e-9, 1)
    east = shapely.box(1, 0, 2, 1)
    polygons = np.array([east, west], dtype=object)  # east first: the lower id
    got = lowest_covering(polygons, [1 + 1e-9, 1.0, 0.5, 1.5], [0.5, 0.5, 0.5, 0.5])
    assert got.tolist() == [0, 0, 1, 0]
