"""The /ogc/ HTML pages and an export link in headless Chromium, signed in as a township user."""

from __future__ import annotations

import pyogrio
import pytest

from tests.webmap.browser import browser_page, login, outside_host, serve
from tests.webmap.ogc_fixtures import make_world

pytestmark = pytest.mark.browser


def test_browse_collections_page_items_and_download_an_export(app, auth, db_url, tmp_path):
    make_world(db_url, auth)
    with serve(app) as base, browser_page() as (page, requests):
        login(page, base, "team")
        page.goto(f"{base}/ogc/", wait_until="load")
        with page.expect_navigation():
            page.click("a[href*='/ogc/collections?f=html']")
        page.click("a[href*='/ogc/collections/groups/items?f=html']")
        page.wait_for_selector("table.data tbody tr")
        first = page.locator("table.data tbody tr td:first-child").all_inner_texts()
        assert first == sorted(first)
        assert all(code.startswith("430525100") for code in first)  # the team's township
        assert len(first) == 4
        # a small page size, then the next link
        page.goto(f"{base}/ogc/collections/groups/items?f=html&limit=3", wait_until="load")
        assert page.locator("table.data tbody tr").count() == 3
        with page.expect_navigation():
            page.click("text=下一页")
        rest = page.locator("table.data tbody tr td:first-child").all_inner_texts()
        assert len(rest) == 1
        # export from the collection page
        page.goto(f"{base}/ogc/collections/groups?f=html", wait_until="load")
        page.click("details.exports summary")
        with page.expect_download() as download:
            page.click("details.exports a[href*='format=gpkg']")
        path = tmp_path / "groups.gpkg"
        download.value.save_as(path)
        frame = pyogrio.read_dataframe(path)
        assert sorted(frame["代码"]) == sorted(first)
        assert not outside_host(requests)
