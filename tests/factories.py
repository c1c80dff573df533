"""A tiny hand-made network (1 county, 2 townships, 4 villages, 8 groups) for web and model tests."""

from __future__ import annotations

import datetime as dt

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import func

from models.db import transaction
from models.schema import AdminUnit, Generation, Station

COUNTY = "430525000000"
# county 110.0-110.4 E x 27.0-27.2 N; townships split it west/east; villages split each
# township south/north; groups split each village west/east.
TOWNSHIPS = {"430525100000": ("竹市镇", 110.0), "430525101000": ("石江镇", 110.2)}


def _mp(x0: float, y0: float, x1: float, y1: float):
    return from_shape(MultiPolygon([box(x0, y0, x1, y1)]), srid=4326)


def load_tiny_network(url: str, *, generation: str = "2013") -> dict[str, int]:
    """Insert the tiny network as the active generation; returns counts per level."""
    with transaction(url) as s:
        gen = Generation(name=generation, valid_from=dt.date(2013, 1, 1), active=True)
        s.add(gen)
        county = AdminUnit(
            generation=gen,
            level="county",
            code=COUNTY,
            name="洞口县",
            county_code="430525",
            geom=_mp(110.0, 27.0, 110.4, 27.2),
        )
        s.add(county)
        n_station = 0
        for tcode, (tname, x0) in TOWNSHIPS.items():
            township = AdminUnit(
                generation=gen,
                level="township",
                code=tcode,
                name=tname,
                parent=county,
                county_code="430525",
                geom=_mp(x0, 27.0, x0 + 0.2, 27.2),
            )
            s.add(township)
            for i, (vname, y0) in enumerate((("田心村", 27.0), ("石桥村", 27.1))):
                vcode = tcode[:9] + f"{201 + i:03d}"
                village = AdminUnit(
                    generation=gen,
                    level="village",
                    code=vcode,
                    name=vname,
                    parent=township,
                    county_code="430525",
                    households=200,
                    geom=_mp(x0, y0, x0 + 0.2, y0 + 0.1),
                )
                s.add(village)
                for g in range(2):
                    s.add(
                        AdminUnit(
                            generation=gen,
                            level="group",
                            code=f"{vcode}{g + 1:03d}",
                            name=f"第{'一二'[g]}村民小组",
                            parent=village,
                            county_code="430525",
                            households=100,
                            geom=_mp(x0 + 0.1 * g, y0, x0 + 0.1 * (g + 1), y0 + 0.1),
                        )
                    )
                s.add(
                    Station(
                        unit=village,
                        county_code="430525",
                        name=f"{tname}{vname}群众工作站",
                        geom=from_shape(Point(x0 + 0.05, y0 + 0.05), srid=4326),
                        location_source="register",
                    )
                )
                n_station += 1
    return {"county": 1, "township": 2, "village": 4, "group": 8, "station": n_station}


def visit_key(team_id: int | None, household: str | None, at: dt.datetime, x: float, y: float):
    """The natural key the visits importer gives a visit (``visit.natural_key`` is NOT NULL)."""
    return func.visit_natural_key(team_id, household, at.timestamp(), x, y)
