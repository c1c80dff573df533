"""A grid network (2 counties, 4 townships, 64 villages) with cases around one known hot block.

Each township is a 4x4 block of 0.1-degree villages.  Every village gets a few background
cases of every kind in 2012 and 2013; the HOT villages (a 2x2 block inside 廉桥镇) get many
disputes in 2013; SMALL_VILLAGE gets only two cases, so privacy suppression has something to
hide.  Tests compare the maps with counts computed here from the same frame.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import insert

from models.db import transaction
from models.schema import AdminUnit, Case, Generation, Station

__all__ = [
    "COUNTIES",
    "HOT",
    "SMALL_VILLAGE",
    "GridNetwork",
    "grid_cases",
    "insert_cases",
    "load_grid_network",
]

# county code -> (name, west edge); each county is 0.8 x 0.4 degrees with two townships.
COUNTIES = {"430521000000": ("邵东县", 110.0), "430522000000": ("新邵县", 110.8)}
TOWNSHIP_NAMES = ("石门乡", "廉桥镇", "酿溪镇", "坪上镇")
SOUTH = 27.0
SIDE = 0.1
# Villages inside township 430521101 (廉桥镇, the 2nd of the first county):
# a 2x2 block away from the township's edge.
HOT = ("430521101206", "430521101207", "430521101210", "430521101211")
SMALL_VILLAGE = "430522101216"
KINDS = ("petition", "dispute", "service", "suggestion")


@dataclass(frozen=True)
class GridNetwork:
    """Codes and boxes of the grid's units."""

    villages: dict[str, tuple[float, float, float, float]]
    townships: dict[str, tuple[float, float, float, float]]
    households: dict[str, int]


def _mp(bounds: tuple[float, float, float, float]):
    return from_shape(MultiPolygon([box(*bounds)]), srid=4326)


def load_grid_network(url: str) -> GridNetwork:
    """Insert the grid as the active generation ``2013``."""
    villages: dict[str, tuple[float, float, float, float]] = {}
    townships: dict[str, tuple[float, float, float, float]] = {}
    households: dict[str, int] = {}
    names = iter(TOWNSHIP_NAMES)
    with transaction(url) as s:
        gen = Generation(name="2013", valid_from=dt.date(2013, 1, 1), active=True)
        s.add(gen)
        for ccode, (cname, west) in COUNTIES.items():
            cc = ccode[:6]
            county = AdminUnit(
                generation=gen,
                level="county",
                code=ccode,
                name=cname,
                county_code=cc,
                geom=_mp((west, SOUTH, west + 0.8, SOUTH + 0.4)),
            )
            s.add(county)
            for t in range(2):
                tcode = f"{cc}{100 + t}000"
                # Rounded so neighbouring units share exactly the same edge coordinates.
                tb = (round(west + 0.4 * t, 6), SOUTH, round(west + 0.4 * (t + 1), 6), SOUTH + 0.4)
                townships[tcode] = tb
                township = AdminUnit(
                    generation=gen,
                    level="township",
                    code=tcode,
                    name=next(names),
                    parent=county,
                    county_code=cc,
                    geom=_mp(tb),
                )
                s.add(township)
                for i in range(16):
                    row, col = divmod(i, 4)
                    vcode = f"{tcode[:9]}{201 + i:03d}"
                    vb = (
                        round(tb[0] + SIDE * col, 6),
                        round(SOUTH + SIDE * row, 6),
                        round(tb[0] + SIDE * (col + 1), 6),
                        round(SOUTH + SIDE * (row + 1), 6),
                    )
                    villages[vcode] = vb
                    # Households differ by column, so rates and counts rank villages apart.
                    households[vcode] = 100 + 100 * col
                    village = AdminUnit(
                        generation=gen,
                        level="village",
                        code=vcode,
                        name=f"{'东南西北'[row]}{'甲乙丙丁'[col]}村",
                        parent=township,
                        county_code=cc,
                        households=households[vcode],
                        geom=_mp(vb),
                    )
                    s.add(village)
                    s.add(
                        Station(
                            unit=village,
                            county_code=cc,
                            name=f"{village.name}群众工作站",
                            geom=from_shape(
                                Point((vb[0] + vb[2]) / 2, (vb[1] + vb[3]) / 2), srid=4326
                            ),
                            location_source="register",
                        )
                    )
    return GridNetwork(villages=villages, townships=townships, households=households)


def grid_cases(grid: GridNetwork, *, seed: int = 7, hot_disputes: int = 60) -> pd.DataFrame:
    """Cases of 2012-2013: background everywhere, many 2013 disputes in the HOT villages.

    Returns
    -------
    pandas.DataFrame
        ``case_no, kind, status, opened_on, county_code, township_code, village_code, lon,
        lat`` (points uniformly inside their village).
    """
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, str, str, float, float]] = []
    for vcode, (w, s, e, n) in grid.villages.items():
        specs: list[tuple[str, int]] = []
        if vcode == SMALL_VILLAGE:
            specs = [("petition", 2012), ("service", 2013)]
        else:
            # Two of each kind, one per year: 8 cases a village.
            specs = [(k, y) for k in KINDS for y in (2012, 2013)]
        if vcode in HOT:
            specs += [("dispute", 2013)] * hot_disputes
        for kind, year in specs:
            rows.append((vcode, kind, str(year), "", rng.uniform(w, e), rng.uniform(s, n)))
    frame = pd.DataFrame(rows, columns=["village_code", "kind", "year", "_", "lon", "lat"])
    n = len(frame)
    months = rng.integers(1, 13, n)
    days = rng.integers(1, 29, n)
    frame["opened_on"] = [
        dt.date(int(y), int(m), int(d)) for y, m, d in zip(frame["year"], months, days, strict=True)
    ]
    frame["status"] = rng.choice(["open", "in_progress", "closed"], n)
    frame["county_code"] = frame["village_code"].str[:6]
    frame["township_code"] = frame["village_code"].str[:9] + "000"
    frame["case_no"] = [f"T{i:07d}" for i in range(n)]
    return frame.drop(columns=["year", "_"])


def insert_cases(url: str, cases: pd.DataFrame) -> int:
    """Insert case rows (columns as :func:`grid_cases` returns) with one executemany."""
    records = [
        {
            "case_no": r.case_no,
            "kind": r.kind,
            "status": r.status,
            "opened_on": r.opened_on,
            "county_code": r.county_code,
            "township_code": r.township_code,
            "village_code": r.village_code,
            "location_method": "gps",
            "geom": f"SRID=4326;POINT({r.lon:.6f} {r.lat:.6f})",
        }
        for r in cases.itertuples(index=False)
    ]
    with transaction(url) as s:
        s.execute(insert(Case), records)
    return len(records)
