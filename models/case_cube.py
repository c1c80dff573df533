"""The case count cube: located cases counted by day, kind, status, unit codes and H3 cell.

The leaders' maps aggregate it instead of reading every case's point and binning it in
Python: :func:`load` reads it into memory once per data stamp (:class:`Cube`), and a filter
is then a mask and a sum over arrays, with no query.  A statement
trigger on ``case_record`` marks it stale in the writing transaction (migration
``svc_case_cube``); :func:`rebuild` brings it up to date, inside a case import's own
transaction, and :func:`ensure_fresh` does so before a read when some other writer (the review
queue, re-attribution, a script) left it stale.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.density import h3_cells
from models.db import driver_connection, rowcount
from models.hotspots import CaseFilter

__all__ = ["RESOLUTIONS", "Cube", "cell_counts", "ensure_fresh", "is_stale", "load", "rebuild"]

# H3 resolutions kept: the monthly (6-8) and heat (7-9) layers of city, county and township.
RESOLUTIONS = (6, 7, 8, 9)
_KEYS = ["opened_on", "kind", "status", "county_code", "township_code", "village_code"]
_CELLS = [f"h{r}" for r in RESOLUTIONS]
# A key of its own for the rebuild, so two readers finding the cube stale rebuild it once.
_LOCK_KEY = 0x51_47_43_55_42_45  # "QGCUBE"


def is_stale(session: Session) -> bool:
    """True when cases changed since the cube was last rebuilt."""
    return bool(session.scalar(text("SELECT stale FROM case_cube_state WHERE id = 1")))


def rebuild(session: Session) -> int:
    """Recount the cube from ``case_record`` in the session's transaction; returns its rows.

    H3 cells are computed only for cases that are new or moved since the last rebuild
    (``case_h3``); the recount itself is one INSERT ... SELECT.  Case writers are held off until
    the transaction ends (SHARE lock), so no case written meanwhile can be missed while the
    cube is marked fresh; readers are not blocked.
    """
    session.execute(text("LOCK TABLE case_record IN SHARE MODE"))
    # Room to group ~230,000 rows in memory rather than in sorted runs on disk.
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    _update_cells(session)
    keys = ", ".join(f"c.{k}" for k in _KEYS)
    cells = ", ".join(f"h.{c}" for c in _CELLS)
    session.execute(text("DELETE FROM case_cube"))
    rows = session.execute(
        text(
            f"INSERT INTO case_cube ({', '.join(_KEYS + _CELLS)}, n)"
            f" SELECT {keys}, {cells}, count(*) FROM case_record c"
            " JOIN case_h3 h ON h.case_id = c.id"
            f" GROUP BY {keys}, {cells}"
        )
    )
    session.execute(
        text("UPDATE case_cube_state SET stale = false, rebuilt_at = now() WHERE id = 1")
    )
    return rowcount(rows)


def _update_cells(session: Session) -> None:
    """Compute the H3 cells of located cases that have none yet, or whose point moved."""
    ids, lon, lat = session.execute(
        text(
            "SELECT coalesce(array_agg(c.id), '{}'), coalesce(array_agg(ST_X(c.geom)), '{}'),"
            " coalesce(array_agg(ST_Y(c.geom)), '{}')"
            " FROM case_record c LEFT JOIN case_h3 h ON h.case_id = c.id"
            " WHERE c.geom IS NOT NULL"
            " AND (h.case_id IS NULL OR h.lon <> ST_X(c.geom) OR h.lat <> ST_Y(c.geom))"
        )
    ).one()
    # Cases that lost their point keep no cells.
    session.execute(
        text(
            "DELETE FROM case_h3 h USING case_record c"
            " WHERE c.id = h.case_id AND (c.geom IS NULL OR c.id = ANY(:ids))"
        ),
        {"ids": list(ids)},
    )
    if not ids:
        return
    frame = pd.DataFrame(
        {
            "case_id": np.asarray(ids, dtype=np.int64),
            "lon": np.asarray(lon, dtype=np.float64),
            "lat": np.asarray(lat, dtype=np.float64),
        }
    )
    for resolution, column in zip(RESOLUTIONS, _CELLS, strict=True):
        # H3 indexes stay below 2**63: stored as signed bigint without change.
        frame[column] = h3_cells(frame["lon"], frame["lat"], resolution).astype(np.int64)
    buffer = io.StringIO()
    # Seventeen significant digits: the stored point compares equal to ST_X/ST_Y next time.
    frame.to_csv(buffer, index=False, header=False, float_format="%.17g")
    with (
        driver_connection(session).cursor() as cursor,
        cursor.copy(f"COPY case_h3 ({', '.join(frame.columns)}) FROM STDIN (FORMAT csv)") as copy,
    ):
        copy.write(buffer.getvalue())


def ensure_fresh(session: Session) -> bool:
    """Rebuild the cube, in a transaction of its own, if it is stale; True when it did.

    The caller's session and the objects it holds are left alone: the rebuild runs in a
    second session on the same database, and a read after this one sees the new counts.
    """
    if not is_stale(session):
        return False
    with Session(bind=session.get_bind()) as own, own.begin():
        own.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        # Another process may have rebuilt it while this one waited for the lock.
        if not is_stale(own):
            return False
        rebuild(own)
    return True


def cell_counts(
    session: Session, case_filter: CaseFilter, *, resolution: int, by_month: bool = False
) -> pd.DataFrame:
    """Matching cases per H3 cell (and month ``YYYY-MM``), summed from the cube.

    Returns
    -------
    pandas.DataFrame
        ``[month], cell, count`` (``cell`` the H3 index as an integer), cells with cases only.
    """
    if resolution not in RESOLUTIONS:
        msg = f"the cube keeps H3 resolutions {RESOLUTIONS}, not {resolution}"
        raise ValueError(msg)
    where, params = case_filter.where(cube=True)
    month = "to_char(c.opened_on, 'YYYY-MM')"
    keys = f"{month} AS month, c.h{resolution} AS cell" if by_month else f"c.h{resolution} AS cell"
    group = "1, 2" if by_month else "1"
    # Arrays in one row rather than a row per cell: no per-row Python objects.
    inner = f"SELECT {keys}, sum(c.n) AS n FROM case_cube c WHERE {where} GROUP BY {group}"
    months = "coalesce(array_agg(s.month), '{}')," if by_month else ""
    row = session.execute(
        text(
            f"SELECT {months} coalesce(array_agg(s.cell), '{{}}'),"
            f" coalesce(array_agg(s.n), '{{}}') FROM ({inner}) s"
        ),
        params,
    ).one()
    frame = pd.DataFrame(
        {
            "cell": np.asarray(row[-2], dtype=np.int64).astype(np.uint64),
            "count": np.asarray(row[-1], dtype=np.int64),
        }
    )
    if by_month:
        frame.insert(0, "month", np.asarray(row[0], dtype=object))
    return frame


# --------------------------------------------------------------------------------------
# The cube in memory

_CODE_LEVELS = ("county", "township", "village")


@dataclass(frozen=True)
class Cube:
    """The cube's rows as arrays: a filter is a mask and a sum, with no query.

    A process loads it once per data stamp (``webmap.services.leaders`` keeps it, and the
    server loads it before forking its workers); 230,000 rows take about 15 MB.  String
    columns are factorised: ``kind``, ``status`` and the three code columns are indexes into
    ``labels[column]`` (-1 for a missing code).
    """

    day: npt.NDArray[np.int32]
    month: npt.NDArray[np.int32]
    codes: dict[str, npt.NDArray[np.int32]]
    labels: dict[str, npt.NDArray[np.object_]]
    cells: dict[int, npt.NDArray[np.uint64]]
    n: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.n)

    def mask(self, case_filter: CaseFilter) -> npt.NDArray[np.bool_]:
        """Rows the filter selects: the same rows as ``CaseFilter.where(cube=True)``."""
        keep = np.ones(len(self), dtype=bool)
        for column, allowed in (("kind", case_filter.kinds), ("status", case_filter.statuses)):
            if allowed:
                keep &= self._match(column, frozenset(allowed).__contains__)
        if case_filter.date_from:
            keep &= self.day >= _day(case_filter.date_from)
        if case_filter.date_to:
            keep &= self.day <= _day(case_filter.date_to)
        if case_filter.prefix:
            # The column CaseFilter.where matches the prefix on, by the prefix's length.
            prefix = case_filter.prefix
            length = len(prefix)
            column = "county" if length <= 6 else "township" if length <= 9 else "village"
            keep &= self._match(column, lambda label: label.startswith(prefix))
        return keep

    def _match(self, column: str, test: Callable[[str], bool]) -> npt.NDArray[np.bool_]:
        labels = self.labels[column]
        # One entry per distinct label, and False last for the missing (-1) index.
        table = np.fromiter((test(label) for label in labels), dtype=bool, count=len(labels))
        return np.append(table, False)[self.codes[column]]

    def cell_counts(
        self, case_filter: CaseFilter, *, resolution: int, by_month: bool = False
    ) -> pd.DataFrame:
        """As :func:`cell_counts`, from memory: ``[month], cell, count``."""
        keep = self.mask(case_filter)
        frame = pd.DataFrame({"cell": self.cells[resolution][keep], "count": self.n[keep]})
        if not by_month:
            out = frame.groupby("cell", sort=True)["count"].sum().reset_index()
            return out.astype({"cell": np.uint64, "count": np.int64})
        frame.insert(0, "month", self.month[keep])
        out = frame.groupby(["month", "cell"], sort=True)["count"].sum().reset_index()
        months, index = np.unique(out["month"].to_numpy(), return_inverse=True)
        names = np.array([f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months], dtype=object)
        out["month"] = names[index]
        return out.astype({"cell": np.uint64, "count": np.int64})

    def unit_counts(self, case_filter: CaseFilter, *, level: str) -> pd.Series:
        """Matching cases per unit code of ``level`` (county codes padded to 12 digits)."""
        keep = self.mask(case_filter) & (self.codes[level] >= 0)
        sums = np.bincount(
            self.codes[level][keep], weights=self.n[keep], minlength=len(self.labels[level])
        ).astype(np.int64)
        labels = self.labels[level]
        if level == "county":
            labels = np.array([f"{code}000000" for code in labels], dtype=object)
        return pd.Series(sums, index=pd.Index(labels, name="code"), name="count")


def _day(date: dt.date) -> int:
    return (date - _EPOCH).days


_EPOCH = dt.date(1970, 1, 1)


def load(session: Session) -> Cube:
    """The cube's rows in memory (:class:`Cube`), in one query; the caller keeps it fresh."""
    columns = [
        "opened_on - DATE '1970-01-01'",
        "kind",
        "status",
        "county_code",
        "township_code",
        "village_code",
        *_CELLS,
        "n",
    ]
    # One row of arrays rather than a row per cube row: no per-row Python objects.
    row = session.execute(
        text(f"SELECT {', '.join(f'array_agg({c})' for c in columns)} FROM case_cube")
    ).one()
    values = [list(v or []) for v in row]
    day = np.asarray(values[0], dtype=np.int32)
    dates = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    codes: dict[str, npt.NDArray[np.int32]] = {}
    labels: dict[str, npt.NDArray[np.object_]] = {}
    for name, raw in zip(("kind", "status", *_CODE_LEVELS), values[1:6], strict=True):
        index, uniques = pd.factorize(pd.Series(raw, dtype=object), use_na_sentinel=True)
        codes[name] = index.astype(np.int32)
        labels[name] = np.asarray(uniques, dtype=object)
    cells = {
        r: np.asarray(v, dtype=np.int64).astype(np.uint64)
        for r, v in zip(RESOLUTIONS, values[6:-1], strict=True)
    }
    return Cube(
        day=day,
        # Months since year 0 (1970 + months since the epoch), for YYYY-MM labels.
        month=(dates + 1970 * 12).astype(np.int32),
        codes=codes,
        labels=labels,
        cells=cells,
        n=np.asarray(values[-1], dtype=np.int64),
    )
