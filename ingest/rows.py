"""Per-row verdicts of a case or visit import: why a row waits for review, and its review item.

A row's first problem wins; rows without one are loaded.  A row that cannot be placed or read
becomes a review item with its reason and candidate units; none is dropped.  A row already in
the database is not a problem of the row: it is a duplicate, counted and skipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ingest.points import PROBLEMS
from ingest.report import ImportReport

__all__ = ["PLACE_ONLY", "REASONS", "RowFlags", "jsonable", "parse_dates", "review_items"]

# Report lines per reason: a million bad rows must not make a million-line report.
MAX_LINES_PER_REASON = 200

# Reason code -> (English, Chinese); the row's own detail is appended.
REASONS: dict[str, tuple[str, str]] = {
    "no_case_no": ("no case number", "缺少案件编号"),
    "bad_kind": ("case type not understood", "案件类型无法识别"),
    "bad_status": ("status not understood", "办理状态无法识别"),
    "no_date": ("no date", "缺少日期"),
    "bad_date": ("date not understood", "日期无法识别"),
    "closed_before_opened": ("closed before it was opened", "办结日期早于受理日期"),
    "duplicate_in_file": ("repeats an earlier row", "与文件中前面的行重复"),
    **PROBLEMS,
    "no_location": ("neither an address nor coordinates", "既无地址也无坐标"),
    "unmatched": ("address not found", "地址无法匹配"),
    "ambiguous": ("address fits several places", "地址有多个可能位置"),
    "too_coarse": ("address only locates the county or city", "地址只能定位到县市"),
    "outside_units": ("point outside every villager group", "坐标不在任何村民小组内"),
}
# Reasons a person can settle by placing the row on the map: its record is kept in the item.
PLACE_ONLY = frozenset(
    {"unmatched", "ambiguous", "too_coarse", "outside_units", "no_location", *PROBLEMS}
)
_UnitPoint = tuple[str, str, float | None, float | None]  # name, level, lon, lat


class RowFlags:
    """Per-row reasons (first one wins), details, candidate units while a table is checked."""

    def __init__(self, n: int) -> None:
        self.code = np.full(n, None, dtype=object)
        self.detail = np.full(n, None, dtype=object)
        self.candidates: dict[int, list[str]] = {}
        self.units: dict[str, _UnitPoint] = {}

    def flag(self, mask: np.ndarray | pd.Series, code: str, detail: Any = None) -> None:
        """Give ``code`` (a :data:`REASONS` key) to the rows in ``mask`` not flagged yet."""
        m = np.asarray(mask, dtype=bool) & (self.code == None)  # noqa: E711  (elementwise)
        self.code[m] = code
        if detail is not None:
            d = np.asarray(detail, dtype=object)
            self.detail[m] = d[m] if d.shape else d

    @property
    def good(self) -> np.ndarray:
        """Rows without a problem so far."""
        return np.asarray(self.code == None, dtype=bool)  # noqa: E711


def parse_dates(raw: pd.Series, rows: RowFlags, *, required: bool) -> pd.Series:
    """Dates in ISO form, ``2012/3/5`` or ``2012年3月5日``; bad ones flagged ``bad_date``."""
    parsed = pd.to_datetime(raw, errors="coerce", format="ISO8601")
    retry = raw.notna() & parsed.isna()
    if retry.any():
        # Hand-typed dates are rare: parse those one by one.
        cleaned = raw[retry].str.replace(r"[年月]", "-", regex=True).str.replace("日", "")
        parsed[retry] = pd.to_datetime(cleaned, errors="coerce", format="mixed")
    rows.flag(raw.notna() & parsed.isna(), "bad_date", raw.to_numpy(object))
    if required:
        rows.flag(raw.isna(), "no_date")
    return parsed


def review_items(
    table: pd.DataFrame, rows: RowFlags, records: pd.DataFrame, *, item: str, report: ImportReport
) -> list[dict[str, Any]]:
    """One review item per flagged row (``item``: ``"case"`` or ``"visit"``), and report lines.

    ``report.details["review_reasons"]`` counts the rows by reason.
    """
    bad = np.flatnonzero(~rows.good)
    reasons: dict[str, int] = {}
    items = []
    keep = [c for c in records.columns if c not in ("lon", "lat", "fixed_code", "visit_key")]
    for i, row in zip(bad, table.iloc[bad].to_dict("records"), strict=True):
        code = str(rows.code[i])
        en, zh = REASONS[code]
        detail = rows.detail[i]
        if detail is not None and not (isinstance(detail, float) and np.isnan(detail)):
            en, zh = f"{en}: {detail}", f"{zh}: {detail}"
        reasons[code] = reasons.get(code, 0) + 1
        if reasons[code] <= MAX_LINES_PER_REASON:
            report.add("warning", f"row {i + 2}", f"to review: {en}", f"待人工处理: {zh}")
        record = None
        if code in PLACE_ONLY:
            record = {k: jsonable(v) for k, v in records.iloc[i][keep].to_dict().items()}
        cands = _candidates(rows, int(i))
        counties = {c["code"][:6] for c in cands}
        items.append(
            {
                "kind": item,
                "row_number": int(i) + 2,
                "county_code": counties.pop() if len(counties) == 1 else None,
                "raw": {
                    "row": {k: jsonable(v) for k, v in row.items() if jsonable(v) is not None},
                    "record": record,
                },
                "reason": f"{zh} / {en}",
                "candidates": {"units": cands},
            }
        )
    report.details["review_reasons"] = reasons
    return items


def _candidates(rows: RowFlags, i: int) -> list[dict[str, Any]]:
    units = rows.units
    return [
        {"code": c, "name": units[c][0], "level": units[c][1], "lon": units[c][2],
         "lat": units[c][3]}
        for c in rows.candidates.get(i, []) if c in units
    ]  # fmt: skip


def jsonable(value: Any) -> Any:
    """A cell as JSON can hold it: None for NaN/NaT/NA, floats, ints, ISO dates."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
