"""models.tiles: vector tiles of unit outlines (the MVT side of bench/mvt_bench.py)."""

from __future__ import annotations

from sqlalchemy import text

from models.db import session_factory
from models.tiles import tiles_covering, unit_tile
from tests.factories import load_tiny_network


def test_a_tile_over_the_network_holds_its_groups_and_one_elsewhere_is_empty(db_url):
    load_tiny_network(db_url)
    with session_factory(db_url)() as session:
        gen = session.execute(text("SELECT id FROM generation")).scalar_one()
        (z, x, y), *_ = tiles_covering((110.05, 27.05, 110.06, 27.06), 10)
        tile = unit_tile(session, gen, level="group", z=z, x=x, y=y)
        assert len(tile) > 50
        assert b"group" in tile  # the layer name
        assert b"430525100201001" in tile  # a group code as a tile value
        scoped = unit_tile(session, gen, level="group", z=z, x=x, y=y, prefix="430525101")
        assert b"430525100201001" not in scoped
        far = unit_tile(session, gen, level="group", z=10, x=0, y=0)
        assert far == b""
