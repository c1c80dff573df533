"""Staff pages in Chromium: the import report table, the review queue and placing an item."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from ingest.activity import import_cases
from models.db import engine_for
from tests.factories import load_tiny_network
from tests.webmap.browser import browser_page, login, outside_host, serve
from webmap.views.import_report import COUNT_LABELS

pytestmark = pytest.mark.browser

# Internal report keys must never reach the page.
INTERNAL_KEY = re.compile(r"\b[a-z]+_[a-z_]+\b")


@pytest.fixture
def queued(db_url, tmp_path):
    """Tiny network and 60 cases waiting: 55 at 田心村 (in both townships), 5 with no place."""
    load_tiny_network(db_url)
    lines = ["编号,类型,日期,地址"]
    lines += [f"A{i},信访,2013-01-02,田心村{1 + i % 2}组" for i in range(55)]
    lines += [f"B{i},建议,2013-01-03," for i in range(5)]
    path = tmp_path / "cases.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_cases(db_url, path, commit=True)
    assert report.counts["review"] == 60
    with engine_for(db_url).connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT id FROM review_item ORDER BY id"))]


def _cases(db_url):
    with engine_for(db_url).connect() as conn:
        return conn.execute(text("SELECT case_no, group_code FROM case_record")).all()


def test_import_report_is_a_table_in_the_pages_language(app, auth, db_url, tmp_path):
    auth.make_users()
    load_tiny_network(db_url)
    path = tmp_path / "cases.csv"
    path.write_text(
        "编号,类型,日期,地址,经度,纬度\nC1,信访,2013-01-02,,27.05,110.05\n"
        "C2,信访,2013-13-45,洞口县竹市镇田心村1组,,\n",
        encoding="utf-8",
    )
    with serve(app) as base, browser_page() as (page, requests):
        login(page, base, "staff")
        for lang, row_word, label in (
            ("zh", "第 3 行", "经纬度颠倒已纠正"),
            ("en", "row 3", "Longitude and latitude swapped, fixed"),
        ):
            page.goto(f"{base}/staff/?lang={lang}", wait_until="load")
            page.select_option("#kind", "cases")
            page.set_input_files("#file", str(path))
            with page.expect_navigation():
                page.click("#check")
            summary = page.locator("table.report-summary").inner_text()
            problems = page.locator("table.report-problems").inner_text()
            assert label in summary
            assert row_word in problems
            assert INTERNAL_KEY.findall(summary + problems) == []
            assert page.locator("#report pre").count() == 0
        # English only on the English page, Chinese only on the Chinese one.
        assert "检查" not in page.locator("#report").inner_text()
        assert outside_host(requests) == []


def test_every_count_key_of_the_importers_has_a_label():
    import ingest

    keys: set[str] = set()
    for module in ("activity", "boundaries", "registers", "placing"):
        with open(f"{ingest.__path__[0]}/{module}.py", encoding="utf-8") as f:
            source = re.sub(r"\s+", " ", f.read())
        keys |= set(re.findall(r'counts\["([a-z_]+)"\]', source))
    assert keys
    assert keys - set(COUNT_LABELS) == set()


def test_review_queue_counts_pages_and_filters(app, auth, db_url, queued):
    auth.make_users()
    with serve(app) as base, browser_page() as (page, _requests):
        login(page, base, "staff")
        page.goto(f"{base}/staff/review/", wait_until="load")
        assert "共 60 条待处理" in page.locator(".total").inner_text()
        assert page.locator("table.review tbody tr").count() == 50
        page.click(".pager a[rel=next]")
        assert page.locator("table.review tbody tr").count() == 10
        assert "第 2 / 2 页" in page.locator(".total").inner_text()
        # Filter by reason: the 5 rows with neither address nor coordinates.
        options = page.locator("#filter-reason option").all_inner_texts()
        assert any("既无地址也无坐标" in o and "(5)" in o for o in options)
        page.select_option(
            "#filter-reason", label=next(o for o in options if "既无地址也无坐标" in o)
        )
        with page.expect_navigation():
            page.click("#filters button[type=submit]")
        assert "共 5 条待处理" in page.locator(".total").inner_text()
        # Filter by county and kind: the 55 田心村 cases are 洞口县's; the 5 name no county.
        page.goto(f"{base}/staff/review/?county=430525&kind=case", wait_until="load")
        assert "共 55 条待处理" in page.locator(".total").inner_text()
        page.goto(f"{base}/staff/review/?county=none", wait_until="load")
        assert "共 5 条待处理" in page.locator(".total").inner_text()
        page.goto(f"{base}/staff/review/?kind=visit", wait_until="load")
        assert "共 0 条待处理" in page.locator(".total").inner_text()
        # Candidates carry their full names.
        page.goto(f"{base}/staff/review/", wait_until="load")
        first = page.locator("table.review tbody tr").first.locator("ol.candidates").inner_text()
        assert "洞口县 › 竹市镇 › 田心村 › 第" in first
        assert "洞口县 › 石江镇 › 田心村 › 第" in first


def test_review_item_boundaries_click_to_place_and_keyboard(app, auth, db_url, queued):
    auth.make_users()
    with serve(app) as base, browser_page() as (page, _requests):
        login(page, base, "staff")
        page.goto(f"{base}/staff/review/{queued[0]}", wait_until="load")
        page.wait_for_selector(".folium-map[data-ready='1']")
        assert int(page.get_attribute(".folium-map", "data-boundaries")) >= 4
        # Keyboard: key 2 picks the second candidate, Enter confirms.
        page.keyboard.press("2")
        assert page.locator("input[name=candidate]").nth(1).is_checked()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert _cases(db_url)[0][1].startswith("430525101201")
        # Click on the map: the point goes into the form, and confirming places the case there.
        page.goto(f"{base}/staff/review/{queued[-1]}", wait_until="load")
        page.wait_for_selector(".folium-map[data-ready='1']")
        page.evaluate(
            "() => { const map = window[document.querySelector('.folium-map').id];"
            " map.setView([27.05, 110.05], 12, {animate: false}); }"
        )
        box = page.locator(".folium-map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        lon, lat = float(page.input_value("#lon")), float(page.input_value("#lat"))
        assert abs(lon - 110.05) < 0.01
        assert abs(lat - 27.05) < 0.01
        with page.expect_navigation():
            page.click("#confirm")
        placed = dict(_cases(db_url))
        assert placed["B4"] == "430525100201001"


def test_review_pages_fit_a_phone(app, auth, db_url, queued):
    auth.make_users()
    with serve(app) as base, browser_page() as (page, _requests):
        page.set_viewport_size({"width": 390, "height": 844})
        login(page, base, "staff")
        for url in ("/staff/review/", f"/staff/review/{queued[0]}", "/staff/"):
            page.goto(f"{base}{url}", wait_until="load")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, url


def test_partial_boundary_update_as_staff_see_it(app, auth, db_url, tmp_path):
    """One county's new villages on top of the active generation (boundaries --base)."""
    from ingest.boundaries import import_boundaries, list_generations
    from tests.ingest.conftest import COUNTY, GROUPS, TOWNSHIPS, VILLAGES, square, write_layer

    auth.make_users()
    for stem, units in (("c", COUNTY), ("t", TOWNSHIPS), ("v", VILLAGES), ("g", GROUPS)):
        path = write_layer(tmp_path, stem, units)
        assert import_boundaries(db_url, path, generation="2013", commit=True).ok
    # 白仓镇's two villages redrawn as one, sent as a GeoPackage.
    new = write_layer(
        tmp_path,
        "new_v",
        [("430523101203", "白石村", square(2000, 0, 2000, 4000))],
        driver="GPKG",
        suffix=".gpkg",
    )
    with serve(app) as base, browser_page() as (page, requests):
        login(page, base, "staff")
        page.goto(f"{base}/staff/", wait_until="load")
        page.select_option("#kind", "boundaries")
        page.set_input_files("#file", str(new))
        # The base is picked from the generations there are, the active one marked.
        assert "2013 · 现行" in page.locator("#base").inner_text()
        page.select_option("#base", "2013")
        page.fill("input[name=generation]", "2024-v")
        with page.expect_navigation(wait_until="load"):
            page.click("#check")
        summary = page.locator("table.report-summary").inner_text()
        assert "试运行，未写入数据库" in summary
        assert re.search(r"从基础版本复制的单位\s*3", summary)
        assert re.search(r"被本文件替换的单位\s*12", summary)
        assert "2024-v" not in {g["name"] for g in list_generations(db_url)}
        with page.expect_navigation(wait_until="load"):
            page.click("#commit")
        assert "已写入数据库" in page.locator("table.report-summary").inner_text()
        gens = {g["name"]: g for g in list_generations(db_url)}
        assert gens["2013"]["active"]
        assert {k: v for k, v in gens["2024-v"]["counts"].items() if v} == {
            "county": 1,
            "township": 2,
            "village": 1,
        }
        assert outside_host(requests) == []
