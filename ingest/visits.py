"""The fields of a household-visit log (走访记录): headers, times and teams."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from ingest.cases import LOCATION_HEADERS
from ingest.report import ImportReport
from ingest.rows import RowFlags
from ingest.tables import column
from models import activity as queries

__all__ = ["VISIT_HEADERS", "visit_fields"]

VISIT_HEADERS: dict[str, tuple[str, ...]] = {
    # The source system's own record id, when the export has one: the visit's natural key.
    "source_id": ("走访编号", "记录编号", "走访记录编号", "记录id", "visitid", "recordid"),
    "team": ("工作队", "工作队名称", "走访工作队", "队名", "team", "teamname"),
    "household": ("户", "户号", "户主", "走访对象", "被走访户", "household", "householdid"),
    "visited_at": ("走访时间", "走访日期", "时间", "visitedat", "visittime", "time", "date"),
    **LOCATION_HEADERS,
}
_LOCAL_TZ = "Asia/Shanghai"
_TZ_SUFFIX = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z)$")


def _visit_times(raw: pd.Series, rows: RowFlags) -> pd.Series:
    """UTC times; a time without an offset is Shaoyang's local time."""
    aware = raw.str.contains(_TZ_SUFFIX, na=False).to_numpy()
    stamp = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        stamp[aware] = pd.to_datetime(raw[aware], errors="coerce", utc=True, format="ISO8601")
    naive = ~aware & raw.notna().to_numpy()
    if naive.any():
        local = pd.to_datetime(raw[naive], errors="coerce", format="ISO8601")
        retry = local.isna()
        if retry.any():
            local[retry] = pd.to_datetime(raw[naive][retry], errors="coerce", format="mixed")
        stamp[naive] = local.dt.tz_localize(_LOCAL_TZ, ambiguous="NaT").dt.tz_convert("UTC")
    rows.flag(raw.notna() & stamp.isna(), "bad_date", raw.to_numpy(object))
    rows.flag(raw.isna(), "no_date")
    return stamp


def visit_fields(
    table: pd.DataFrame,
    cols: dict[str, str],
    rows: RowFlags,
    *,
    session: Session,
    report: ImportReport,
) -> pd.DataFrame:
    """Each row's visit fields (team, household, time, source id); bad ones flagged.

    A team name not in the register is a warning: the visit loads without a team.
    """
    stamp = _visit_times(column(table, cols, "visited_at"), rows)
    team_raw = column(table, cols, "team")
    team_id = team_raw.map(queries.team_ids_by_name(session))
    unknown = team_raw.notna() & team_id.isna()
    if unknown.any():
        names = ", ".join(sorted(set(team_raw[unknown]))[:5])
        report.add(
            "warning",
            "",
            f"{int(unknown.sum())} rows name a team not in the register ({names} …); "
            "loaded without a team",
            "工作队不在登记表中，已导入但未关联工作队",
        )
    report.counts["unknown_team"] = int(unknown.sum())
    epoch = (stamp - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return pd.DataFrame(
        {
            "row_no": np.arange(len(table)),
            "team_id": team_id.astype("Int64").to_numpy(),
            "household": column(table, cols, "household").to_numpy(object),
            "source_id": column(table, cols, "source_id").to_numpy(object),
            "visited_epoch": epoch.to_numpy(float),
            "visited_at": stamp,
        }
    )
