"""Accounts against the real app, database and Redis: sign-in and sign-out, session cookies, throttling,
CSRF, API tokens, role checks, the audit log, and the password and token storage underneath."""

from __future__ import annotations

import hashlib
import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import text

from assistant.settings import load_settings, session_secret
from assistant.store import AccountError, AccountStore, UserRecord
from tests.console.conftest import ClientFor, console_test_settings
from tests.console.support import PASSWORD, ConsoleClient, MakeUser, extract_csrf


def _login_form(client: ConsoleClient, username: str, password: str, **extra: str) -> Any:
    page = client.get("/console/login")
    data = {"username": username, "password": password, "csrf_token": extract_csrf(page.get_data(as_text=True))}
    return client.post("/console/login", data={**data, **extra})


def _cookie_header(response: Any, name: str) -> str:
    headers = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(f"{name}=")]
    assert headers, f"no {name} cookie set"
    return str(headers[-1])


# Signing in and out


def test_anonymous_pages_redirect_to_login_and_api_answers_401(console_app: Flask) -> None:
    client = console_app.test_client()
    page = client.get("/console/account")
    assert page.status_code == 302
    assert page.headers["Location"] == "/console/login?next=/console/account"
    htmx = client.get("/console/account", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/console/login")
    api = client.get("/api/v1/me")
    assert api.status_code == 401
    assert api.json == {"error": "authentication required: a bearer token or a console session"}
    assert api.headers["WWW-Authenticate"].startswith("Bearer")


def test_login_sets_a_hardened_session_cookie_and_logout_ends_it(
    console_app: Flask, make_user: MakeUser, accounts: AccountStore
) -> None:
    make_user("agent", username="ann", queues=["support"])
    client = console_app.test_client()
    response = _login_form(client, "Ann", PASSWORD)  # usernames are case-insensitive
    assert response.status_code == 302
    cookie = _cookie_header(response, "ca_session")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # public_base_url is http here; see the https test below
    expires = datetime.strptime(cookie.split("Expires=")[1].split(";")[0], "%a, %d %b %Y %H:%M:%S GMT")
    lifetime = expires.replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(hours=11) < lifetime <= timedelta(hours=12)  # security.session_hours = 12
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json["username"] == "ann" and me.json["queues"] == ["support"]

    token = extract_csrf(client.get("/console/account").get_data(as_text=True))
    out = client.post("/console/logout", data={"csrf_token": token})
    assert out.status_code == 302 and out.headers["Location"] == "/console/login"
    assert client.get("/api/v1/me").status_code == 401
    actions = [(entry.action, entry.username) for entry in accounts.audit_entries()]
    # Signing in makes an agent online and signing out offline (issue 13), each with its presence line.
    assert actions == [("presence", "ann"), ("logout", "ann"), ("presence", "ann"), ("login", "ann")]
    assert accounts.audit_entries()[0].ip == "127.0.0.1"


def test_secure_cookie_when_served_over_https(tmp_path: Path, console_redis: Any, accounts: AccountStore) -> None:
    from webhooks.app import create_app

    settings = console_test_settings(tmp_path / "https", service={"public_base_url": "https://support.example"})
    app = create_app(settings, enqueue=lambda event: None)
    app.extensions["console.accounts"]().create_user("ann", PASSWORD, "agent")
    client = app.test_client()
    page = client.get("/console/login", base_url="https://support.example")
    response = client.post(
        "/console/login",
        base_url="https://support.example",
        data={"username": "ann", "password": PASSWORD, "csrf_token": extract_csrf(page.get_data(as_text=True))},
        headers={"Referer": "https://support.example/console/login"},
    )
    assert response.status_code == 302
    assert "Secure" in _cookie_header(response, "ca_session")


def test_session_lifetime_comes_from_settings(tmp_path: Path, console_redis: Any) -> None:
    from webhooks.app import create_app

    settings = console_test_settings(tmp_path, security={"session_hours": 2})
    app = create_app(settings, enqueue=lambda event: None)
    assert app.permanent_session_lifetime == timedelta(hours=2)


def test_wrong_password_is_refused_and_logged_without_the_password(
    console_app: Flask, make_user: MakeUser, accounts: AccountStore, caplog: pytest.LogCaptureFixture
) -> None:
    make_user("agent", username="ann")
    client = console_app.test_client()
    with caplog.at_level(logging.INFO):
        response = _login_form(client, "ann", "hunter2-wrong-password")
        unknown = _login_form(client, "nobody", "hunter2-wrong-password")
    assert response.status_code == 401 and unknown.status_code == 401
    # The same answer for a wrong password and an unknown user: no way to probe for usernames.
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert "Wrong username or password." in unknown.get_data(as_text=True)
    assert client.get("/api/v1/me").status_code == 401
    entries = accounts.audit_entries()
    assert [(entry.action, entry.username, entry.user_id) for entry in entries] == [
        ("login_failed", "nobody", None),
        ("login_failed", "ann", None),
    ]
    assert all("hunter2" not in str(entry.details) for entry in entries)
    assert "hunter2" not in caplog.text
    assert "failed login for ann" in caplog.text


def test_repeated_failures_lock_the_username_until_the_window_passes(
    console_app: Flask, make_user: MakeUser, accounts: AccountStore, console_redis: Any
) -> None:
    make_user("agent", username="ann")
    make_user("agent", username="bea")
    client = console_app.test_client()
    for _ in range(5):  # security.login_max_failures
        assert _login_form(client, "ann", "wrong-password-x").status_code == 401
    locked = _login_form(client, "ann", PASSWORD)  # even the right password now waits
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in locked.get_data(as_text=True)
    assert client.get("/api/v1/me").status_code == 401
    assert accounts.audit_entries(action="login_throttled")[0].username == "ann"
    # Another account from the same address is not locked by ann's failures.
    assert _login_form(console_app.test_client(), "bea", PASSWORD).status_code == 302
    # When the window has passed (here: the counters are gone) ann can sign in again.
    console_redis.flushdb()
    assert _login_form(client, "ann", PASSWORD).status_code == 302


def test_a_successful_login_resets_the_failure_count(console_app: Flask, make_user: MakeUser) -> None:
    make_user("agent", username="ann")
    client = console_app.test_client()
    for _ in range(4):
        assert _login_form(client, "ann", "wrong-password-x").status_code == 401
    assert _login_form(client, "ann", PASSWORD).status_code == 302
    other = console_app.test_client()
    for _ in range(4):
        assert _login_form(other, "ann", "wrong-password-x").status_code == 401
    assert _login_form(other, "ann", PASSWORD).status_code == 302


def test_too_many_failures_from_one_address_lock_every_username(tmp_path: Path, console_redis: Any) -> None:
    from webhooks.app import create_app

    settings = console_test_settings(tmp_path, security={"login_max_failures_per_ip": 3})
    app = create_app(settings, enqueue=lambda event: None)
    app.test_client_class = ConsoleClient
    app.extensions["console.accounts"]().create_user("ann", PASSWORD, "agent")
    client = app.test_client()
    for name in ("x1", "x2", "x3"):
        assert _login_form(client, name, "wrong-password-x").status_code == 401
    assert _login_form(client, "ann", PASSWORD).status_code == 429


def test_login_refuses_when_redis_is_down(tmp_path: Path, console_redis: Any) -> None:
    from webhooks.app import create_app

    settings = console_test_settings(tmp_path, redis_url="redis://127.0.0.1:1/0")
    app = create_app(settings, enqueue=lambda event: None)
    app.extensions["console.accounts"]().create_user("ann", PASSWORD, "agent")
    response = _login_form(app.test_client(), "ann", PASSWORD)
    assert response.status_code == 503
    assert "Sign-in is unavailable" in response.get_data(as_text=True)


def test_next_must_be_a_local_path(console_app: Flask, make_user: MakeUser) -> None:
    make_user("agent", username="ann")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = _login_form(console_app.test_client(), "ann", PASSWORD, next=target)
        assert response.status_code == 302
        assert response.headers["Location"] in ("/console/", "/console/account"), target
    response = _login_form(console_app.test_client(), "ann", PASSWORD, next="/api/docs")
    assert response.headers["Location"] == "/api/docs"


def test_disabled_users_cannot_sign_in_and_lose_their_session_and_tokens(
    console_app: Flask, make_user: MakeUser, accounts: AccountStore, logged_in_client: Any, api_client: ClientFor
) -> None:
    ann = make_user("agent", username="ann")
    session_client = logged_in_client(ann)
    token_client = api_client(ann)
    accounts.update_user(ann.id, is_active=False)
    assert session_client.get("/api/v1/me").status_code == 401
    assert token_client.get("/api/v1/me").status_code == 401
    assert _login_form(console_app.test_client(), "ann", PASSWORD).status_code == 401


def test_a_new_password_ends_other_sessions(make_user: MakeUser, accounts: AccountStore, logged_in_client: Any) -> None:
    ann = make_user("agent", username="ann")
    client = logged_in_client(ann)
    assert client.get("/api/v1/me").status_code == 200
    accounts.set_password(ann.id, "a-brand-new-password")
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/console/account").status_code == 302


# CSRF


def test_forms_and_session_api_calls_need_the_csrf_token(
    console_app: Flask, make_user: MakeUser, logged_in_client: Any
) -> None:
    ann = make_user("agent", username="ann")
    # The login form itself is protected (no login CSRF).
    bare = console_app.test_client().post("/console/login", data={"username": "ann", "password": PASSWORD})
    assert bare.status_code == 400 and "CSRF" in bare.get_data(as_text=True)

    client = logged_in_client(ann)
    client.auto_csrf = False
    assert client.post("/console/presence", data={"online": "1"}).status_code == 400
    refused = client.put("/api/v1/me/presence", json={"online": True})
    assert refused.status_code == 400 and "CSRF" in refused.json["error"]
    forged = client.post("/console/presence", data={"online": "1"}, headers={"X-CSRFToken": "forged"})
    assert forged.status_code == 400

    # htmx sends the page's token as X-CSRFToken; a form sends it as a field.
    ok = client.put("/api/v1/me/presence", json={"online": True}, headers={"X-CSRFToken": client.csrf_token})
    assert ok.status_code == 200 and ok.json["is_online"] is True
    form = client.post("/console/presence", data={"online": "0", "csrf_token": client.csrf_token})
    assert form.status_code == 302


def test_bearer_token_calls_need_no_csrf_token(make_user: MakeUser, api_client: ClientFor) -> None:
    client = api_client(make_user("agent"))
    response = client.put("/api/v1/me/presence", json={"online": True})
    assert response.status_code == 200 and response.json["is_online"] is True


def test_a_bad_token_is_not_rescued_by_a_session(make_user: MakeUser, logged_in_client: Any) -> None:
    client = logged_in_client(make_user("agent"))
    assert client.get("/api/v1/me").status_code == 200
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer ca_not-a-real-token"})
    assert response.status_code == 401 and response.json["error"] == "invalid or revoked token"
    # And a token header does not let a cross-site form skip the CSRF check on console pages.
    client.auto_csrf = False
    page_post = client.post("/console/presence", data={"online": "1"}, headers={"Authorization": "Bearer x"})
    assert page_post.status_code == 400


def test_platform_webhooks_are_not_subject_to_csrf(console_app: Flask) -> None:
    # Platforms sign their webhooks; CSRF must not stand in their way (unknown platform: 404, not 400).
    response = console_app.test_client().post("/webhooks/nowhere", data=b"{}")
    assert response.status_code == 404


# API tokens


def test_tokens_are_shown_once_stored_hashed_used_and_revoked(
    make_user: MakeUser, logged_in_client: Any, accounts: AccountStore, console_app: Flask
) -> None:
    ann = make_user("agent", username="ann")
    client = logged_in_client(ann)
    issued = client.post("/api/v1/tokens", json={"name": "helpdesk sync"})
    assert issued.status_code == 201
    token = issued.json["token"]
    assert token.startswith("ca_") and issued.json["name"] == "helpdesk sync"
    listed = client.get("/api/v1/tokens").json["tokens"]
    assert [t["name"] for t in listed] == ["helpdesk sync"] and "token" not in listed[0]
    with accounts.engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]

    bearer = console_app.test_client()
    me = bearer.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["username"] == "ann"
    assert accounts.tokens(ann.id)[0].last_used_at is not None

    revoked = client.delete(f"/api/v1/tokens/{issued.json['id']}")
    assert revoked.status_code == 204
    assert bearer.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert [entry.action for entry in accounts.audit_entries(object_type="api_token")] == [
        "token_revoke",
        "token_issue",
    ]


