"""The tiny network with cases, users and bearer tokens, for the /ogc/, token and export tests."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
from werkzeug.serving import make_server

from models import tokens
from models.cluster import free_port
from models.db import transaction
from tests.factories import load_tiny_network
from tests.leaders_factories import insert_cases

# Village 430525100201 (竹市镇 田心村, the team user's township) has 7 cases in May 2013,
# village 430525100202 has 2 (masked), village 430525101201 (石江镇, outside the team's
# township) has 6 in June 2013.
CASES = (
    ("430525100201", "2013-05", 7),
    ("430525100202", "2013-05", 2),
    ("430525101201", "2013-06", 6),
)


@dataclass
class OgcWorld:
    url: str
    admin_token: str
    team_token: str


def cases_frame() -> pd.DataFrame:
    rows = []
    for village, month, n in CASES:
        for i in range(n):
            rows.append(
                {
                    "case_no": f"{village}-{month}-{i}",
                    "kind": "dispute",
                    "status": "open",
                    "opened_on": dt.date.fromisoformat(f"{month}-{1 + i:02d}"),
                    "county_code": village[:6],
                    "township_code": village[:9] + "000",
                    "village_code": village,
                    "lon": 110.05,
                    "lat": 27.05,
                }
            )
    return pd.DataFrame(rows)


def make_world(db_url: str, auth) -> OgcWorld:
    """Network, cases, the test users and one token each for admin and team."""
    load_tiny_network(db_url)
    insert_cases(db_url, cases_frame())
    auth.make_users()
    with transaction(db_url) as session:
        _, admin = tokens.create_token(session, "admin")
        _, team = tokens.create_token(session, "team")
    return OgcWorld(db_url, admin, team)


@contextmanager
def live_server(app) -> Iterator[str]:
    """The app on a real HTTP server on 127.0.0.1 (a free port), for GDAL and OWSLib."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
