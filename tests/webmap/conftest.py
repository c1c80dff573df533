"""Fixtures for the web app: an app per test on its own fresh database."""

from __future__ import annotations

import pytest

from webmap.app import create_app


@pytest.fixture
def app(db_url, tmp_path):
    return create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "test"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
