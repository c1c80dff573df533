"""The demo network's files (as staff receive them) import end to end, twice idempotently."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from demo.files import write_files
from demo.network import build_network
from ingest.boundaries import import_boundaries, list_generations
from ingest.registers import import_officers, import_stations, import_teams
from models.db import engine_for

LEVELS = ("county", "township", "village", "group")


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    network = build_network(seed=2013, scale=0.05)
    files = write_files(network, tmp_path_factory.mktemp("demo"), generations=("2013", "2023"))
    return network, files


def test_demo_boundaries_and_registers_import(db_url, demo_files):
    network, files = demo_files
    units = network.units
    for level in LEVELS:
        report = import_boundaries(db_url, files[f"{level}_2013"], generation="2013", commit=True)
        assert report.status == "committed", report.to_text("en")
        expected = ((units["generation"] == "2013") & (units["level"] == level)).sum()
        assert report.counts[level] == expected
        assert report.counts["linked_by_containment"] == 0
    # The 2023 edition (19-digit group codes, renamed/merged units) goes in beside it.
    for level in LEVELS:
        report = import_boundaries(db_url, files[f"{level}_2023"], generation="2023", commit=True)
        assert report.status == "committed", report.to_text("en")
    gens = {g["name"]: g for g in list_generations(db_url)}
    assert gens["2013"]["active"]
    assert not gens["2023"]["active"]
    assert (
        gens["2023"]["counts"]["group"]
        == ((units["generation"] == "2023") & (units["level"] == "group")).sum()
    )

    stations = import_stations(db_url, files["stations_2013"], commit=True)
    assert stations.status == "committed", stations.to_text("en")
    assert stations.counts["stations"] == len(
        network.stations[network.stations["generation"] == "2013"]
    )
    # GCJ-02 coordinates of the 2023 register against the 2023 generation.
    s2023 = import_stations(db_url, files["stations_2023"], generation="2023", commit=True)
    assert s2023.status == "committed", s2023.to_text("en")
    officers = import_officers(db_url, files["officers_2013"], commit=True)
    assert officers.status == "committed", officers.to_text("en")
    assert officers.counts["officers"] == len(network.officers)
    teams = import_teams(db_url, files["teams_2013"], commit=True)
    assert teams.status == "committed", teams.to_text("en")

    with engine_for(db_url).connect() as conn:
        outside = conn.execute(
            text(
                "SELECT count(*) FROM station s JOIN admin_unit u ON u.id = s.unit_id "
                "WHERE NOT ST_DWithin(u.geom::geography, s.geom::geography, 50)"
            )
        ).scalar()
        heads = conn.execute(
            text("SELECT count(*) FILTER (WHERE head IS NULL OR phone IS NULL) FROM station")
        ).scalar()
    # Stations lie in (or within 50 m of) their village once GCJ-02 is undone.
    assert outside == 0
    # Every demo station names its head (站长) and phone, read from the register.
    assert heads == 0
    again = import_officers(db_url, files["officers_2013"], commit=True)
    assert again.status == "already_imported"
