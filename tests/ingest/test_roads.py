"""qungong roads import: dry run, commit in one transaction, clear errors, road measures."""

from __future__ import annotations

import itertools

import geopandas as gpd
import osmium
import pytest
import shapely
from osmium.osm.mutable import Node, Way
from shapely.geometry import LineString
from sqlalchemy import text

from ingest.errors import IngestError
from ingest.roads import import_roads
from models.db import engine_for

# Village centres of the tiny network (lon/lat) joined by a ring of roads.
CENTRES = [(110.05, 27.05), (110.15, 27.05), (110.25, 27.05), (110.35, 27.05)]
NORTH = [(x, 27.15) for x, _ in CENTRES]


def _roads(tmp_path, *, extra=(), crs="EPSG:4326", name="roads.gpkg", points=False):
    lines = [LineString([a, b]) for a, b in itertools.pairwise(CENTRES)]
    lines += [LineString([a, b]) for a, b in itertools.pairwise(NORTH)]
    lines += [LineString([CENTRES[0], NORTH[0]]), LineString([CENTRES[-1], NORTH[-1]])]
    names = [f"县道{i}" for i in range(len(lines))]
    classes = ["county"] * len(lines)
    for geom, n, c in extra:
        lines.append(geom)
        names.append(n)
        classes.append(c)
    frame = gpd.GeoDataFrame({"name": names, "class": classes}, geometry=lines, crs="EPSG:4326")
    if points:
        frame = frame.set_geometry(
            gpd.GeoSeries(shapely.get_point(frame.geometry.to_numpy(), 0), crs=4326)
        )
    if crs != "EPSG:4326":
        frame = frame.to_crs(crs)
    path = tmp_path / name
    frame.to_file(path, engine="pyogrio")
    return path


def _count(url, table):
    with engine_for(url).connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_dry_run_then_commit(db_url, tmp_path):
    path = _roads(tmp_path, crs="EPSG:4546")
    report = import_roads(db_url, path)
    assert report["status"] == "dry_run"
    assert report["lines"] == 8
    assert _count(db_url, "road") == 0
    done = import_roads(db_url, path, commit=True, source="test")
    assert done["status"] == "committed"
    assert _count(db_url, "road") == 8
    assert _count(db_url, "import_batch") == 1


def test_same_file_again_changes_nothing_unless_other_roads_came_between(db_url, tmp_path):
    first = _roads(tmp_path)
    assert import_roads(db_url, first, commit=True)["status"] == "committed"
    again = import_roads(db_url, first, commit=True)
    assert again["status"] == "already_imported"
    assert _count(db_url, "import_batch") == 1
    # other speeds for the same lines are a new import
    faster = import_roads(db_url, first, commit=True, speeds={"county": 70.0})
    assert faster["status"] == "committed"
    # A, B, A: the third import puts A's roads back
    assert import_roads(db_url, first, commit=True)["status"] == "committed"
    assert _count(db_url, "import_batch") == 3
    assert _count(db_url, "road") == 8


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"points": True}, "holds no lines"),
        (
            {"extra": [(LineString([(110.3, 26.5), (110.31, 26.5)]), "孤岛路", "village")]},
            "not connected: 1 part(s) apart from the main one (8 lines): 孤岛路 (1 line(s) near 110.305 E",
        ),
        (
            {"extra": [(LineString([CENTRES[0], CENTRES[2]]), "渡口", "ferry")]},
            "no speed for road class(es) ferry",
        ),
    ],
)
def test_bad_files_write_nothing(db_url, tmp_path, kwargs, words):
    path = _roads(tmp_path, **kwargs)
    with pytest.raises(IngestError) as err:
        import_roads(db_url, path, commit=True)
    assert str(path) in str(err.value)
    assert words in str(err.value)
    assert _count(db_url, "road") == 0
    assert _count(db_url, "import_batch") == 0


def test_wrong_coordinate_system(db_url, tmp_path):
    # metres written as if they were degrees
    path = _roads(tmp_path, crs="EPSG:4546")
    frame = gpd.read_file(path).set_crs("EPSG:3857", allow_override=True)
    wrong = tmp_path / "wrong.gpkg"
    frame.to_file(wrong, engine="pyogrio")
    with pytest.raises(IngestError, match="wrong coordinate system"):
        import_roads(db_url, wrong, commit=True)


def _osm(path, *, island=False):
    """The ring of ``_roads`` as OpenStreetMap data (PBF or XML by the file name), with
    ``highway`` tags: two secondary roads, the rest tracks; ``island`` adds a way apart."""
    ring = [*CENTRES, *reversed(NORTH)]
    points = ring + ([(110.3, 26.5), (110.31, 26.5)] if island else [])
    ways = [[i + 1, (i + 1) % len(ring) + 1] for i in range(len(ring))]
    if island:
        ways.append([len(ring) + 1, len(ring) + 2])
    with osmium.SimpleWriter(str(path)) as writer:
        for i, (x, y) in enumerate(points, start=1):
            writer.add_node(Node(id=i, location=(x, y), version=1))
        for i, nodes in enumerate(ways, start=101):
            tags = {"highway": "secondary" if i <= 102 else "track", "name": f"县道{i}"}
            if island and i == 100 + len(ways):
                tags["name"] = "孤岛路"
            writer.add_way(Way(id=i, nodes=nodes, tags=tags, version=1))
    return path


@pytest.mark.parametrize("name", ["roads.osm.pbf", "roads.osm"])
def test_openstreetmap_extract_pbf_and_xml(db_url, tmp_path, name):
    """An OSM extract is read through GDAL's OSM driver (its ``lines`` layer); the
    ``highway`` tag is the road class, so the default table gives the speeds."""
    path = _osm(tmp_path / name)
    report = import_roads(db_url, path, commit=True)
    assert report["status"] == "committed"
    assert report["lines"] == 8
    assert report["classes"] == {"track": 6, "secondary": 2}
    with engine_for(db_url).connect() as conn:
        rows = conn.execute(
            text("SELECT name, road_class, speed_kmh FROM road ORDER BY name")
        ).all()
    assert rows[0] == ("县道101", "secondary", 40.0)
    assert {r[2] for r in rows[2:]} == {10.0}


def test_openstreetmap_extract_disconnected_names_the_way(db_url, tmp_path):
    path = _osm(tmp_path / "island.osm.pbf", island=True)
    with pytest.raises(IngestError, match=r"1 part\(s\) apart .*孤岛路"):
        import_roads(db_url, path, commit=True)
    assert _count(db_url, "road") == 0
