"""Read queries behind the work teams' page: a township's team, villages and visit record.

Every query is one set-based statement filtered on the county column first (indexed on every
table), then on the township's code prefix.  Nothing returned names a petitioner or a
household: cases and visits come out as counts, visit points only as time and place.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = [
    "first_township",
    "last_visit_day",
    "team_of_township",
    "team_visit_points",
    "township_villages",
    "village_visit_months",
]


def _area(township_code: str) -> dict[str, Any]:
    return {"county": township_code[:6], "p": township_code[:9] + "%"}


def team_of_township(
    session: Session, generation_id: int, township_code: str
) -> dict[str, Any] | None:
    """The township (name, code) and its work team (id, name, leader, home lon/lat), or None.

    A township without a registered team still gets its name; the team fields are None and
    the home falls back to the township's representative point.
    """
    row = session.execute(
        text(
            """
            SELECT u.code, u.name, t.id AS team_id, t.name AS team_name, t.leader,
                   ST_X(coalesce(t.home, ST_PointOnSurface(u.geom))) AS lon,
                   ST_Y(coalesce(t.home, ST_PointOnSurface(u.geom))) AS lat
            FROM admin_unit u
            LEFT JOIN LATERAL (
                SELECT * FROM team WHERE team.unit_id = u.id ORDER BY team.id LIMIT 1
            ) t ON true
            WHERE u.generation_id = :g AND u.level = 'township' AND u.code = :code
            """
        ),
        {"g": generation_id, "code": township_code},
    ).one_or_none()
    return None if row is None else dict(row._mapping)


def township_villages(
    session: Session, generation_id: int, township_code: str, *, as_of: dt.date
) -> pd.DataFrame:
    """The township's villages with what a day sheet and the planner need.

    Columns: code, name, lon, lat (the station, else a point inside the village),
    station, station_phone, officer_phones (up to five, '、'-joined), officers,
    open_cases and open_disputes (opened before ``as_of`` and not closed by then),
    visits_last_month (any team, the calendar month before ``as_of``).
    """
    sql = text(
        """
        WITH v AS (
            SELECT id, code, name, geom FROM admin_unit
            WHERE generation_id = :g AND level = 'village' AND county_code = :county
              AND code LIKE :p
        ),
        officers AS (
            SELECT left(g.code, 12) AS code, count(*) AS n,
                   string_agg(o.phone, '、' ORDER BY o.id) FILTER (WHERE o.phone IS NOT NULL)
                       AS phones
            FROM officer o JOIN admin_unit g ON g.id = o.unit_id
            WHERE o.county_code = :county AND g.code LIKE :p
            GROUP BY 1
        ),
        cases AS (
            SELECT village_code AS code, count(*) AS open_cases,
                   count(*) FILTER (WHERE kind = 'dispute') AS open_disputes
            FROM case_record
            WHERE county_code = :county AND village_code LIKE :p
              AND opened_on < :as_of
              -- open on that day: not closed before it (a closed case without a date counts
              -- as closed all along)
              AND CASE WHEN closed_on IS NOT NULL THEN closed_on >= :as_of
                       ELSE status <> 'closed' END
            GROUP BY 1
        ),
        visits AS (
            SELECT village_code AS code, count(*) AS n
            FROM visit
            WHERE county_code = :county AND village_code LIKE :p
              AND visited_at >= :last_month AND visited_at < :as_of
            GROUP BY 1
        )
        SELECT v.code, v.name,
               ST_X(coalesce(s.geom, ST_PointOnSurface(v.geom))) AS lon,
               ST_Y(coalesce(s.geom, ST_PointOnSurface(v.geom))) AS lat,
               s.name AS station, s.phone AS station_phone,
               array_to_string((string_to_array(o.phones, '、'))[1:5], '、') AS officer_phones,
               coalesce(o.n, 0) AS officers,
               coalesce(c.open_cases, 0) AS open_cases,
               coalesce(c.open_disputes, 0) AS open_disputes,
               coalesce(vi.n, 0) AS visits_last_month
        FROM v
        LEFT JOIN LATERAL (
            SELECT * FROM station WHERE station.unit_id = v.id ORDER BY station.id LIMIT 1
        ) s ON true
        LEFT JOIN officers o ON o.code = v.code
        LEFT JOIN cases c ON c.code = v.code
        LEFT JOIN visits vi ON vi.code = v.code
        ORDER BY v.code
        """
    )
    last_month = (as_of.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    params = {"g": generation_id, **_area(township_code), "as_of": as_of, "last_month": last_month}
    return pd.read_sql(sql, session.connection(), params=params)


def village_visit_months(
    session: Session, township_code: str, *, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Visits per village and month in [start, end): visits, households, days, last visit."""
    sql = text(
        """
        SELECT village_code AS code, date_trunc('month', visited_at)::date AS month,
               count(*) AS visits, count(DISTINCT household) AS households,
               count(DISTINCT visited_at::date) AS days, max(visited_at)::date AS last_visit
        FROM visit
        WHERE county_code = :county AND village_code LIKE :p
          AND visited_at >= :start AND visited_at < :end
        GROUP BY 1, 2
        ORDER BY 1, 2
        """
    )
    params = {**_area(township_code), "start": start, "end": end}
    return pd.read_sql(sql, session.connection(), params=params)


def team_visit_points(
    session: Session, team_id: int, county_code: str, *, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """The team's recorded visits in [start, end): time, village and GPS point, time-ordered."""
    sql = text(
        """
        SELECT visited_at, village_code AS code, ST_X(geom) AS lon, ST_Y(geom) AS lat
        FROM visit
        WHERE county_code = :county AND team_id = :team
          AND visited_at >= :start AND visited_at < :end
        ORDER BY visited_at, id
        """
    )
    params = {"county": county_code, "team": team_id, "start": start, "end": end}
    return pd.read_sql(sql, session.connection(), params=params)


def first_township(session: Session, generation_id: int, prefix: str) -> str | None:
    """The smallest township code under ``prefix`` in the generation."""
    code = session.execute(
        text(
            "SELECT min(code) FROM admin_unit WHERE generation_id = :g AND level = 'township'"
            " AND code LIKE :p"
        ),
        {"g": generation_id, "p": prefix + "%"},
    ).scalar()
    return None if code is None else str(code)


def last_visit_day(session: Session, township_code: str) -> dt.date | None:
    """The latest recorded visit in the township: "now" as far as its data go."""
    day = session.execute(
        text(
            "SELECT max(visited_at)::date FROM visit WHERE county_code = :county"
            " AND village_code LIKE :p"
        ),
        _area(township_code),
    ).scalar()
    return day if isinstance(day, dt.date) else None
