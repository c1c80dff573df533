"""Every page: navigation by role, a language switch that keeps the page's state."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.factories import load_tiny_network
from tests.webmap.browser import browser_page, login, serve

pytestmark = pytest.mark.browser

NAV_BY_USER = {
    "admin": ["网络总览", "领导热点图", "规划覆盖", "工作队路线", "数据导入", "审计日志"],
    "leader": ["网络总览", "领导热点图"],
    "planner": ["网络总览", "规划覆盖"],
    "team": ["网络总览", "工作队路线"],
    "staff": ["网络总览", "数据导入"],
}


def test_navigation_shows_only_pages_the_user_may_open(app, auth, db_url):
    auth.make_users()
    load_tiny_network(db_url)
    with serve(app) as base, browser_page() as (page, _requests):
        for user, expected in NAV_BY_USER.items():
            login(page, base, user)
            page.goto(f"{base}/", wait_until="load")
            links = page.locator(".topbar nav a")
            assert links.all_inner_texts() == expected, user
            # and every link shown opens
            for href in [links.nth(i).get_attribute("href") for i in range(links.count())]:
                assert page.goto(f"{base}{href}").status == 200, (user, href)
            page.goto(f"{base}/", wait_until="load")
            with page.expect_navigation():
                page.click(".topbar .user button")


def test_language_switch_keeps_area_and_filters(app, auth, db_url):
    auth.make_users()
    load_tiny_network(db_url)
    with serve(app) as base, browser_page() as (page, _requests):
        login(page, base)
        page.goto(f"{base}/?area=430525100000", wait_until="load")
        with page.expect_navigation():
            page.click("#lang-switch")
        query = parse_qs(urlparse(page.url).query)
        assert query == {"area": ["430525100000"], "lang": ["en"]}
        assert page.locator("h1").inner_text() == "竹市镇"  # the same area, now in English
        assert "Villages / communities" in page.locator(".totals").inner_text()
        page.goto(f"{base}/staff/review/?kind=case&county=430525&page=1", wait_until="load")
        with page.expect_navigation():
            page.click("#lang-switch")
        query = parse_qs(urlparse(page.url).query)
        assert query == {"kind": ["case"], "county": ["430525"], "page": ["1"], "lang": ["zh"]}
        assert page.locator("#filter-kind").input_value() == "case"