def test_tokens_of_others_can_only_be_revoked_by_an_admin(
    make_user: MakeUser, api_client: ClientFor, accounts: AccountStore
) -> None:
    ann, bea, root = make_user("agent"), make_user("agent"), make_user("admin")
    token_id = accounts.tokens(api_client(ann).get("/api/v1/me").json["id"])[0].id
    assert api_client(bea).delete(f"/api/v1/tokens/{token_id}").status_code == 404
    assert api_client(root).delete(f"/api/v1/tokens/{token_id}").status_code == 204
    assert api_client(root).delete(f"/api/v1/tokens/{token_id}").status_code == 204  # already revoked: no-op
    assert api_client(root).delete("/api/v1/tokens/99999").status_code == 404
    assert accounts.tokens(ann.id) == []


def test_the_account_page_issues_a_token_once_and_revokes_it(
    make_user: MakeUser, logged_in_client: Any, accounts: AccountStore
) -> None:
    ann = make_user("agent", username="ann")
    client = logged_in_client(ann)
    page = client.post("/console/account/tokens", data={"name": "laptop script"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Copy this token now." in html
    token = html.split('data-testid="new-token">')[1].split("<")[0]
    assert accounts.user_for_token(token) is not None
    again = client.get("/console/account").get_data(as_text=True)
    assert token not in again and "laptop script" in again
    token_id = accounts.tokens(ann.id)[0].id
    assert client.post(f"/console/account/tokens/{token_id}/revoke").status_code == 302
    assert accounts.user_for_token(token) is None
    assert client.post("/console/account/tokens", data={"name": "  "}).status_code == 400


def test_token_requests_are_validated(make_user: MakeUser, api_client: ClientFor) -> None:
    client = api_client(make_user("agent"))
    assert client.post("/api/v1/tokens", data="not json").status_code == 400
    invalid = client.post("/api/v1/tokens", json={"name": ""})
    assert invalid.status_code == 422 and invalid.json["details"][0]["loc"] == ["name"]
    assert client.post("/api/v1/tokens", json={"name": "x" * 129}).status_code == 422
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401


# Roles


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("editor", 403), ("admin", 200)])
def test_admin_endpoints_refuse_other_roles(make_user: MakeUser, api_client: ClientFor, role: str, status: int) -> None:
    client = api_client(make_user(role))
    for path in ("/api/v1/users", "/api/v1/audit"):
        response = client.get(path)
        assert response.status_code == status, path
        if status == 403:
            assert response.json["error"] == f"this endpoint is for admin; the caller is {role}"


