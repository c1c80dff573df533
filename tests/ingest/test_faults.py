"""Imports under faults: a killed connection, two imports at once, an activation mid-import,
and a file that repeats rows already stored.  Each ends with a clear line and nothing lost or
written twice, checked by row counts and table digests."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from sqlalchemy import text

from ingest import activity
from ingest.errors import ConcurrentImport, DatabaseLost, IngestError
from models import staging
from models.db import engine_for
from tests.factories import load_tiny_network
from tests.ingest.conftest import db_digest


@pytest.fixture
def tiny_url(db_url):
    load_tiny_network(db_url)
    return db_url


def _visits(n: int, *, start: int = 0, ids: bool = False) -> pd.DataFrame:
    """``n`` visits inside 竹市镇田心村 (110.0-110.2 E x 27.0-27.1 N), one second apart."""
    k = pd.RangeIndex(start, start + n)
    table = {
        "工作队": "竹市镇群众工作队",
        "户号": [f"h{i}" for i in k],
        "走访时间": [f"2013-05-01 {9 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}" for i in k],
        "经度": [f"{110.01 + (i % 97) * 0.0017:.7f}" for i in k],
        "纬度": [f"{27.01 + (i % 89) * 0.0009:.7f}" for i in k],
    }
    if ids:
        table = {"走访编号": [f"V{i:06d}" for i in k], **table}
    return pd.DataFrame(table)


def _csv(path, frame):
    path.write_bytes(frame.to_csv(index=False).encode("utf-8"))
    return path


def _count(url: str, table: str = "visit") -> int:
    with engine_for(url).connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_rows_already_stored_are_duplicates_in_the_dry_run_and_skipped_on_commit(
    tiny_url, tmp_path
):
    full = _visits(300)
    first = activity.import_visits(tiny_url, _csv(tmp_path / "all.csv", full), commit=True)
    assert first.counts["visits"] == 300, first.to_text("en")
    # A phone's export that overlaps the team's: its first 200 rows, then 50 new ones.
    overlap = pd.concat([full.head(200), _visits(50, start=300)])
    path = _csv(tmp_path / "overlap.csv", overlap)
    dry = activity.import_visits(tiny_url, path)
    assert (dry.counts["visits"], dry.counts["duplicates"], dry.counts["review"]) == (50, 200, 0)
    assert any(p.where == "row 2" and "already in the database" in p.message for p in dry.problems)
    done = activity.import_visits(tiny_url, path, commit=True)
    assert (done.counts["visits"], done.counts["duplicates"]) == (50, 200)
    assert _count(tiny_url) == 350
    assert _count(tiny_url, "review_item") == 0


def test_source_ids_and_rows_repeated_within_a_file_are_duplicates(tiny_url, tmp_path):
    table = _visits(40, ids=True)
    first = activity.import_visits(tiny_url, _csv(tmp_path / "a.csv", table), commit=True)
    assert first.counts["visits"] == 40
    # Same ids, other households and times: the source system says they are the same visits.
    again = _visits(10, start=1000, ids=True)
    again["走访编号"] = table["走访编号"].head(10).to_numpy()
    twice = pd.concat([_visits(5, start=2000), _visits(5, start=2000)])
    report = activity.import_visits(
        tiny_url, _csv(tmp_path / "b.csv", pd.concat([again, twice.assign(走访编号=None)])),
        commit=True,
    )  # fmt: skip
    assert (report.counts["visits"], report.counts["duplicates"]) == (5, 15)
    assert any("of this file" in p.message for p in report.problems)
    assert _count(tiny_url) == 45


def test_a_killed_connection_mid_import_is_one_clear_line_and_writes_nothing(
    tiny_url, tmp_path, monkeypatch
):
    path = _csv(tmp_path / "v.csv", _visits(500))
    before = db_digest(tiny_url)
    copy_stage = staging.copy_stage

    def killed_then_copy(session, frame, columns):
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine_for(tiny_url).connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        return copy_stage(session, frame, columns)

    monkeypatch.setattr(staging, "copy_stage", killed_then_copy)
    with pytest.raises(DatabaseLost) as info:
        activity.import_visits(tiny_url, path, commit=True)
    message = str(info.value)
    assert message.startswith("v.csv: the database connection was lost")
    assert "nothing was written" in message
    assert "run the import again" in message
    assert "\n" not in message
    assert "OperationalError" not in message
    assert db_digest(tiny_url) == before
    monkeypatch.setattr(staging, "copy_stage", copy_stage)
    assert activity.import_visits(tiny_url, path, commit=True).counts["visits"] == 500


def test_the_same_file_imported_twice_at_once_one_wins_the_other_is_told(tiny_url, tmp_path):
    path = _csv(tmp_path / "v.csv", _visits(400))
    results: list[object] = []

    def run() -> None:
        try:
            results.append(activity.import_visits(tiny_url, path, commit=True))
        except IngestError as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(getattr(r, "status", type(r).__name__) for r in results)
    assert statuses == ["already_imported", "committed"]
    told = next(r for r in results if getattr(r, "status", "") == "already_imported")
    assert "already imported" in told.to_text("en")
    assert _count(tiny_url) == 400


def test_overlapping_files_at_once_store_each_visit_once(tiny_url, tmp_path):
    a = _csv(tmp_path / "a.csv", _visits(300))
    b = _csv(tmp_path / "b.csv", _visits(300, start=100))
    results: list[object] = []

    def run(path) -> None:
        try:
            results.append(activity.import_visits(tiny_url, path, commit=True))
        except ConcurrentImport as exc:  # allowed: the loser is told and may rerun
            results.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _count(tiny_url) == 400
    loaded = sum(r.counts["visits"] for r in results if hasattr(r, "counts"))
    assert loaded == 400


def test_an_activation_during_an_import_stops_it_cleanly(tiny_url, tmp_path, monkeypatch):
    path = _csv(tmp_path / "v.csv", _visits(100))
    before = db_digest(tiny_url)
    group_index = activity.group_index

    def activated_meanwhile(session, **kwargs):
        # Another member of staff activates a new generation while this import checks rows.
        with engine_for(tiny_url).begin() as other:
            new = other.execute(
                text(
                    "INSERT INTO generation (name, valid_from, active) VALUES ('2023',"
                    " '2023-01-01', false) RETURNING id"
                )
            ).scalar_one()
            other.execute(text("UPDATE generation SET active = false WHERE active"))
            other.execute(text("UPDATE generation SET active = true WHERE id = :g"), {"g": new})
        return group_index(session, **kwargs)

    monkeypatch.setattr(activity, "group_index", activated_meanwhile)
    with pytest.raises(IngestError, match="active boundary generation changed"):
        activity.import_visits(tiny_url, path, commit=True)
    after = db_digest(tiny_url)
    assert {k: v for k, v in after.items() if k != "generation"} == {
        k: v for k, v in before.items() if k != "generation"
    }
    assert _count(tiny_url) == 0
