"""Process-wide caches of data derived from the database, all invalidated by one stamp.

Pages, analyses and importers keep derived data (rendered layers, Gi* weights, gazetteers)
between requests.  Every such cache is a :class:`StampedCache`: its entries are keyed on the
:class:`DataStamp` of the database they were built from, so a new import, an activated
generation or a changed case makes every older entry unreachable at once (it then ages out
of the LRU).  No cache keeps its own notion of "stale".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, NamedTuple, TypeVar

from cachetools import Cache, LRUCache, TTLCache
from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["DataStamp", "StampedCache", "data_stamp"]

V = TypeVar("V")


class DataStamp(NamedTuple):
    """What derived data depends on: the database, its active generation and what changed.

    Attributes
    ----------
    database
        The database URL (password hidden): tests and tools may use several in one process.
    generation_id
        The active boundary generation (0 when none is active).
    import_batch_id
        The newest import batch: every import of boundaries, registers, cases or visits.
    case_id, case_changes
        The largest case id and the rows ever inserted, updated or deleted in the case table
        (the table's statistics counters): reviewing a case changes no import batch.
    """

    database: str
    generation_id: int
    import_batch_id: int
    case_id: int
    case_changes: int

    def boundaries(self) -> DataStamp:
        """This stamp with the case parts cleared: for data built from boundaries only."""
        return self._replace(case_id=0, case_changes=0)


_STAMP_SQL = text(
    "SELECT (SELECT coalesce(max(id), 0) FROM generation WHERE active),"
    " (SELECT coalesce(max(id), 0) FROM import_batch),"
    " (SELECT coalesce(max(id), 0) FROM case_record),"
    " pg_stat_get_tuples_inserted(t.oid) + pg_stat_get_tuples_updated(t.oid)"
    " + pg_stat_get_tuples_deleted(t.oid)"
    " FROM (SELECT 'case_record'::regclass::oid AS oid) t"
)


def data_stamp(session: Session) -> DataStamp:
    """The current :class:`DataStamp` of the session's database (one cheap query).

    Every part is an index lookup or a statistics counter, never a count over a table.  A
    case status change reaches the counters within a second or so, when the writing session
    reports its statistics.
    """
    generation, batch, case_id, changes = session.execute(_STAMP_SQL).one()
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    return DataStamp(url, int(generation), int(batch), int(case_id), int(changes))


class StampedCache(Generic[V]):
    """A thread-safe LRU (optionally time-limited) cache whose keys carry a :class:`DataStamp`.

    Parameters
    ----------
    maxsize
        Entries kept; the least recently used go first.
    ttl
        Seconds an entry lives, or None to keep it until evicted or out of date.

    Examples
    --------
    >>> cache = StampedCache[int](maxsize=2)
    >>> stamp = DataStamp("db", 1, 7, 0, 0)
    >>> cache.get_or_build(stamp, "a", lambda: 1)
    1
    >>> cache.get_or_build(stamp, "a", lambda: 2)  # the cached value
    1
    >>> cache.get_or_build(stamp._replace(import_batch_id=8), "a", lambda: 3)  # a new import
    3
    """

    def __init__(self, *, maxsize: int, ttl: float | None = None) -> None:
        self._store: Cache[Hashable, V] = (
            TTLCache(maxsize=maxsize, ttl=ttl, timer=time.monotonic)
            if ttl
            else LRUCache(maxsize=maxsize)
        )
        self._lock = threading.Lock()
        # One lock per key being built: concurrent first requests for the same entry wait
        # for one computation instead of each starting its own (a cold Gi* costs seconds).
        self._building: dict[Hashable, threading.Lock] = {}

    def get(self, stamp: DataStamp, key: Hashable) -> V | None:
        """The entry for ``key`` under ``stamp``, or None."""
        with self._lock:
            return self._store.get((stamp, key))

    def get_or_build(self, stamp: DataStamp, key: Hashable, build: Callable[[], V]) -> V:
        """The entry for ``key`` under ``stamp``; ``build()`` it once if missing."""
        full = (stamp, key)
        with self._lock:
            if full in self._store:
                return self._store[full]
            gate = self._building.setdefault(full, threading.Lock())
        with gate:
            with self._lock:
                if full in self._store:
                    return self._store[full]
            try:
                value = build()
                with self._lock:
                    self._store[full] = value
                return value
            finally:
                with self._lock:
                    self._building.pop(full, None)

    def clear(self) -> None:
        """Forget every entry (tests, or a tool that rewrote the database behind our back)."""
        with self._lock:
            self._store.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._store)
