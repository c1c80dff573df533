"""The tiny network plus a work team, officers, an open dispute and December visits."""

from __future__ import annotations

from sqlalchemy import text

from models.db import transaction
from tests.factories import load_tiny_network

TOWNSHIP = "430525100000"  # 竹市镇, the test team user's area
OTHER_TOWNSHIP = "430525101000"  # 石江镇
VISITED = "430525100201"  # 田心村: open dispute, visited in December 2013
NOT_VISITED = "430525100202"  # 石桥村: visited in November, not in December 2013
HOUSEHOLD = "HH-SECRET-0042"


def load_team_network(url: str) -> None:
    """Load the tiny network, a team per township, officers, a dispute and visits."""
    load_tiny_network(url)
    with transaction(url) as s:
        s.execute(
            text(
                """
                INSERT INTO team (unit_id, county_code, name, leader, members, home)
                SELECT id, county_code, name || '群众工作队', '张队长', 5,
                       ST_SetSRID(ST_MakePoint(CASE code WHEN :t THEN 110.1 ELSE 110.3 END,
                                               27.1), 4326)
                FROM admin_unit WHERE level = 'township'
                """
            ),
            {"t": TOWNSHIP},
        )
        s.execute(
            text(
                """
                INSERT INTO officer (unit_id, county_code, name, phone)
                SELECT id, county_code, '信息员' || code, '1390000' || right(code, 4)
                FROM admin_unit WHERE level = 'group'
                """
            )
        )
        s.execute(
            text(
                """
                INSERT INTO case_record (case_no, kind, status, opened_on, petitioner, county_code,
                                         township_code, village_code, geom)
                VALUES ('C-1', 'dispute', 'open', '2013-11-20', '李某某', '430525', :t, :v,
                        ST_SetSRID(ST_MakePoint(110.05, 27.05), 4326))
                """
            ),
            {"t": TOWNSHIP, "v": VISITED},
        )
        s.execute(
            text(
                """
                INSERT INTO visit (team_id, household, visited_at, geom, source_crs, county_code,
                                   township_code, village_code, natural_key)
                SELECT t.id, :hh, ts, ST_SetSRID(ST_MakePoint(110.05 + 0.01 * k, 27.05), 4326),
                       'wgs84', '430525', :t, :v,
                       visit_natural_key(t.id, CAST(:hh AS varchar), date_part('epoch', ts),
                                         (110.05 + 0.01 * k)::float8, 27.05)
                FROM team t JOIN admin_unit u ON u.id = t.unit_id AND u.code = :t,
                     (VALUES (timestamptz '2013-12-02 01:00+00', 0),
                             (timestamptz '2013-12-02 02:00+00', 1),
                             (timestamptz '2013-12-11 01:30+00', 2)) AS v(ts, k)
                """
            ),
            {"hh": HOUSEHOLD, "t": TOWNSHIP, "v": VISITED},
        )
        # 石桥村 was visited in November: not urgent for December, urgent for January.
        s.execute(
            text(
                """
                INSERT INTO visit (team_id, household, visited_at, geom, source_crs, county_code,
                                   township_code, village_code, natural_key)
                SELECT t.id, 'HH-2', timestamptz '2013-11-15 02:00+00',
                       ST_SetSRID(ST_MakePoint(110.15, 27.15), 4326), 'wgs84', '430525', :t, :v,
                       visit_natural_key(t.id, 'HH-2',
                                         date_part('epoch', timestamptz '2013-11-15 02:00+00'),
                                         110.15, 27.15)
                FROM team t JOIN admin_unit u ON u.id = t.unit_id AND u.code = :t
                """
            ),
            {"t": TOWNSHIP, "v": NOT_VISITED},
        )
