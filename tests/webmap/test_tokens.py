"""Bearer tokens: `qungong tokens create | list | revoke`, hashing, expiry, 401s, audit, scope."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from models import tokens, users
from models.db import engine_for, transaction
from tests.factories import load_tiny_network
from webmap.cli import main


@pytest.fixture
def cli():
    return CliRunner()


@pytest.fixture
def users_made(db_url, auth):
    load_tiny_network(db_url)
    auth.make_users()
    return db_url


def make_token(cli, db_url, *args):
    result = cli.invoke(main, ["tokens", "create", *args], env={"DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def audit_uses(db_url) -> list[tuple[str, dict]]:
    with engine_for(db_url).connect() as conn:
        rows = conn.execute(
            text("SELECT username, detail FROM audit_log WHERE action = 'token.use' ORDER BY id")
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_create_list_revoke_from_the_command_line(cli, client, users_made):
    env = {"DATABASE_URL": users_made}
    token = make_token(cli, users_made, "--user", "team", "--note", "QGIS in the township office")
    assert token.startswith("qg_")
    assert len(token) > 40
    listed = cli.invoke(main, ["tokens", "list"], env=env).output
    assert "team" in listed
    assert "valid" in listed
    assert token[:10] in listed
    assert token not in listed
    # stored only as a hash
    with engine_for(users_made).connect() as conn:
        stored = conn.execute(text("SELECT token_hash, prefix FROM api_token")).one()
    assert stored[0] == tokens.hash_token(token)
    assert token not in stored[0]

    ok = client.get("/ogc/collections", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    revoked = cli.invoke(main, ["tokens", "revoke", "1"], env=env)
    assert revoked.exit_code == 0
    assert "revoked" in revoked.output
    assert "revoked" in cli.invoke(main, ["tokens", "list"], env=env).output
    for path in ("/ogc/collections", "/api/stations"):
        refused = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401, path
        assert "revoked" in refused.get_data(as_text=True)


def test_command_line_errors_are_one_clear_line(cli, users_made):
    env = {"DATABASE_URL": users_made}
    nobody = cli.invoke(main, ["tokens", "create", "--user", "nobody"], env=env)
    assert nobody.exit_code == 1
    assert "no user 'nobody'" in nobody.output
    bad = cli.invoke(main, ["tokens", "create", "--user", "team", "--expires", "soon"], env=env)
    assert bad.exit_code == 2
    assert "--expires" in bad.output
    missing = cli.invoke(main, ["tokens", "revoke", "99"], env=env)
    assert missing.exit_code == 1
    assert "no token with id 99" in missing.output
    for result in (nobody, bad, missing):
        assert "Traceback" not in result.output


def test_expired_and_unknown_tokens_get_401(cli, client, users_made):
    with transaction(users_made) as session:
        _, expired = tokens.create_token(
            session, "admin", expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        )
    later = make_token(cli, users_made, "--user", "admin", "--expires", "30d")
    r = client.get("/ogc/", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401
    assert r.get_json() == {"code": "Unauthorized", "description": "token expired"}
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/ogc/", headers={"Authorization": "Bearer qg_made_up"}).status_code == 401
    api = client.get("/api/stations", headers={"Authorization": "Bearer qg_made_up"})
    assert api.status_code == 401
    assert client.get("/ogc/", headers={"Authorization": f"Bearer {later}"}).status_code == 200


def test_a_disabled_users_tokens_get_401(cli, client, users_made):
    token = make_token(cli, users_made, "--user", "team")
    assert client.get("/ogc/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with transaction(users_made) as session:
        users.set_disabled(session, "team")
    r = client.get("/ogc/", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.get_json()["description"] == "user disabled"


def test_token_carries_the_users_role_and_area_on_api(cli, client, users_made):
    token = make_token(cli, users_made, "--user", "team")
    r = client.get("/api/stations", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert len(r.get_json()["stations"]) == 2  # the team's township has two villages
    # a role check still applies: the team role may not read the leaders' API
    leaders = client.get("/api/leaders/heat", headers={"Authorization": f"Bearer {token}"})
    assert leaders.status_code == 403


def test_tokens_open_only_machine_endpoints(cli, client, users_made):
    token = make_token(cli, users_made, "--user", "admin")
    page = client.get("/", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 302  # pages still need a signed-in session


def test_every_use_is_audited_refused_ones_too(cli, client, users_made):
    token = make_token(cli, users_made, "--user", "team")
    h = {"Authorization": f"Bearer {token}"}
    client.get("/ogc/collections", headers=h)
    client.get("/ogc/collections/groups/items?limit=2", headers=h)
    client.get("/ogc/", headers={"Authorization": "Bearer qg_wrong"})
    uses = audit_uses(users_made)
    assert [u for u, _ in uses] == ["team", "team", "-"]
    assert uses[1][1]["path"] == "/ogc/collections/groups/items"
    assert uses[1][1]["query"] == "limit=2"
    assert uses[2][1]["refused"] == "unknown token"