def test_admin_lists_users_with_filters(make_user: MakeUser, api_client: ClientFor, accounts: AccountStore) -> None:
    root = make_user("admin", username="root")
    ann = make_user("agent", username="ann", queues=["support"])
    make_user("agent", username="bea", queues=["complaints"])
    make_user("editor", username="eve")
    accounts.set_online(ann.id, True)
    client = api_client(root)
    assert [u["username"] for u in client.get("/api/v1/users").json["users"]] == ["ann", "bea", "eve", "root"]
    assert [u["username"] for u in client.get("/api/v1/users?role=agent&online=true").json["users"]] == ["ann"]
    assert [u["username"] for u in client.get("/api/v1/users?queue=complaints").json["users"]] == ["bea"]
    assert client.get("/api/v1/users?online=perhaps").status_code == 422


def test_wrong_role_on_a_page_gets_the_403_page(console_app: Flask, make_user: MakeUser, logged_in_client: Any) -> None:
    from webhooks.console.auth.guards import page_login_required

    @page_login_required("editor")
    def editors_only() -> str:
        return "editor page"

    console_app.add_url_rule("/console/test-editors-only", view_func=editors_only)
    agent = logged_in_client(make_user("agent"))
    page = agent.get("/console/test-editors-only")
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert "Not allowed" in html and "this page is for editor; you are signed in as agent" in html
    assert logged_in_client(make_user("editor")).get("/console/test-editors-only").status_code == 200
    assert logged_in_client(make_user("admin")).get("/console/test-editors-only").status_code == 200


