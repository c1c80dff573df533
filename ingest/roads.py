"""Import a road network: lines from a shapefile, GeoPackage, GeoJSON or an OSM extract (PBF, XML).

Dry run unless ``commit``; a commit replaces every road in one transaction.  Checked first:
there are lines, the coordinate system is known and puts them in the Shaoyang area, every
road class has a speed (a default table the user may override), and the network is one
connected whole: a disconnected part is named (its lines' names or ids and where it lies)
and nothing is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from scipy.spatial import cKDTree

from geo.roads import DEFAULT_SPEEDS_KMH, components, road_graph
from ingest.errors import IngestError
from models import registers
from models.db import transaction
from models.roads import current_batch, replace_roads

__all__ = ["RoadReport", "import_roads", "read_speeds"]

_CLASS_FIELDS = ("road_class", "class", "highway", "fclass", "type", "等级", "道路等级")
_NAME_FIELDS = ("name", "名称", "道路名称")
_BOX = (108.0, 24.0, 114.0, 30.0)  # lon/lat around Shaoyang
MAX_PARTS_SHOWN = 5


class RoadReport(dict[str, Any]):
    """What an import found and did (``status``: dry_run or committed)."""


def read_speeds(path: Path) -> dict[str, float]:
    """A speed table CSV (``class,speed_kmh``) that overrides the defaults."""
    try:
        table = pd.read_csv(path, dtype=str)
    except (OSError, ValueError) as exc:
        raise IngestError(path, f"is not a readable CSV ({exc})") from exc
    if not {"class", "speed_kmh"} <= set(table.columns):
        raise IngestError(path, "needs the columns class,speed_kmh")
    speeds = pd.to_numeric(table["speed_kmh"], errors="coerce")
    bad = np.flatnonzero(~(speeds > 0) | ~(speeds < 200))
    if len(bad):
        i = int(bad[0])
        raise IngestError(
            path, f"speed must be 1-199 km/h, got {table['speed_kmh'][i]!r}", where=f"row {i + 2}"
        )
    return dict(zip(table["class"].str.strip(), speeds.astype(float), strict=True))


def _read(path: Path, shown: str, layer: str | None) -> gpd.GeoDataFrame:
    kwargs: dict[str, Any] = {}
    # OpenStreetMap data (PBF or XML) through GDAL's OSM driver: ways are its "lines" layer
    if path.suffix.lower() in (".pbf", ".osm"):
        kwargs["layer"] = layer or "lines"
    elif layer:
        kwargs["layer"] = layer
    try:
        frame = pyogrio.read_dataframe(path, **kwargs)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise IngestError(shown, f"is not a readable GIS file ({exc})") from exc
    if frame.crs is None:
        raise IngestError(shown, "has no coordinate system (.prj): give one, e.g. --crs EPSG:4546")
    lines = frame[frame.geom_type.isin(["LineString", "MultiLineString"])]
    if lines.empty:
        kinds = ", ".join(sorted(set(frame.geom_type.dropna()))) or "no features"
        raise IngestError(shown, f"holds no lines ({kinds})")
    return lines


def _pick(columns: list[str], names: tuple[str, ...], given: str | None, shown: str) -> str | None:
    if given:
        if given not in columns:
            raise IngestError(shown, f"has no field {given!r} (fields: {', '.join(columns)})")
        return given
    lowered = {c.lower(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def _check_area(lines: gpd.GeoDataFrame, shown: str) -> gpd.GeoDataFrame:
    lonlat = lines.to_crs("EPSG:4326")
    west, south, east, north = lonlat.total_bounds
    if not (_BOX[0] <= west and east <= _BOX[2] and _BOX[1] <= south and north <= _BOX[3]):
        msg = (
            f"lies at {west:.2f}..{east:.2f} E, {south:.2f}..{north:.2f} N in {lines.crs.to_string()},"
            " not around Shaoyang: wrong coordinate system?"
        )
        raise IngestError(shown, msg)
    return lonlat


def _disconnected(lines: gpd.GeoDataFrame, graph: Any, name_col: str | None, shown: str) -> None:
    labels = components(graph)
    parts = np.unique(labels)
    if len(parts) <= 1:
        return
    # a line's part is that of its first vertex's node
    first = shapely.get_point(
        lines.geometry.explode(index_parts=False).groupby(level=0).first().to_numpy(), 0
    )
    _, node = cKDTree(graph.xy).query(shapely.get_coordinates(first))
    line_comp = pd.Series(labels[node], index=lines.index)
    sizes = line_comp.value_counts()
    main = sizes.index[0]
    lonlat = lines.to_crs("EPSG:4326")
    described = []
    for comp in sizes.index[1 : 1 + MAX_PARTS_SHOWN]:
        members = line_comp.index[line_comp == comp]
        names = lines.loc[members, name_col].dropna().astype(str).unique()[:3] if name_col else []
        label = (
            "、".join(names)
            if len(names)
            else "feature " + ", ".join(str(int(i) + 1) for i in members[:3])
        )
        x, y = lonlat.loc[members].geometry.union_all().centroid.coords[0]
        described.append(f"{label} ({len(members)} line(s) near {x:.3f} E {y:.3f} N)")
    more = (
        "" if len(sizes) - 1 <= MAX_PARTS_SHOWN else f" and {len(sizes) - 1 - MAX_PARTS_SHOWN} more"
    )
    msg = (
        f"the network is not connected: {len(sizes) - 1} part(s) apart from the main one "
        f"({sizes[main]} lines): " + "; ".join(described) + more
    )
    raise IngestError(shown, msg)


def import_roads(
    url: str,
    path: Path,
    *,
    speeds: Mapping[str, float] | None = None,
    class_field: str | None = None,
    layer: str | None = None,
    source: str | None = None,
    commit: bool = False,
    username: str = "cli",
    shown: str | None = None,
) -> RoadReport:
    """Check a road file and, with ``commit``, replace the roads with it in one transaction."""
    shown = shown or str(path)
    lines = _read(path, shown, layer)
    lonlat = _check_area(lines, shown)
    columns = [str(c) for c in lines.columns if c != "geometry"]
    cls = _pick(columns, _CLASS_FIELDS, class_field, shown)
    name_col = _pick(columns, _NAME_FIELDS, None, shown)
    classes, table = _classes_and_speeds(lines, cls, speeds, shown)
    metric = lines.assign(road_class=classes.to_numpy()).to_crs("EPSG:4546")
    metric = metric.reset_index(drop=True)
    graph = road_graph(metric, class_column="road_class", speeds=table)
    _disconnected(metric, graph, name_col, shown)
    base = lonlat.reset_index(drop=True)
    base = gpd.GeoDataFrame(
        {
            "road_class": classes.to_numpy(),
            "name": base[name_col].to_numpy() if name_col else None,
            "source": source or Path(shown).name,
        },
        geometry=base.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    roads = base.explode(index_parts=False).reset_index(drop=True)
    roads["speed_kmh"] = roads["road_class"].map(table)
    report = RoadReport(
        file=shown,
        status="dry_run",
        lines=len(roads),
        nodes=len(graph.xy),
        km=round(float(metric.length.sum()) / 1000, 1),
        classes=roads["road_class"].value_counts().to_dict(),
    )
    if commit:
        _replace(url, path, roads, table, report, shown=shown, username=username)
    return report


def _classes_and_speeds(
    lines: gpd.GeoDataFrame, cls: str | None, speeds: Mapping[str, float] | None, shown: str
) -> tuple[pd.Series, dict[str, float]]:
    """Each line's road class and the speed table; a class without a speed is refused."""
    classes = (
        lines[cls].fillna("unclassified").astype(str)
        if cls
        else pd.Series("unclassified", index=lines.index)
    )
    table = dict(DEFAULT_SPEEDS_KMH, **(speeds or {}))
    unknown = sorted(set(classes) - set(table))
    if unknown:
        raise IngestError(
            shown,
            f"no speed for road class(es) {', '.join(unknown[:10])}: add them to a speed table (--speeds)",
        )
    return classes, table


def _replace(
    url: str,
    path: Path,
    roads: gpd.GeoDataFrame,
    table: dict[str, float],
    report: RoadReport,
    *,
    shown: str,
    username: str,
) -> None:
    """Replace every road with ``roads`` under a new batch, unless they are already in use."""
    # The speed table is part of what was imported: the same lines at other speeds are new.
    digest = hashlib.sha256(path.read_bytes())
    digest.update(repr(sorted(table.items())).encode())
    sha = digest.hexdigest()
    with transaction(url) as session:
        registers.lock_imports(session)
        earlier = registers.committed_batch(session, "roads", sha)
        # A repeat only when the roads in use still come from that file (A, B, A replaces B).
        if earlier is not None and current_batch(session) == earlier.id:
            report["status"] = "already_imported"
            report["batch_id"] = earlier.id
            return
        batch = registers.record_import(
            session,
            kind="roads",
            filename=shown,
            sha256=sha,
            username=username,
            status="committed",
            counts={"roads": len(roads)},
            report=dict(report),
        )
        replace_roads(session, roads, batch_id=batch)
    report["status"] = "committed"
