"""Names holding markup, imported through the importers staff use, are inert on every page
(issue #9, class 4): JSON inside <script>, HTML, Folium popups and tooltips.

The boundary file and station register name every unit and station with a payload that sets
``window.__xss``; every GET page of the URL map is then opened in Chromium (as admin, who may
open all) and must leave it unset, and the raw payload must not appear in any page's HTML.
"""

from __future__ import annotations

import json

import pytest
from shapely.geometry import box, mapping

from ingest.boundaries import import_boundaries
from ingest.registers import import_stations
from tests.webmap.browser import browser_page, login, serve
from tests.webmap.test_access import url_for_rule
from webmap.access import rule_of

PAYLOADS = (
    "</script><script>window.__xss=1</script>",
    "<img src=x onerror=window.__xss=1>",
    "`${window.__xss=1}`",
    "\u2028'\"><svg onload=window.__xss=1>",
)
COUNTY = "430525000000"


def _feature(code: str, name: str, geom) -> dict:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "households": 100},
        "geometry": mapping(geom),
    }


def write_network(tmp_path):
    """A county, 2 townships, 4 villages and 8 groups whose names all carry payloads."""
    features = [_feature(COUNTY, "洞口县" + PAYLOADS[0], box(110.0, 27.0, 110.4, 27.2))]
    stations = ["站点名称,村代码,经度,纬度"]
    n = 0
    for t, x0 in enumerate((110.0, 110.2)):
        tcode = f"43052510{t}000"
        features.append(_feature(tcode, f"镇{t}{PAYLOADS[1]}", box(x0, 27.0, x0 + 0.2, 27.2)))
        for v, y0 in enumerate((27.0, 27.1)):
            vcode = tcode[:9] + f"{201 + v:03d}"
            features.append(
                _feature(vcode, f"村{v}{PAYLOADS[(t + v) % 4]}", box(x0, y0, x0 + 0.2, y0 + 0.1))
            )
            stations.append(
                f'"站{n}{PAYLOADS[n % 4].replace(chr(34), chr(34) * 2)}",{vcode},'
                f"{x0 + 0.05},{y0 + 0.05}"
            )
            n += 1
            for grp in range(2):
                geom = box(x0 + 0.1 * grp, y0, x0 + 0.1 * (grp + 1), y0 + 0.1)
                name = f"组{grp}{PAYLOADS[(t + v + grp) % 4]}"
                features.append(_feature(f"{vcode}{grp + 1:03d}", name, geom))
    boundaries = tmp_path / "边界.geojson"
    boundaries.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    register = tmp_path / "站点.csv"
    register.write_text("\n".join(stations) + "\n", encoding="utf-8")
    return boundaries, register


@pytest.fixture
def marked_up(db_url, tmp_path):
    boundaries, register = write_network(tmp_path)
    report = import_boundaries(db_url, boundaries, commit=True)
    assert report.ok, report.to_text("en")
    report = import_stations(db_url, register, commit=True)
    assert report.ok, report.to_text("en")


def pages(app) -> list[str]:
    """Every GET page (not /api/, /ogc/ JSON or assets) with the area that holds the payloads."""
    urls = []
    for url_rule in app.url_map.iter_rules():
        declared = rule_of(app, url_rule.endpoint)
        if "GET" not in url_rule.methods or declared is None or declared.roles is None:
            continue
        if url_rule.rule.startswith(("/api/", "/vendor/", "/static/")) or url_rule.arguments:
            continue
        urls.append(url_for_rule(url_rule))
    return urls


def page_urls(app) -> list[str]:
    urls = []
    for url in pages(app):
        urls.append(url)
        if rule_of(app, app.url_map.bind("").match(url)[0]).area == "param":
            urls += [f"{url}?area=430525100000", f"{url}?area=430525100201"]
    return [*urls, "/staff/review/", "/ogc/collections?f=html"]


def test_no_page_serves_a_payload_raw(client, auth, marked_up, app):
    auth.login("admin")
    for url in page_urls(app):
        html = client.get(url).get_data(as_text=True)
        # Markup must never arrive raw; the template-literal payload is inert inside a JSON
        # string and is checked by running the pages in the browser test below.
        for payload in (p for p in PAYLOADS if "<" in p):
            assert payload not in html, f"{url} carries {payload!r} unescaped"


@pytest.mark.slow
def test_no_payload_runs_in_the_browser(app, auth, marked_up):
    auth.make_users()
    ran = []
    with serve(app) as base, browser_page() as (page, _requests):
        page.on("dialog", lambda dialog: dialog.dismiss())
        login(page, base)
        for url in page_urls(app):
            page.goto(f"{base}{url}", wait_until="load")
            page.wait_for_timeout(300)
            # hover every interactive map shape so tooltips render their names
            page.evaluate(
                "() => document.querySelectorAll('path.leaflet-interactive').forEach("
                "(p, i) => { if (i < 40) p.dispatchEvent(new MouseEvent('mouseover',"
                " {bubbles: true})); })"
            )
            if page.evaluate("() => window.__xss !== undefined"):
                ran.append(url)
    assert ran == []
