"""The uploading user's area: rows and features outside it are refused, never written.

A staff member of a county or township imports only inside their own area.  Each importer
resolves every row (or feature) to its unit first, then calls :func:`refuse_outside`; any
refusal is an error, so the import is rejected as a whole and nothing is written.  The
command line runs as the operator and passes no area.
"""

from __future__ import annotations

from collections.abc import Sequence

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
