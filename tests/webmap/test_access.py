"""The role x endpoint matrix, built from ``app.url_map``: every endpoint has a declared access
rule, the rule holds for every role, CSRF guards every POST and area parameters are scoped.

A new endpoint needs nothing here: it is picked up from the URL map.  Without an
``@rule(...)`` / ``@public`` declaration it fails :func:`test_every_endpoint_declares_a_rule`;
with one, the matrix checks that the declaration is what the app does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from werkzeug.routing import Rule as UrlRule

from models.db import transaction
from models.schema import ROLES
from models.users import create_user
from tests.factories import load_tiny_network
from tests.webmap.conftest import PASSWORD, csrf_token, password_hash
from webmap.access import rule_of

OWN_TOWNSHIP = "430525100000"  # 竹市镇
OWN_VILLAGE = "430525100201"
OTHER_TOWNSHIP = "430525101000"  # 石江镇, same county
MALFORMED = ("4305020011", "43052510000%", "430500000201")
# Sample values for path parameters, by converter: the rule is checked before the view
# looks the record up, so any value of the right type will do.
SAMPLES = {"int": "999999", "default": "x", "path": "x/y"}


def endpoints(app) -> Iterator[tuple[UrlRule, str]]:
    for url_rule in app.url_map.iter_rules():
        for method in sorted(url_rule.methods - {"HEAD", "OPTIONS"}):
            yield url_rule, method


def url_for_rule(url_rule: UrlRule) -> str:
    converters = {
        name: type(conv).__name__.removesuffix("Converter").lower()
        for name, conv in url_rule._converters.items()
    }
    values = {
        name: SAMPLES.get({"integer": "int", "unicode": "default"}.get(kind, kind), "x")
        for name, kind in converters.items()
    }
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], url_rule.rule)


def make_users(db_url: str) -> None:
    """One user per role, each restricted to one township."""
    with transaction(db_url) as session:
        for role in ROLES:
            create_user(
                session,
                f"{role}_t",
                role=role,
                area_code=OWN_TOWNSHIP,
                password_hash=password_hash(),
            )


def login(client, username: str) -> None:
    response = client.post(
        "/auth/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302, f"log-in as {username} failed"


def sent_to_login(response) -> bool:
    return response.status_code == 302 and "/auth/login" in response.headers.get("Location", "")


def test_every_endpoint_declares_a_rule(app):
    missing = sorted(
        url_rule.rule
        for url_rule in app.url_map.iter_rules()
        if rule_of(app, url_rule.endpoint) is None
    )
    assert not missing, (
        "endpoints without an access rule (declare one with @rule(...) or @public from "
        f"webmap.access): {missing}"
    )


def test_an_undeclared_endpoint_is_refused_at_run_time(app, client):
    @app.get("/undeclared-for-test")
    def undeclared() -> str:
        return "secret"

    response = client.get("/undeclared-for-test")
    assert response.status_code == 403
    assert "secret" not in response.get_data(as_text=True)


def _check(client, app, url_rule: UrlRule, method: str, role: str | None) -> str | None:
    """None when the endpoint answers ``role`` as its rule says, else what went wrong."""
    declared = rule_of(app, url_rule.endpoint)
    url = url_for_rule(url_rule)
    if declared is None:
        return f"{method} {url}: no access rule declared"
    response = client.open(url, method=method)
    status = response.status_code
    where = f"{method} {url} as {role or 'anonymous'}: {status}"
    if method == "POST":
        # No CSRF token: refused before the view runs, whoever asks (or sent to log in).
        if declared.roles is not None and (role is None or not declared.allows(role)):
            ok = status in (401, 403) or sent_to_login(response)
        else:
            ok = status == 400 and b"csrf" in response.get_data().lower()
        return None if ok else f"{where} (expected a CSRF refusal)"
    if declared.roles is None:
        return None if status not in (401, 403) else f"{where} (public endpoint refused)"
    if role is None:
        ok = status == 401 if url.startswith(("/api/", "/ogc/")) else sent_to_login(response)
        return None if ok else f"{where} (expected log-in demand)"
    if not declared.allows(role):
        return None if status == 403 else f"{where} (expected 403)"
    if status in (401, 403) or sent_to_login(response):
        return f"{where} (role allowed by the rule but refused)"
    return None


@pytest.mark.parametrize("role", [None, *ROLES])
def test_role_endpoint_matrix(app, client, db_url, role):
    load_tiny_network(db_url)
    make_users(db_url)
    if role is not None:
        login(client, f"{role}_t")
    problems = [
        problem
        for url_rule, method in endpoints(app)
        if url_rule.endpoint != "auth.logout"  # would end the session mid-matrix
        and (problem := _check(client, app, url_rule, method, role))
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_area_parameters_are_scoped(app, client, db_url, role):
    """Every ``area="param"`` endpoint: outside the user's area 404, malformed 400, inside ok."""
    load_tiny_network(db_url)
    make_users(db_url)
    login(client, f"{role}_t")
    problems = []
    for url_rule, method in endpoints(app):
        declared = rule_of(app, url_rule.endpoint)
        if method != "GET" or declared is None:
            continue  # an undeclared endpoint fails the tests above
        if declared.area != "param" or not declared.allows(role):
            continue
        base = url_for_rule(url_rule)
        for area, expected in [(OTHER_TOWNSHIP, 404)] + [(code, 400) for code in MALFORMED]:
            status = client.get(f"{base}?area={area}").status_code
            if status != expected:
                problems.append(f"{base}?area={area} as {role}: {status}, expected {expected}")
        inside = client.get(f"{base}?area={OWN_VILLAGE}")
        if not _answers_inside(inside):
            problems.append(f"{base}?area={OWN_VILLAGE} (inside) as {role}: {inside.status_code}")
    assert not problems, "\n".join(problems)


def _answers_inside(response) -> bool:
    """A narrower area inside the user's is honoured: refused, if at all, for no reason of
    area (another parameter may not suit it: a sample layer name, a level not below a
    village); every error carries its stable code in ``X-Error-Code``."""
    if response.status_code < 400:
        return True
    return response.headers.get("X-Error-Code") not in ("bad_area", "area_not_found")


def test_every_post_form_carries_the_csrf_token(app):
    """Every ``method="post"`` form in the templates has the hidden csrf_token field."""
    from pathlib import Path

    templates = Path(app.root_path) / "templates"
    forms = []
    for path in templates.glob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", text, re.S):
            forms.append((path.name, "csrf_token()" in match.group(1)))
    assert forms
    assert [name for name, ok in forms if not ok] == []
