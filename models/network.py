"""Queries behind the network map: an area's totals, its name chain, a station's activity."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# Cases still waiting for an outcome (case_record.status).
OPEN_STATUSES = ("open", "in_progress")


def area_totals(session: Session, generation_id: int, *, prefix: str = "") -> dict[str, int]:
    """Units per level and stations inside the area whose codes start with ``prefix``.

    Returns
    -------
    dict
        ``county``, ``township``, ``village``, ``group`` and ``station`` counts (0 when none).
    """
    rows = session.execute(
        text(
            """
            SELECT level, count(*) FROM admin_unit
            WHERE generation_id = :g AND code LIKE :p AND level <> 'city'
            GROUP BY level
            UNION ALL
            SELECT 'station', count(*) FROM station s JOIN admin_unit u ON u.id = s.unit_id
            WHERE u.generation_id = :g AND u.code LIKE :p
            """
        ),
        {"g": generation_id, "p": prefix + "%"},
    ).all()
    out = dict.fromkeys(("county", "township", "village", "group", "station"), 0)
    out.update({level: int(n) for level, n in rows})
    return out


def unit_chain(session: Session, generation_id: int, code: str) -> list[dict[str, str]]:
    """The unit ``code`` and its ancestors, city first, as ``{"code", "name", "level"}``."""
    rows = (
        session.execute(
            text(
                """
                WITH RECURSIVE up AS (
                    SELECT id, parent_id, code, name, level, 0 AS depth FROM admin_unit
                    WHERE generation_id = :g AND code = :code
                    UNION ALL
                    SELECT p.id, p.parent_id, p.code, p.name, p.level, up.depth + 1
                    FROM admin_unit p JOIN up ON p.id = up.parent_id
                )
                SELECT code, name, level FROM up ORDER BY depth DESC
                """
            ),
            {"g": generation_id, "code": code},
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def station_activity(
    session: Session, station_id: int, *, today: dt.date | None = None
) -> dict[str, Any]:
    """The station's phone, its village's open cases and visits in the 30 days before ``today``.

    The date of the latest visit comes too, so that a page can say how old the data is
    (the demo's visits end in 2013).
    """
    today = today or dt.date.today()
    row = (
        session.execute(
            text(
                """
                SELECT s.phone,
                  (SELECT count(*) FROM case_record c
                    WHERE c.village_code = v.code AND c.status = ANY(:open)) AS open_cases,
                  (SELECT count(*) FROM visit w
                    WHERE w.village_code = v.code AND w.visited_at >= :since
                      AND w.visited_at < :until) AS visits_30d,
                  (SELECT max(w.visited_at) FROM visit w
                    WHERE w.village_code = v.code) AS last_visit
                FROM station s JOIN admin_unit v ON v.id = s.unit_id
                WHERE s.id = :id
                """
            ),
            {
                "id": station_id,
                "open": list(OPEN_STATUSES),
                "since": today - dt.timedelta(days=30),
                "until": today + dt.timedelta(days=1),
            },
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        return {"phone": None, "open_cases": 0, "visits_30d": 0, "last_visit": None}
    last = row["last_visit"]
    return {
        "phone": row["phone"],
        "open_cases": int(row["open_cases"]),
        "visits_30d": int(row["visits_30d"]),
        "last_visit": last.date().isoformat() if last is not None else None,
    }
