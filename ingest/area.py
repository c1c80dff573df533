"""The uploading user's area: rows and features outside it are refused, never written.

A staff member of a county or township imports only inside their own area.  Each importer
resolves every row (or feature) to its unit first, then calls :func:`refuse_outside`; any
refusal is an error, so the import is rejected as a whole and nothing is written.  The
command line runs as the operator and passes no area.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ingest.report import ImportReport
from models.places import area_prefix


def refuse_outside(
    report: ImportReport,
    where: Sequence[str] | pd.Series,
    codes: Sequence[object] | pd.Series,
    area: str | None,
) -> int:
    """Add one error per row whose unit ``codes`` lies outside ``area``; how many.

    Parameters
    ----------
    report
        The import's report (its file is named in every message).
    where
        Each row's place in the file (``"row 12"``, ``"feature 3"``).
    codes
        Each row's unit code; rows without one (refused for another reason) are skipped.
    area
        The uploading user's area code; None checks nothing (the operator).
    """
    if not area:
        return 0
    prefix = area_prefix(area)
    code = pd.Series(list(codes), dtype=object)
    known = code.notna().to_numpy()
    inside = code.astype(str).str.startswith(prefix).to_numpy()
    labels = list(where)
    outside = np.flatnonzero(known & ~inside)
    for i in outside:
        report.add(
            "error",
            labels[i],
            f"{report.file}, {labels[i]}: unit {code[i]} lies outside your area {area}; "
            "you may import only inside it (nothing written)",
            f"{report.file}（{labels[i]}）：单位 {code[i]} 不在您的辖区 {area} 内，"
            "只能导入本辖区的数据（未写入）",
        )
    return len(outside)


def confine_review_items(
    report: ImportReport, items: list[dict[str, Any]], area: str | None
) -> int:
    """Keep an area-limited import's review items inside the uploader's area; refusals.

    A row that could not be placed goes to the review queue with its candidate units.  For a
    county or township user those candidates are cut to the user's area (a row placed outside
    it would be refused anyway, :func:`refuse_outside`), and the item is filed under the
    user's county, so it shows in the uploader's queue and in no other area's.  A row whose
    candidates all lie outside the area is an error, like a placed row outside it.

    Returns the number of refused rows (each one reported); ``items`` is changed in place.
    """
    if not area:
        return 0
    prefix = area_prefix(area)
    if len(prefix) < 6:
        return 0  # city-wide: every item is the user's
    refused = 0
    for item in items:
        units = item["candidates"]["units"]
        inside = [unit for unit in units if str(unit["code"]).startswith(prefix)]
        if units and not inside:
            where = f"row {item['row_number']}"
            report.add(
                "error",
                where,
                f"{report.file}, {where}: every place the address may be lies outside your "
                f"area {area}; you may import only inside it (nothing written)",
                f"{report.file}（{where}）：地址的可能位置都不在您的辖区 {area} 内，"
                "只能导入本辖区的数据（未写入）",
            )
            refused += 1
            continue
        item["candidates"]["units"] = inside
        item["county_code"] = prefix[:6]
    return refused
