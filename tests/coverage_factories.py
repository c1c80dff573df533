"""Officers, cases and visits on the tiny network (tests/factories.py) with known coverage.

Groups (8, 100 households each; villages 201/202 of townships 100/101):

- 430525100201001: 2 officers, visited on 2013-12-20 (2 households) and 2013-06-01, 6 cases
- 430525100201002: 1 officer, never visited
- 430525100202001/002: no officer, never visited; the village's station is closed (deleted)
- every other group: 2 officers, one visit on 2013-12-30, no cases
"""

from __future__ import annotations

import datetime as dt

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import delete, select

from models.db import transaction
from models.schema import AdminUnit, Case, Officer, Station, Visit
from tests.factories import load_tiny_network, visit_key

TZ = dt.timezone(dt.timedelta(hours=8))
CLOSED_VILLAGE = "430525100202"
NEVER_VISITED = "430525100201002"
BUSY = "430525100201001"


def load_coverage_network(url: str) -> None:
    """The tiny network plus the registers and activity described in the module docstring."""
    load_tiny_network(url)
    with transaction(url) as s:
        groups = {
            u.code: u for u in s.scalars(select(AdminUnit).where(AdminUnit.level == "group")).all()
        }
        closed = s.scalar(select(AdminUnit.id).where(AdminUnit.code == CLOSED_VILLAGE))
        s.execute(delete(Station).where(Station.unit_id == closed))
        for code, unit in groups.items():
            n = 0 if code.startswith(CLOSED_VILLAGE) else 1 if code == NEVER_VISITED else 2
            for i in range(n):
                s.add(Officer(unit_id=unit.id, county_code="430525", name=f"信息员{i}"))
            if code == NEVER_VISITED or code.startswith(CLOSED_VILLAGE):
                continue
            when = [dt.datetime(2013, 12, 30, 10, tzinfo=TZ)]
            if code == BUSY:
                when = [
                    dt.datetime(2013, 12, 20, 9, tzinfo=TZ),
                    dt.datetime(2013, 12, 20, 15, tzinfo=TZ),
                    dt.datetime(2013, 6, 1, 9, tzinfo=TZ),
                ]
            x, y = _inside(unit)
            for k, at in enumerate(when):
                s.add(
                    Visit(
                        household=f"{code}-{k % 2:03d}",
                        visited_at=at,
                        natural_key=visit_key(None, f"{code}-{k % 2:03d}", at, x, y),
                        geom=from_shape(Point(x, y), srid=4326),
                        source_crs="wgs84",
                        unit_id=unit.id,
                        county_code="430525",
                        township_code=code[:9] + "000",
                        village_code=code[:12],
                        group_code=code,
                    )
                )
        busy = groups[BUSY]
        x, y = _inside(busy)
        for k in range(6):
            s.add(
                Case(
                    case_no=f"C{k}",
                    kind="dispute",
                    status="open",
                    opened_on=dt.date(2013, 3 + k, 1),
                    geom=from_shape(Point(x, y), srid=4326),
                    unit_id=busy.id,
                    county_code="430525",
                    township_code=BUSY[:9] + "000",
                    village_code=BUSY[:12],
                    group_code=BUSY,
                )
            )


def _inside(unit: AdminUnit) -> tuple[float, float]:
    from geoalchemy2.shape import to_shape

    p = to_shape(unit.geom).representative_point()
    return p.x, p.y


GRID_COUNTY = "430525000000"
GRID_CLOSED = ("430525100205", "430525101201", "430525101209")


def load_grid_coverage(url: str) -> None:
    """One county, two townships of 3x3 villages (0.03 deg), each village 2x2 groups.

    Every village has a station at its centre except GRID_CLOSED; every group has one
    officer and 50 households, and was visited on 2013-12-20.
    """
    import datetime as dt

    from geoalchemy2.shape import from_shape
    from shapely.geometry import MultiPolygon, box

    from models.schema import Generation

    def mp(x0: float, y0: float, x1: float, y1: float):
        return from_shape(MultiPolygon([box(x0, y0, x1, y1)]), srid=4326)

    side, half = 0.03, 0.015
    with transaction(url) as s:
        gen = Generation(name="2013", valid_from=dt.date(2013, 1, 1), active=True)
        county = AdminUnit(
            generation=gen,
            level="county",
            code=GRID_COUNTY,
            name="洞口县",
            county_code="430525",
            geom=mp(110.0, 27.0, 110.18, 27.09),
        )
        s.add(county)
        for t, (tname, tx) in enumerate((("竹市镇", 110.0), ("石江镇", 110.09))):
            tcode = f"430525{100 + t}000"
            township = AdminUnit(
                generation=gen,
                level="township",
                code=tcode,
                name=tname,
                parent=county,
                county_code="430525",
                geom=mp(tx, 27.0, tx + 3 * side, 27.0 + 3 * side),
            )
            s.add(township)
            for k in range(9):
                vx, vy = tx + side * (k % 3), 27.0 + side * (k // 3)
                vcode = tcode[:9] + f"{201 + k:03d}"
                village = AdminUnit(
                    generation=gen,
                    level="village",
                    code=vcode,
                    name=f"{tname[:2]}{k + 1}村",
                    parent=township,
                    county_code="430525",
                    households=200,
                    geom=mp(vx, vy, vx + side, vy + side),
                )
                s.add(village)
                if vcode not in GRID_CLOSED:
                    s.add(
                        Station(
                            unit=village,
                            county_code="430525",
                            name=f"{vcode}站",
                            geom=from_shape(Point(vx + half, vy + half), srid=4326),
                        )
                    )
                for q in range(4):
                    gx, gy = vx + half * (q % 2), vy + half * (q // 2)
                    group = AdminUnit(
                        generation=gen,
                        level="group",
                        code=f"{vcode}{q + 1:03d}",
                        name=f"第{q + 1}组",
                        parent=village,
                        county_code="430525",
                        households=50,
                        geom=mp(gx, gy, gx + half, gy + half),
                    )
                    s.add(group)
                    s.flush()
                    s.add(Officer(unit_id=group.id, county_code="430525", name="信息员"))
                    s.add(
                        Visit(
                            household=f"{vcode}{q + 1:03d}-001",
                            visited_at=dt.datetime(2013, 12, 20, 10, tzinfo=TZ),
                            natural_key=visit_key(
                                None,
                                f"{vcode}{q + 1:03d}-001",
                                dt.datetime(2013, 12, 20, 10, tzinfo=TZ),
                                gx + 0.007,
                                gy + 0.007,
                            ),
                            geom=from_shape(Point(gx + 0.007, gy + 0.007), srid=4326),
                            source_crs="wgs84",
                            unit_id=group.id,
                            county_code="430525",
                            township_code=tcode,
                            village_code=vcode,
                            group_code=f"{vcode}{q + 1:03d}",
                        )
                    )
