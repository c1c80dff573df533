"""The bad-input corpus: every broken file is refused with a message naming the file, the
feature/row/part and the problem, and the database stays byte-for-byte as it was."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator

import pytest

from ingest.boundaries import import_boundaries
from ingest.errors import IngestError
from ingest.registers import import_officers, import_stations, import_teams
from models.db import engine_for
from tests.conftest import TEMPLATE_DB
from tests.ingest.conftest import COUNTY, GROUPS, TOWNSHIPS, VILLAGES, db_digest, write_layer
from tests.ingest.corpus import CASES, Case

IMPORTERS = {
    "boundaries": import_boundaries,
    "stations": import_stations,
    "officers": import_officers,
    "teams": import_teams,
}
_ids = itertools.count()


@pytest.fixture(scope="module")
def seeds(pg_cluster, tmp_path_factory) -> Iterator[dict[str, str]]:
    """Template databases: county + townships (for boundary cases), everything (registers)."""
    folder = tmp_path_factory.mktemp("seed")
    made = {}
    for seed, layers in (
        ("towns", (COUNTY, TOWNSHIPS)),
        ("full", (COUNTY, TOWNSHIPS, VILLAGES, GROUPS)),
    ):
        name = f"seed_{seed}_{os.getpid()}"
        pg_cluster.create_database(name, template=TEMPLATE_DB)
        url = pg_cluster.url(name)
        for i, units in enumerate(layers):
            path = write_layer(folder, f"{seed}{i}", units)
            assert import_boundaries(url, path, commit=True).status == "committed"
        engine_for(url).dispose()
        made[seed] = name
    yield made
    for name in made.values():
        pg_cluster.drop_database(name)


@pytest.fixture
def seeded(pg_cluster, seeds) -> Iterator[Callable[[str], str]]:
    """A function giving the URL of a fresh copy of a seed database."""
    urls = []

    def clone(seed: str) -> str:
        name = f"bad_{seed}_{os.getpid()}_{next(_ids)}"
        pg_cluster.create_database(name, template=seeds[seed])
        urls.append(pg_cluster.url(name))
        return urls[-1]

    yield clone
    for url in urls:
        engine_for(url).dispose()
        pg_cluster.drop_database(url.rsplit("/", 1)[1])


def test_corpus_is_at_least_thirty_files():
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_is_refused_with_a_precise_message(name, seeded, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    bad: Case = CASES[name](folder)
    url = seeded("towns" if bad.importer == "boundaries" else "full")
    before = db_digest(url)
    try:
        report = IMPORTERS[bad.importer](url, bad.path, commit=True, **bad.kwargs)
    except IngestError as exc:
        message = str(exc)
        assert "Traceback" not in message
        assert message.startswith(bad.shown), message
        assert bad.where in message, message
        assert bad.problem in message, message
    else:
        assert report.status == "rejected", report.to_text("en")
        assert report.file.startswith(bad.shown)
        hits = [e for e in report.errors if bad.where in e.where and bad.problem in e.message]
        assert hits, report.to_text("en")
        text = report.to_text("zh")
        assert bad.where in text
        assert bad.problem in text
    assert db_digest(url) == before


def test_self_intersection_is_repaired_and_reported_not_fatal(seeded, tmp_path):
    from shapely import Polygon

    from tests.ingest.conftest import X0, Y0

    # A bow-tie over 金江村's square: valid once split into its two triangles.
    bowtie = Polygon([(X0, Y0), (X0 + 2000, Y0 + 2000), (X0 + 2000, Y0), (X0, Y0 + 2000)])
    units = [(VILLAGES[0][0], VILLAGES[0][1], bowtie), *VILLAGES[1:]]
    path = write_layer(tmp_path, "bowtie", units, code_field="ZLDWDM", name_field="ZLDWMC")
    report = import_boundaries(seeded("towns"), path, commit=True)
    assert report.status == "committed"
    assert report.counts["repaired"] == 1
    (fix,) = report.repairs
    assert fix.where == "feature 1"
    assert "Self-intersection" in fix.message
    # The gap left by the triangles' missing halves is reported in m² (2 km² of 金江村's 4).
    gaps = [w.message for w in report.warnings if "gap" in w.message]
    assert gaps
    assert "2,000,0" in gaps[0] or "1,999,9" in gaps[0]
