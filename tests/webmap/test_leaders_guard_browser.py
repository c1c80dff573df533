"""Leaders' Gi* on sparse filters: no hot/cold spots from a handful of cases, and it says why."""

from __future__ import annotations

import pytest

from tests.leaders_factories import grid_cases, insert_cases, load_grid_network
from tests.webmap.browser import browser_page, login, serve

pytestmark = pytest.mark.browser

READY = ".folium-map[data-ready='1']"


def test_sparse_filter_gets_no_gi_and_a_reason(app, auth, db_url):
    auth.make_users()
    network = load_grid_network(db_url)
    cases = grid_cases(network, hot_disputes=0)
    # A dozen 2013 disputes scattered over the grid: far too few for Gi*.
    sparse = cases[(cases["kind"] == "dispute")].head(12)
    insert_cases(db_url, sparse)
    with serve(app) as base, browser_page() as (page, _requests):
        login(page, base, "leader")
        page.goto(f"{base}/leaders/?layer=hotspots", wait_until="load")
        page.wait_for_selector(READY, timeout=20_000)
        problem = page.locator("#gi-problem")
        assert problem.is_visible()
        assert "未做 Gi* 分析" in problem.inner_text() or "未做分析" in problem.inner_text()
        # No hot or cold spot layer or class is drawn or listed.
        assert "热点分析 (Gi*)" not in page.locator(".leaflet-control-layers").inner_text()
        assert page.locator("#classes [data-class^=hot], #classes [data-class^=cold]").count() == 0
        classes = page.locator("#top tbody td:last-child").all_inner_texts()
        assert classes
        assert set(classes) == {"未分析"}
        # The page explains counts (heat) against rates (Gi*), in Chinese on the Chinese page.
        assert "经验贝叶斯" in page.locator("#gi-explained").inner_text()


def test_no_matching_cases_says_so(app, auth, db_url):
    auth.make_users()
    network = load_grid_network(db_url)
    insert_cases(db_url, grid_cases(network))
    with serve(app) as base, browser_page() as (page, _requests):
        login(page, base, "leader")
        page.goto(f"{base}/leaders/?layer=hotspots&from=2030-01-01", wait_until="load")
        page.wait_for_selector(READY, timeout=20_000)
        assert page.locator("#no-cases").is_visible()
        assert page.locator("#top").count() == 0
