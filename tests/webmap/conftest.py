"""Fixtures for the web app: an app per test on its own fresh database, and logging in."""

from __future__ import annotations

import re
from functools import cache

import pytest
from sqlalchemy import make_url
from werkzeug.security import generate_password_hash

from models.db import engine_for, transaction
from models.users import create_user
from webmap.app import create_app

PASSWORD = "secret-pw-2026"
# username -> (role, area)
USERS = {
    "admin": ("admin", "430500000000"),
    "leader": ("leader", "430500000000"),
    "staff": ("staff", "430500000000"),
    "planner": ("planner", "430500000000"),
    "team": ("team", "430525100000"),
}


@pytest.fixture
def app(db_url, pg_cluster):
    # The app connects as the web role with the app's grants (as `qungong run` does), not as
    # the owner the fixtures write with.
    app_url = pg_cluster.app_url(make_url(db_url).database)
    yield create_app({"DATABASE_URL": app_url, "TESTING": True, "SECRET_KEY": "test"})
    engine_for(app_url).dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@cache
def password_hash() -> str:
    # scrypt is slow on purpose: hash once per session, not once per user per test
    return generate_password_hash(PASSWORD)


def csrf_token(client) -> str:
    """The CSRF token of the client's session, read from a page's ``csrf-token`` meta tag."""
    html = client.get("/auth/login").get_data(as_text=True)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found, "no csrf-token meta tag on the log-in page"
    return found.group(1)


class AuthActions:
    """Creates the test users on first use and logs the client in as one of them."""

    def __init__(self, client, db_url: str) -> None:
        self._client = client
        self._db_url = db_url
        self._made = False

    def make_users(self) -> None:
        if self._made:
            return
        with transaction(self._db_url) as session:
            for username, (role, area) in USERS.items():
                create_user(
                    session, username, role=role, area_code=area, password_hash=password_hash()
                )
        self._made = True

    def login(self, username: str = "admin", password: str = PASSWORD, **kwargs):
        self.make_users()
        data = {"username": username, "password": password, "csrf_token": csrf_token(self._client)}
        return self._client.post("/auth/login", data=data, **kwargs)

    def logout(self):
        return self.post("/auth/logout")

    def post(self, path: str, *, data: dict | None = None, **kwargs):
        """POST as a browser form would, with the session's CSRF token."""
        data = {**(data or {}), "csrf_token": csrf_token(self._client)}
        return self._client.post(path, data=data, **kwargs)


@pytest.fixture
def auth(client, db_url):
    return AuthActions(client, db_url)
