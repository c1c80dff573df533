"""Repair boundary geometries and turn each feature into one valid MultiPolygon, vectorised."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

_POLYGON = shapely.GeometryType.POLYGON
_MULTIPOLYGON = shapely.GeometryType.MULTIPOLYGON
_COLLECTION = shapely.GeometryType.GEOMETRYCOLLECTION
_TYPE_NAMES = {int(t): t.name.title().replace("string", "String") for t in shapely.GeometryType}
_TYPE_NAMES[int(shapely.GeometryType.LINESTRING)] = "LineString"
_TYPE_NAMES[int(shapely.GeometryType.MULTILINESTRING)] = "MultiLineString"
_TYPE_NAMES[int(shapely.GeometryType.MULTIPOINT)] = "MultiPoint"
_TYPE_NAMES[int(shapely.GeometryType.MULTIPOLYGON)] = "MultiPolygon"
_TYPE_NAMES[int(shapely.GeometryType.GEOMETRYCOLLECTION)] = "GeometryCollection"
_TYPE_NAMES[int(shapely.GeometryType.LINEARRING)] = "LinearRing"


def geometry_problems(geoms: npt.NDArray[np.object_]) -> list[tuple[int, str]]:
    """Positions and reasons of features that cannot be a unit: missing, empty, not polygons.

    >>> from shapely import Point, box
    >>> geometry_problems(np.array([box(0, 0, 1, 1), Point(0, 0), None], dtype=object))
    [(1, 'is a Point, not a polygon (不是面)'), (2, 'has no geometry (空几何)')]
    """
    out: list[tuple[int, str]] = []
    missing = shapely.is_missing(geoms)
    empty = ~missing & shapely.is_empty(geoms)
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, [int(_POLYGON), int(_MULTIPOLYGON)])
    collection = types == int(_COLLECTION)
    for i in np.flatnonzero(missing | empty):
        out.append((int(i), "has no geometry (空几何)"))
    for i in np.flatnonzero(~missing & ~empty & ~polygonal & ~collection):
        out.append(
            (int(i), f"is a {_TYPE_NAMES.get(int(types[i]), 'geometry')}, not a polygon (不是面)")
        )
    for i in np.flatnonzero(~missing & ~empty & collection):
        parts = shapely.get_parts(geoms[i])
        if not np.isin(shapely.get_type_id(parts), [int(_POLYGON), int(_MULTIPOLYGON)]).any():
            out.append((int(i), "is a collection without polygons (不是面)"))
    return sorted(out)


def repair(
    geoms: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.object_], list[tuple[int, str]]]:
    """Make polygons valid and return them as MultiPolygons, with what was repaired where.

    Only invalid features go through ``make_valid`` (structure method: a bow-tie becomes two
    triangles, not a line); parts that are not polygons (slivers collapsed to lines) are
    dropped.  Input features must be polygonal (see :func:`geometry_problems`).

    >>> from shapely import Polygon
    >>> bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> fixed, notes = repair(np.array([bowtie], dtype=object))
    >>> fixed[0].geom_type, round(fixed[0].area, 6), notes[0][0]
    ('MultiPolygon', 2.0, 0)

    Returns
    -------
    geoms : numpy.ndarray of MultiPolygon
        One per input, empty where nothing polygonal was left.
    repairs : list of (position, reason)
        GEOS's reason for each invalid input (e.g. "Self-intersection[1 1]").
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    notes: list[tuple[int, str]] = []
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if len(invalid):
        reasons = shapely.is_valid_reason(geoms[invalid])
        before = shapely.area(geoms[invalid])
        fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        after = shapely.area(fixed)
        for i, reason, a0, a1 in zip(invalid, reasons, before, after, strict=True):
            notes.append((int(i), f"{reason}; made valid (已修复), area {a0:.6g} → {a1:.6g}"))
        geoms[invalid] = fixed
    return to_multipolygons(geoms), notes


def to_multipolygons(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """One MultiPolygon per input from its polygon parts (other parts dropped)."""
    geoms = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(geoms)
    single = types == int(_POLYGON)
    if (single | (types == int(_MULTIPOLYGON))).all():
        # The usual case: wrap each Polygon as a one-part MultiPolygon, no splitting needed.
        out = geoms.copy()
        if single.any():
            out[single] = shapely.multipolygons(geoms[single].reshape(-1, 1))
        return out
    parts, index = shapely.get_parts(geoms, return_index=True)
    # GeometryCollections from make_valid nest one level deeper.
    nested = shapely.get_type_id(parts) != int(_POLYGON)
    if nested.any():
        sub, sub_index = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        index = np.concatenate([index[~nested], index[nested][sub_index]])
    keep = shapely.get_type_id(parts) == int(_POLYGON)
    parts, index = parts[keep], index[keep]
    result = np.full(len(geoms), None, dtype=object)
    # With ``out`` given, features left without a polygon part (index skipped) stay None.
    shapely.multipolygons(parts, indices=index, out=result)
    result[shapely.is_missing(result)] = shapely.from_wkt("MULTIPOLYGON EMPTY")
    return result
