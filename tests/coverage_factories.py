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
from tests.factories import load_tiny_network

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
