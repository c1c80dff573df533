"""models.cache: one stamp moves with imports, activation and case changes; builds run once."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from models.cache import DataStamp, StampedCache, data_stamp
from models.db import session_factory, transaction
from tests.factories import load_tiny_network


def _stamp(url):
    with session_factory(url)() as session:
        return data_stamp(session)


def test_stamp_moves_with_imports_generations_and_cases(db_url):
    empty = _stamp(db_url)
    assert empty.generation_id == 0
    load_tiny_network(db_url)
    loaded = _stamp(db_url)
    assert loaded.generation_id > 0
    with transaction(db_url) as s:
        s.execute(
            text(
                "INSERT INTO import_batch (kind, filename, sha256, username, status, counts, report)"
                " VALUES ('cases', 'c.csv', repeat('0', 64), 'test', 'committed', '{}', '{}')"
            )
        )
    imported = _stamp(db_url)
    assert imported.import_batch_id > loaded.import_batch_id
    assert imported.boundaries() != loaded.boundaries()
    with transaction(db_url) as s:
        s.execute(
            text(
                "INSERT INTO case_record (case_no, kind, status, opened_on, county_code,"
                " location_method, geom) VALUES ('X1', 'dispute', 'open', '2013-01-01', '430525',"
                " 'gps', ST_SetSRID(ST_MakePoint(110.1, 27.1), 4326))"
            )
        )
    with_case = _stamp(db_url)
    assert with_case != imported
    # Boundary-only data is not invalidated by a new case.
    assert with_case.boundaries() == imported.boundaries()
    with transaction(db_url) as s:
        s.execute(text("UPDATE generation SET active = false"))
    assert _stamp(db_url).generation_id == 0


def test_concurrent_first_requests_build_once():
    cache = StampedCache[int](maxsize=4)
    stamp = _fake_stamp()
    builds = []

    def slow() -> int:
        builds.append(1)
        time.sleep(0.2)
        return 42

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_build(stamp, "k", slow)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 8
    assert len(builds) == 1
    assert cache.get(stamp._replace(case_changes=1), "k") is None


def test_failed_build_is_not_kept():
    cache = StampedCache[int](maxsize=4)
    stamp = _fake_stamp()

    def broken() -> int:
        raise RuntimeError

    with pytest.raises(RuntimeError):
        cache.get_or_build(stamp, "k", broken)
    assert cache.get_or_build(stamp, "k", lambda: 7) == 7


def _fake_stamp():
    return DataStamp("db", 1, 1, 0, 0)
