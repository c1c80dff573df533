"""Log-in sessions live on the server (logout revokes a copied cookie; idle and absolute
limits), log-in lock-out and one answer for unknown users, forced password changes, cookie
flags and security headers (issue #9, classes 6, 7 and 10)."""

from __future__ import annotations

import re

from sqlalchemy import text

from models.db import engine_for
from tests.webmap.conftest import PASSWORD


def test_logout_revokes_a_copied_cookie(app, client, auth):
    auth.login("leader")
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/leaders/").status_code == 200
    auth.logout()
    assert thief.get("/leaders/").status_code == 302  # the server forgot the session


def test_idle_and_absolute_limits_end_a_session(client, auth, db_url):
    auth.login("leader")
    assert client.get("/leaders/").status_code == 200
    with engine_for(db_url).begin() as conn:
        conn.execute(text("UPDATE user_session SET last_seen = now() - interval '31 minutes'"))
    assert client.get("/leaders/").status_code == 302
    auth.login("leader")
    with engine_for(db_url).begin() as conn:
        conn.execute(text("UPDATE user_session SET created_at = now() - interval '13 hours'"))
    assert client.get("/leaders/").status_code == 302


def test_lock_out_after_repeated_failures_known_or_unknown(client, auth, db_url):
    auth.make_users()
    for name in ("leader", "nobody-here"):
        for _ in range(5):
            page = auth.login(name, "wrong-password-1").get_data(as_text=True)
            assert "用户名或密码错误" in page
    # locked now: even the right password is refused, with the same words
    page = auth.login("leader", PASSWORD).get_data(as_text=True)
    assert "用户名或密码错误" in page
    assert client.get("/leaders/").status_code == 302
    with engine_for(db_url).connect() as conn:
        rows = dict(conn.execute(text("SELECT username, failures FROM login_attempt")).all())
        audited = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE action = 'login.failed'")
        ).scalar_one()
    assert rows == {"leader": 6, "nobody-here": 5}
    assert audited == 11


def test_unknown_users_take_the_same_hashing_path(db_url, monkeypatch):
    from models import users
    from models.db import transaction

    checked = []
    real = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    with transaction(db_url) as session:
        assert users.authenticate(session, "no-such-user", "whatever-pw-1") is None
    assert len(checked) == 1  # one scrypt check, as for a real user
    assert checked[0].startswith("scrypt:")


def test_a_weak_password_must_be_changed_first(client, auth, db_url):
    from models.db import transaction
    from models.users import create_user

    with transaction(db_url) as s:
        create_user(s, "weak", role="leader", area_code="430500000000", password="qungong-demo")
    auth.login("weak", "qungong-demo")
    response = client.get("/leaders/")
    assert response.status_code == 302
    assert "/auth/password" in response.headers["Location"]
    page = auth.post(
        "/auth/password",
        data={"current": "qungong-demo", "new": "a-better-pw-77", "repeat": "a-better-pw-77"},
    )
    assert page.status_code == 302
    assert client.get("/leaders/").status_code == 200


def test_cookie_flags_and_security_headers(client, auth):
    response = auth.login("leader")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    page = client.get("/leaders/")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    # enforced in full: inline scripts run only with this response's nonce
    assert "Content-Security-Policy-Report-Only" not in page.headers
    [script_src] = [d for d in csp.split("; ") if d.startswith("script-src ")]
    assert "unsafe-inline" not in script_src
    nonce = script_src.split("'nonce-")[1].rstrip("'")
    html = page.get_data(as_text=True)
    inline = re.findall(r"<script\b(?![^>]*\bsrc=)[^>]*>", html)
    assert inline
    assert all(f'nonce="{nonce}"' in tag for tag in inline), inline
    assert client.get("/leaders/").headers["Content-Security-Policy"] != csp  # fresh per response


def test_sign_ins_exports_and_record_views_are_audited(client, auth, db_url):
    from tests.leaders_factories import load_grid_network

    load_grid_network(db_url)
    auth.login("leader")
    assert client.get("/api/leaders/top.csv").status_code == 200
    with engine_for(db_url).connect() as conn:
        actions = conn.execute(text("SELECT username, action FROM audit_log ORDER BY id")).all()
    assert ("leader", "login.ok") in actions
    assert ("leader", "export") in actions
