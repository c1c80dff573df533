"""Which unit each register row belongs to: by its code, else by its name path.

A code must name a unit of the register's level in the generation; a name is matched with
whichever ancestor names the table gives (county / township / village), and must then be
unique.  Every row that cannot be placed becomes an error in the report, with its row number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.fields import codes_as_text, normalise_codes
from ingest.report import ImportReport

__all__ = ["RegisterKind", "match_units"]


@dataclass(frozen=True)
class RegisterKind:
    """What one register holds and where its rows belong."""

    kind: str  # import_batch.kind
    level: str  # the unit level each row belongs to
    ancestors: tuple[str, ...]  # name columns above it, nearest first
    count_key: str


def match_units(
    table: pd.DataFrame,
    cols: dict[str, str],
    kind: RegisterKind,
    units: pd.DataFrame,
    rows: pd.Series,
    report: ImportReport,
) -> pd.Series:
    """Each row's unit id, by code where given, else by name path; errors for the rest."""
    n = len(table)
    unit_id = pd.Series(pd.array([pd.NA] * n, dtype="Int64"))
    by_code = units.set_index("code")["id"]
    level_zh = {"village": "村", "group": "村民小组", "township": "乡镇"}[kind.level]
    has_code = pd.Series(np.zeros(n, dtype=bool))
    if "code" in cols:
        raw = codes_as_text(table[cols["code"]])
        has_code = raw.notna()
        code, level, problem = normalise_codes(raw)
        for i in np.flatnonzero(has_code & problem.notna()):
            report.add("error", rows[i], str(problem[i]), "代码有误")
        wrong_level = has_code & code.notna() & (level != kind.level)
        for i in np.flatnonzero(wrong_level):
            report.add(
                "error",
                rows[i],
                f"code {code[i]} is a {level[i]}, but a {kind.kind[:-1]} belongs to a {kind.level}",
                f"代码层级不对，应为{level_zh}代码",
            )
        ok = has_code & code.notna() & (level == kind.level)
        found = code[ok].map(by_code)
        for i in np.flatnonzero(ok)[found.isna().to_numpy()]:
            report.add(
                "error",
                rows[i],
                f"no {kind.level} with code {code[i]} in generation {report.generation}",
                f"找不到代码为 {code[i]} 的{level_zh}",
            )
        unit_id[found.index] = found.astype("Int64")
    if kind.level in cols:
        by_name = ~has_code & table[cols[kind.level]].notna()
        _match_by_name(table, cols, kind, units, rows, report, by_name, unit_id)
        no_unit = ~has_code & table[cols[kind.level]].isna()
    else:
        no_unit = ~has_code
    for i in np.flatnonzero(no_unit):
        report.add(
            "error",
            rows[i],
            f"neither a code nor a {kind.level} name: cannot tell where it belongs",
            f"缺少{level_zh}代码或名称",
        )
    return unit_id


def _match_by_name(
    table: pd.DataFrame,
    cols: dict[str, str],
    kind: RegisterKind,
    units: pd.DataFrame,
    rows: pd.Series,
    report: ImportReport,
    mask: pd.Series,
    unit_id: pd.Series,
) -> None:
    """Match rows by unit name and whichever ancestor names the table gives (a merge)."""
    if not mask.any():
        return
    ancestor_cols = ("parent_name", "grandparent_name", "great_grandparent_name")
    given = [(a, c) for a, c in zip(kind.ancestors, ancestor_cols, strict=False) if a in cols]
    left = pd.DataFrame({"pos": np.flatnonzero(mask), "name": table.loc[mask, cols[kind.level]]})
    for a, _ in given:
        left[a] = table.loc[mask, cols[a]].to_numpy()
    right = units[["id", "name", *[c for _, c in given]]].rename(columns={c: a for a, c in given})
    on = ["name"] + [a for a, _ in given]
    # A blank ancestor cell means "not given": match those rows on the name alone.
    merged = left.merge(right, on="name", how="left", suffixes=("", "_unit"))
    keep = pd.Series(True, index=merged.index)
    for a in on[1:]:
        keep &= merged[a].isna() | (merged[a] == merged[f"{a}_unit"])
    merged = merged[keep & merged["id"].notna()]
    hits = merged.groupby("pos")["id"].agg(["first", "count"])
    for pos in left["pos"]:
        path = " / ".join(
            str(table.at[pos, cols[a]])
            for a, _ in reversed(given)
            if pd.notna(table.at[pos, cols[a]])
        )
        label = (
            f"{path} / {table.at[pos, cols[kind.level]]}"
            if path
            else str(table.at[pos, cols[kind.level]])
        )
        if pos not in hits.index:
            report.add(
                "error",
                rows[pos],
                f"no {kind.level} named {label} in generation {report.generation}",
                f"找不到 {label}",
            )
        elif hits.at[pos, "count"] > 1:
            report.add(
                "error",
                rows[pos],
                f"{hits.at[pos, 'count']} {kind.level}s are named {label}; add the "
                f"{' / '.join(kind.ancestors)} names or the code",
                f"名称 {label} 不唯一，请补充上级名称或代码",
            )
        else:
            unit_id.iat[pos] = int(hits.at[pos, "first"])
