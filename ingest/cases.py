"""The fields of a case register (信访, 矛盾纠纷, 代办, 建议): headers, words and row checks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingest.rows import RowFlags, parse_dates
from ingest.tables import column

__all__ = ["CASE_HEADERS", "KIND_WORDS", "LOCATION_HEADERS", "STATUS_WORDS", "case_fields"]

# Where a row is: shared with visits.
LOCATION_HEADERS: dict[str, tuple[str, ...]] = {
    "address": ("地址", "详细地址", "发生地址", "发生地点", "事发地址", "地点", "住址", "address"),
    "lon": ("经度", "lon", "lng", "longitude", "x"),
    "lat": ("纬度", "lat", "latitude", "y"),
    "crs": ("坐标系", "坐标系统", "坐标类型", "crs", "coordtype", "coordsystem", "srs"),
    # A hint for the geocoder when the address leaves the county out (name or code).
    "county": ("县市区", "所属县市区", "县区", "区县", "县(市、区)", "county"),
}
CASE_HEADERS: dict[str, tuple[str, ...]] = {
    "case_no": ("案件编号", "编号", "案件号", "受理编号", "caseno", "case", "no", "id"),
    "kind": ("类型", "案件类型", "类别", "案件类别", "kind", "type", "casetype"),
    "status": ("状态", "办理状态", "案件状态", "status"),
    "opened_on": ("受理日期", "登记日期", "受理时间", "登记时间", "日期", "openedon", "opened"),
    "closed_on": ("办结日期", "办结时间", "结案日期", "closedon", "closed"),
    "petitioner": ("当事人", "姓名", "信访人", "申请人", "反映人", "petitioner", "name"),
    "phone": ("联系电话", "电话", "手机", "手机号", "phone", "tel", "mobile"),
    "summary": ("事由", "摘要", "内容", "案件摘要", "主要内容", "summary", "content"),
    **LOCATION_HEADERS,
}
KIND_WORDS = {
    "信访": "petition", "上访": "petition", "petition": "petition",
    "矛盾纠纷": "dispute", "纠纷": "dispute", "矛盾": "dispute", "dispute": "dispute",
    "代办": "service", "代办服务": "service", "服务": "service", "service": "service",
    "建议": "suggestion", "意见建议": "suggestion", "suggestion": "suggestion",
}  # fmt: skip
STATUS_WORDS = {
    "已受理": "open", "受理": "open", "待办": "open", "未办结": "open", "open": "open",
    "办理中": "in_progress", "处理中": "in_progress", "在办": "in_progress",
    "in_progress": "in_progress", "inprogress": "in_progress", "processing": "in_progress",
    "已办结": "closed", "办结": "closed", "已结案": "closed", "结案": "closed",
    "closed": "closed",
}  # fmt: skip


def _words(raw: pd.Series, table: dict[str, str]) -> pd.Series:
    return raw.str.lower().str.replace(r"\s", "", regex=True).map(table)


def case_fields(table: pd.DataFrame, cols: dict[str, str], rows: RowFlags) -> pd.DataFrame:
    """Each row's case fields (number, kind, status, dates, people, text); bad ones flagged.

    A case number repeated in the file is flagged ``duplicate_in_file`` naming the first row.
    """
    n = len(table)
    case_no = column(table, cols, "case_no")
    rows.flag(case_no.isna(), "no_case_no")
    kind_raw = column(table, cols, "kind")
    kind = _words(kind_raw, KIND_WORDS)
    rows.flag(kind.isna(), "bad_kind", kind_raw.to_numpy(object))
    status_raw = column(table, cols, "status")
    status = _words(status_raw, STATUS_WORDS)
    rows.flag(status_raw.notna() & status.isna(), "bad_status", status_raw.to_numpy(object))
    opened = parse_dates(column(table, cols, "opened_on"), rows, required=True)
    closed = parse_dates(column(table, cols, "closed_on"), rows, required=False)
    status = status.where(status.notna(), np.where(closed.notna(), "closed", "open"))
    rows.flag((closed < opened).to_numpy(), "closed_before_opened")
    first_row = pd.Series(np.arange(n)).groupby(case_no.to_numpy()).transform("min")
    dup = case_no.notna().to_numpy() & case_no.duplicated(keep="first").to_numpy()
    rows.flag(dup, "duplicate_in_file", ("row " + (first_row + 2).astype(str)).to_numpy(object))

    def day(stamp: pd.Series) -> np.ndarray:
        return np.asarray(stamp.dt.date.astype(object).where(stamp.notna(), None), dtype=object)

    return pd.DataFrame(
        {
            "row_no": np.arange(n),
            "case_no": case_no.to_numpy(object),
            "kind": kind.to_numpy(object),
            "status": status.to_numpy(object),
            "opened_on": day(opened),
            "closed_on": day(closed),
            **{
                key: column(table, cols, key).to_numpy(object)
                for key in ("petitioner", "phone", "summary", "address")
            },
        }
    )