def test_roles_must_be_listed(console_app: Flask) -> None:
    from webhooks.console.auth.guards import api_auth_required, page_login_required

    with pytest.raises(ValueError, match="list the accepted roles"):
        api_auth_required()
    with pytest.raises(ValueError, match="list the accepted roles"):
        page_login_required("superuser")


def test_can_see_queue() -> None:
    from assistant.services.agent_actions import can_see_queue

    def user(role: str, queues: tuple[str, ...]) -> UserRecord:
        return UserRecord(1, "u", "U", None, role, True, 5, False, None, queues)

    assert can_see_queue(user("agent", ("support",)), "support")
    assert not can_see_queue(user("agent", ("support",)), "complaints")
    assert not can_see_queue(user("editor", ()), "support")
    assert can_see_queue(user("admin", ()), "complaints")


# Pages


def test_console_pages_have_security_headers_and_html_error_pages(
    console_app: Flask, make_user: MakeUser, logged_in_client: Any
) -> None:
    client = logged_in_client(make_user("agent"))
    page = client.get("/console/account")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    missing = client.get("/console/no-such-page")
    assert missing.status_code == 404 and "Not found" in missing.get_data(as_text=True)
    assert missing.content_type.startswith("text/html")
    api_missing = client.get("/api/v1/no-such-thing")
    assert api_missing.status_code == 404 and api_missing.is_json
    static = console_app.test_client().get("/console/static/console/htmx.min.js")
    assert static.status_code == 200 and b"htmx" in static.data
    static.close()


