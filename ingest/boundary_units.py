"""Units from a boundary file's features: codes, levels, names and repaired geometries.

Everything here looks at the file alone (no database): a code that cannot be read, a unit
without a name, a feature of the wrong level or a broken geometry is a row error naming the
feature; a geometry that can be repaired is repaired and reported.  Parts of one unit (same
code and name) merge into one MultiPolygon.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from ingest.crs import transform_geometries
from ingest.errors import IngestError
from ingest.fields import LEVELS, codes_as_text, find_fields, normalise_codes
from ingest.fields import parent_codes as implied_parent_codes
from ingest.geometry import geometry_problems, repair
from ingest.hierarchy import is_metric_crs
from ingest.report import ImportReport

__all__ = ["prepare_units"]

_LEVEL_ZH = {"city": "市", "county": "县", "township": "乡镇", "village": "村", "group": "村民小组"}


def prepare_units(
    frame: pd.DataFrame,
    shown: str,
    *,
    level: str | None,
    fields: dict[str, str] | None,
    report: ImportReport,
) -> pd.DataFrame:
    """Units from the file's features: codes, levels, names, repaired lon/lat MultiPolygons."""
    found = _fields(frame, shown, fields)
    report.details["fields"] = found
    n = len(frame)
    report.counts["features"] = n
    if n == 0:
        raise IngestError(shown, "holds no features (没有要素)")
    feature = pd.Series([f"feature {i}" for i in range(1, n + 1)])
    code, code_level, names = _codes_and_names(frame, found, feature, level=level, report=report)
    geoms, geoms_m, bad_geom = _geometries(frame, code, feature, report)
    units = pd.DataFrame(
        {
            "row": np.arange(1, n + 1),
            "code": code,
            "level": code_level,
            "name": names,
            "geom": geoms,
            "geom_m": geoms_m,
        }
    )
    for key in ("households", "population"):
        if key in found:
            values = pd.to_numeric(frame[found[key]].reset_index(drop=True), errors="coerce")
            units[key] = values.round().astype("Int64")
        else:
            units[key] = pd.array([pd.NA] * n, dtype="Int64")
    usable = units["code"].notna() & units["name"].notna() & ~bad_geom
    units = _merge_duplicates(units[usable].copy(), report)
    units["county_code"] = [c[:6] for c in units["code"].tolist()]
    units["parent_code"] = implied_parent_codes(units["code"], units["level"])
    counts = units["level"].value_counts()
    for lvl in LEVELS:
        if lvl in counts:
            report.counts[lvl] = int(counts[lvl])
    report.counts["units"] = len(units)
    return units.reset_index(drop=True)


def _fields(frame: pd.DataFrame, shown: str, fields: dict[str, str] | None) -> dict[str, str]:
    """The file's field for each key (``code``, ``name``, ...); code and name are required."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    try:
        found = find_fields(columns, fields)
    except KeyError as exc:
        msg = f"has no field {exc.args[0]!r}; its fields are: {', '.join(columns)}"
        raise IngestError(shown, msg) from exc
    for key in ("code", "name"):
        if key not in found:
            msg = (
                f"no {key} field recognised (未识别{'代码' if key == 'code' else '名称'}字段); "
                f"its fields are: {', '.join(columns) or 'none'}; pass fields={{'{key}': ...}}"
            )
            raise IngestError(shown, msg)
    return found


def _codes_and_names(
    frame: pd.DataFrame,
    found: dict[str, str],
    feature: pd.Series,
    *,
    level: str | None,
    report: ImportReport,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Each feature's normalised code, its level and its name; problems are row errors."""
    raw_codes = codes_as_text(frame[found["code"]]).reset_index(drop=True)
    code, code_level, code_problem = normalise_codes(raw_codes)
    for i in np.flatnonzero(code_problem.notna().to_numpy()):
        report.add("error", feature[i], str(code_problem[i]), "代码有误")
    names = frame[found["name"]].reset_index(drop=True)
    names = pd.Series(
        [(v.strip() or None) if type(v) is str else _text_or_none(v) for v in names.tolist()],
        dtype=object,
    )
    for i in np.flatnonzero(names.isna().to_numpy() & code.notna().to_numpy()):
        report.add("error", feature[i], f"unit {code[i]} has no name (缺少名称)", "缺少名称")
    if level is not None:
        wrong = code_level.notna() & (code_level != level)
        for i in np.flatnonzero(wrong.to_numpy()):
            report.add(
                "error",
                feature[i],
                f"mixed levels: code {code[i]} is a {code_level[i]}, not a {level} "
                "(层级不一致); split the file or fix the code",
                f"层级不一致：{code[i]} 是{_LEVEL_ZH[code_level[i]]}级",
            )
    return code, code_level, names


def _geometries(
    frame: pd.DataFrame, code: pd.Series, feature: pd.Series, report: ImportReport
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    """Repaired geometries in lon/lat and in the file's metres (or None), and which are bad.

    Check and repair in the file's own coordinates, as the surveyor drew them: a sliver
    that collapsed there can turn into a tiny triangle after projection to lon/lat.
    """
    n = len(frame)
    geoms = np.asarray(frame.geometry.to_numpy(), dtype=object)
    bad_geom = np.zeros(n, dtype=bool)
    for i, problem in geometry_problems(geoms):
        bad_geom[i] = True
        report.add("error", feature[i], f"{_label(code[i])}{problem}", problem)
    fixed = np.full(n, None, dtype=object)
    ok = np.flatnonzero(~bad_geom)
    fixed[ok], repairs = repair(geoms[ok])
    for j, note in repairs:
        i = int(ok[j])
        report.add("repair", feature[i], f"{_label(code[i])}{note}", "几何已修复")
    report.counts["repaired"] = len(repairs)
    emptied = ok[shapely.is_empty(fixed[ok])]
    for i in emptied:
        bad_geom[i] = True
        report.add("error", feature[i], f"{_label(code[i])}no area left after repair", "修复后为空")
    fixed[bad_geom] = None
    in_metric = fixed if is_metric_crs(frame.crs) else np.full(n, None, dtype=object)
    return transform_geometries(fixed, frame.crs, "EPSG:4326"), in_metric, bad_geom


def _merge_duplicates(units: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
    """One row per code: parts of one unit (same code and name) merge; else it is an error."""
    dup = units["code"].duplicated(keep=False)
    if not dup.any():
        return units
    keep = units[~dup]
    merged = []
    for code, group in units[dup].groupby("code", sort=False):
        rows = ", ".join(str(r) for r in group["row"])
        if group["name"].nunique() > 1:
            names = " / ".join(group["name"].unique())
            report.add(
                "error",
                f"features {rows}",
                f"duplicate code {code} for different units ({names}) (代码重复)",
                f"代码 {code} 重复",
            )
            continue
        first = group.iloc[[0]].copy()
        union = shapely.union_all(np.asarray(group["geom"].to_numpy(), dtype=object))
        first["geom"] = [shapely.multipolygons(shapely.get_parts(union))]
        first["geom_m"] = None
        report.add(
            "repair",
            f"features {rows}",
            f"{len(group)} features of unit {code} ({group['name'].iat[0]}) merged into one",
            "同一单位的多个要素已合并",
        )
        merged.append(first)
    return pd.concat([keep, *merged]).sort_values("row")


def _text_or_none(value: object) -> str | None:
    if value is None or pd.isna(value):
        return None
    return str(value).strip() or None


def _label(code: object) -> str:
    return f"unit {code}: " if isinstance(code, str) else ""