def test_presence_toggle_over_htmx_returns_the_button(
    make_user: MakeUser, logged_in_client: Any, accounts: AccountStore
) -> None:
    ann = make_user("agent", username="ann", queues=["support"])
    client = logged_in_client(ann)
    response = client.post("/console/presence", data={"online": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'class="presence-toggle online"' in response.get_data(as_text=True)
    assert accounts.user(ann.id).is_online  # type: ignore[union-attr]
    assert accounts.audit_entries(action="presence")[0].details == {"online": True}


def test_audit_helper_records_the_caller_for_other_views(
    console_app: Flask, make_user: MakeUser, api_client: ClientFor, accounts: AccountStore
) -> None:
    from flask import Response, jsonify

    from webhooks.console.auth.guards import api_auth_required
    from webhooks.console.auth.identity import audit

    @api_auth_required("agent")
    def act() -> Response:
        audit("claim", "escalation", 42, queue="support", text="x" * 5000)
        return jsonify({"ok": True})

    console_app.add_url_rule("/api/v1/test-act", view_func=act, methods=["POST"])
    ann = make_user("agent", username="ann")
    assert api_client(ann).post("/api/v1/test-act").status_code == 200
    entry = accounts.audit_entries(action="claim")[0]
    assert (entry.user_id, entry.username, entry.object_type, entry.object_id) == (ann.id, "ann", "escalation", "42")
    assert entry.details["queue"] == "support" and len(entry.details["text"]) == 2000  # bounded


# The store underneath


def test_passwords_are_argon2id_and_weak_hashes_are_upgraded(accounts: AccountStore) -> None:
    weak = AccountStore(accounts.engine, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    user = weak.create_user("ann", PASSWORD, "agent")
    with accounts.engine.connect() as connection:
        before = connection.execute(text("SELECT password_hash FROM users")).scalar_one()
    assert before.startswith("$argon2id$") and "m=8," in before
    assert accounts.verify_password("ann", PASSWORD) == user
    with accounts.engine.connect() as connection:
        after = connection.execute(text("SELECT password_hash FROM users")).scalar_one()
    assert after != before and "m=8," not in after
    assert accounts.verify_password("ann", "wrong") is None
    assert accounts.verify_password("ANN ", PASSWORD) is not None


def test_account_rules(accounts: AccountStore) -> None:
    with pytest.raises(AccountError, match="too short"):
        accounts.create_user("ann", "short", "agent")
    with pytest.raises(AccountError, match="unknown role"):
        accounts.create_user("ann", PASSWORD, "root")
    with pytest.raises(AccountError, match="invalid username"):
        accounts.create_user("ann smith", PASSWORD, "agent")
    with pytest.raises(AccountError, match="invalid queue"):
        accounts.create_user("ann", PASSWORD, "agent", queues=["no spaces"])
    accounts.create_user("ann", PASSWORD, "agent", queues=["Support", "support", "urgent"])
    with pytest.raises(AccountError, match="taken"):
        accounts.create_user("ANN", PASSWORD, "agent")
    ann = accounts.user_by_username("ann")
    assert ann is not None and ann.queues == ("support", "urgent")
    assert accounts.set_queues(ann.id, ["complaints"]).queues == ("complaints",)
    with pytest.raises(AccountError, match="a token needs a name"):
        accounts.issue_token(ann.id, " ")
    assert accounts.user_for_token("not-ours") is None


def test_session_secret_is_generated_once_with_private_permissions(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    first = session_secret(settings)
    assert len(first) >= 48 and session_secret(settings) == first
    path = tmp_path / "data" / "secret-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list((tmp_path / "data").iterdir()) == [path]  # no draft left behind
    assert session_secret(load_settings(data_dir=tmp_path / "data", security={"secret_key": "given"})) == "given"
