"""The KB editor through the real Flask app: the /api/v1/kb API (roles, create, stale saves refused with the diff,
workflow, versions, diff, rollback, validation, audit, re-index requests) and the /console/kb pages (search, side-by-
side languages with missing translations flagged, escaped HTML, save conflicts, status buttons, htmx preview)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis

from assistant.settings import Settings
from assistant.store import AccountStore, KbStore
from tests.conftest import REDIS_SERVER
from tests.console.conftest import ClientFor, console_test_settings
from tests.console.support import ConsoleClient, MakeUser
from webhooks.console.kb.context import REINDEX_EXTENSION, STORE_EXTENSION

# Redis db 10 belongs to the KB editor's tests (12-15 are other suites', 11 live re-indexing's).
KB_REDIS_URL = f"{REDIS_SERVER}/10"

HOURS: dict[str, Any] = {
    "entry_id": "sunday-hours",
    "questions": {"en": ["Are you open on Sunday?", "sunday opening hours"]},
    "answers": {"en": "On Sundays the showroom is open 10-14."},
    "tags": ["store"],
}


@pytest.fixture()
def console_redis_url() -> str:
    return KB_REDIS_URL


@pytest.fixture()
def console_settings(tmp_path: Path, console_redis: Redis, trained_data_dir: Path) -> Settings:
    # The trained sample engine, so the preview answers as the service would.
    return console_test_settings(tmp_path, redis_url=KB_REDIS_URL).model_copy(update={"data_dir": trained_data_dir})


@pytest.fixture()
def reindexed(console_app: Flask) -> list[str]:
    """The re-index requests the editor made (the Celery side is LIVEINDEX's test)."""
    requests: list[str] = []
    console_app.extensions[REINDEX_EXTENSION] = requests.append
    return requests


@pytest.fixture()
def editor_api(make_user: MakeUser, api_client: ClientFor, reindexed: list[str]) -> ConsoleClient:
    return api_client(make_user("editor", username="edna"))


def test_roles_and_anonymous_callers(
    console_app: Flask, make_user: MakeUser, api_client: ClientFor, logged_in_client: Callable[..., ConsoleClient]
) -> None:
    anonymous = console_app.test_client()
    assert anonymous.get("/api/v1/kb/entries").status_code == 401
    assert anonymous.get("/console/kb").status_code == 302  # to the login page
    agent = make_user("agent", queues=["support"])
    assert api_client(agent).get("/api/v1/kb/entries").status_code == 403
    assert api_client(agent).post("/api/v1/kb/entries", json=HOURS).status_code == 403
    assert logged_in_client(agent).get("/console/kb").status_code == 403
    assert api_client(make_user("admin")).get("/api/v1/kb/entries").status_code == 200
    assert api_client(make_user("editor")).get("/api/v1/kb/entries").status_code == 200
    # Editors land on the KB after signing in (the queue list is agents' work), and the nav shows the way in.
    landing = console_app.test_client()
    assert isinstance(landing, ConsoleClient)
    assert landing.login(make_user("editor", username="lena").username).headers["Location"] == "/console/kb"
    assert 'data-nav="kb"' in logged_in_client(make_user("editor")).get("/console/kb").get_data(as_text=True)


def test_api_workflow_conflict_versions_and_rollback(
    editor_api: ConsoleClient,
    make_user: MakeUser,
    api_client: ClientFor,
    reindexed: list[str],
    accounts: AccountStore,
) -> None:
    created = editor_api.post("/api/v1/kb/entries", json=HOURS)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["status"], body["version"], body["published_version"]) == ("draft", 1, None)
    assert body["missing_translations"]["zh"] == ["questions", "answer"]
    assert editor_api.post("/api/v1/kb/entries", json=HOURS).status_code == 409  # the id is taken

    # Two editors start from version 1; the second save is refused with the diff, and nothing is lost.
    other = api_client(make_user("editor", username="otto"))
    first = other.put(
        "/api/v1/kb/entries/sunday-hours", json={**HOURS, "answers": {"en": "Sundays: 11-15."}, "expected_version": 1}
    )
    assert first.status_code == 200 and first.get_json()["version"] == 2
    stale = editor_api.put(
        "/api/v1/kb/entries/sunday-hours", json={**HOURS, "answers": {"en": "Sundays: closed."}, "expected_version": 1}
    )
    assert stale.status_code == 409
    conflict = stale.get_json()
    assert conflict["current"]["answers"]["en"] == "Sundays: 11-15." and conflict["current"]["version"] == 2
    assert conflict["submitted"]["answers"]["en"] == "Sundays: closed."
    assert "-    en: 'Sundays: 11-15.'" in conflict["diff"] and "+    en: 'Sundays: closed.'" in conflict["diff"]
    assert editor_api.get("/api/v1/kb/entries/sunday-hours").get_json()["answers"]["en"] == "Sundays: 11-15."

    def move(status: str, version: int) -> dict[str, Any]:
        response = editor_api.post(
            "/api/v1/kb/entries/sunday-hours/transition", json={"status": status, "expected_version": version}
        )
        assert response.status_code == 200, response.get_json()
        result: dict[str, Any] = response.get_json()
        return result

    refused = editor_api.post(
        "/api/v1/kb/entries/sunday-hours/transition", json={"status": "published", "expected_version": 2}
    )
    assert refused.status_code == 409 and "review" in refused.get_json()["error"]
    assert move("review", 2)["status"] == "review"
    assert reindexed == []
    published = move("published", 3)
    assert (published["status"], published["published_version"]) == ("published", 4)
    assert reindexed == ["published sunday-hours v4 by edna"]

    versions = editor_api.get("/api/v1/kb/entries/sunday-hours/versions").get_json()["items"]
    assert [(v["version"], v["status"], v["author"]) for v in versions] == [
        (4, "published", "edna"),
        (3, "review", "edna"),
        (2, "draft", "otto"),
        (1, "draft", "edna"),
    ]
    diff = editor_api.get("/api/v1/kb/entries/sunday-hours/diff?v1=1&v2=2").get_json()["diff"]
    assert "+    en: 'Sundays: 11-15.'" in diff
    assert editor_api.get("/api/v1/kb/entries/sunday-hours/versions/1").get_json()["answers"] == HOURS["answers"]
    assert editor_api.get("/api/v1/kb/entries/sunday-hours/diff?v1=1&v2=99").status_code == 404

    never_live = editor_api.post("/api/v1/kb/entries/sunday-hours/restore", json={"version": 1, "publish": True})
    assert never_live.status_code == 409 and "never published" in never_live.get_json()["error"]
    edit = {**HOURS, "answers": {"en": "Sundays: 12-16."}, "expected_version": 4}
    assert editor_api.put("/api/v1/kb/entries/sunday-hours", json=edit).get_json()["published_version"] == 4
    move("review", 5)
    assert move("published", 6)["answers"]["en"] == "Sundays: 12-16." and len(reindexed) == 2
    rollback = editor_api.post("/api/v1/kb/entries/sunday-hours/restore", json={"version": 4, "publish": True})
    assert rollback.status_code == 200
    assert rollback.get_json()["answers"]["en"] == "Sundays: 11-15." and rollback.get_json()["published_version"] == 8
    assert reindexed[-1] == "rollback sunday-hours to v4 by edna"
    archived = move("archived", 8)
    assert archived["published_version"] is None and len(reindexed) == 4

    listed = editor_api.get("/api/v1/kb/entries?q=sunday&status=archived").get_json()
    assert [item["entry_id"] for item in listed["items"]] == ["sunday-hours"] and listed["total"] == 1
    assert editor_api.get("/api/v1/kb/entries?q=nothing+like+it").get_json()["total"] == 0

    actions = [entry.action for entry in accounts.audit_entries(object_type="kb_entry")]
    assert sorted(actions) == sorted(
        [
            "kb.create",
            "kb.save",
            "kb.save",
            "kb.review",
            "kb.published",
            "kb.review",
            "kb.published",
            "kb.rollback",
            "kb.archived",
        ]
    )


def test_api_validation(editor_api: ConsoleClient) -> None:
    bad = editor_api.post("/api/v1/kb/entries", json={**HOURS, "answers": {"en": "Hi {nickname}, open 10-14."}})
    assert bad.status_code == 422 and "{nickname}" in bad.get_json()["error"]
    assert editor_api.post("/api/v1/kb/entries", json={**HOURS, "questions": {}}).status_code == 422
    assert editor_api.post("/api/v1/kb/entries", json={"entry_id": "x"}).status_code == 422
    assert editor_api.post("/api/v1/kb/entries", json={**HOURS, "entry_id": "gaps"}).status_code == 422
    assert editor_api.put("/api/v1/kb/entries/ghost", json={**HOURS, "expected_version": 1}).status_code == 404
    assert editor_api.get("/api/v1/kb/entries").get_json()["total"] == 0


def test_pages_search_languages_side_by_side_and_escaped_html(
    console_app: Flask, make_user: MakeUser, logged_in_client: Callable[..., ConsoleClient]
) -> None:
    store: KbStore = console_app.extensions[STORE_EXTENSION]()
    from assistant.store import EntryContent

    store.save(
        EntryContent(
            "xss-test",
            {"en": ["Do you sell <b>tents</b>?"], "ru": ["Вы продаёте палатки?"]},
            {"en": '<script>alert("x")</script> Yes, {brand} does.'},
        ),
        None,
        "seed",
    )
    store.save(EntryContent("gift-cards", {"en": ["gift cards?"]}, {"en": "Yes."}), None, "seed")
    client = logged_in_client(make_user("editor"))
    page = client.get("/console/kb?q=tents").get_data(as_text=True)
    assert 'data-entry="xss-test"' in page and 'data-entry="gift-cards"' not in page
    assert 'data-testid="gaps-link"' in page  # the content-gap report is one click away
    assert "&lt;b&gt;tents&lt;/b&gt;" in page and "<b>tents</b>" not in page
    fragment = client.get("/console/kb?q=gift", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-entry="gift-cards"' in fragment

    page = client.get("/console/kb/xss-test").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert 'data-lang="en"' in page and 'data-lang="ru"' in page and 'data-lang="zh"' in page
    assert 'data-testid="missing-translations"' in page
    assert 'class="kb-lang kb-lang-missing" data-lang="ru"' in page  # a question but no answer in Russian
    assert 'class="kb-lang" data-lang="en"' in page
    assert client.get("/console/kb/no-such-entry").status_code == 404


def test_page_save_conflict_keeps_the_text_and_shows_the_diff(
    console_app: Flask, make_user: MakeUser, logged_in_client: Callable[..., ConsoleClient], reindexed: list[str]
) -> None:
    client = logged_in_client(make_user("editor", username="edna"))
    created = client.post(
        "/console/kb/new",
        data={
            "entry_id": "sunday-hours",
            "q_en": "Are you open on Sunday?\nsunday hours",
            "a_en": "10-14.",
            "tags": "store",
        },
    )
    assert created.status_code == 302 and created.headers["Location"].endswith("/console/kb/sunday-hours")
    form = {"entry_id": "sunday-hours", "q_en": "Are you open on Sunday?", "a_en": "11-15.", "expected_version": "1"}
    assert client.post("/console/kb/sunday-hours", data=form).status_code == 302
    mine = {**form, "a_en": "My careful rewrite of the Sunday answer."}
    refused = client.post("/console/kb/sunday-hours", data=mine)
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "My careful rewrite of the Sunday answer." in html  # nothing lost: the form keeps my text
    assert 'data-testid="conflict"' in html and "diff-del" in html and "diff-add" in html
    assert 'name="expected_version" value="2"' in html  # saving again now means "I merged"

    bad = client.post("/console/kb/sunday-hours", data={**form, "expected_version": "2", "a_en": "Hi {nick}"})
    assert bad.status_code == 422 and "{nick}" in bad.get_data(as_text=True)

    # Status buttons: review, then publish; the publish asks for a re-index.
    assert (
        client.post("/console/kb/sunday-hours/status", data={"status": "review", "expected_version": "2"}).status_code
        == 302
    )
    client.post("/console/kb/sunday-hours/status", data={"status": "published", "expected_version": "3"})
    page = client.get("/console/kb/sunday-hours").get_data(as_text=True)
    assert 'data-testid="entry-status">published<' in page and "live: v4" in page
    assert reindexed == ["published sunday-hours v4 by edna"]
    # A form without the CSRF token is refused.
    refused_csrf = client.post(
        "/console/kb/sunday-hours/status",
        data={"status": "archived", "expected_version": "4"},
        headers={"X-CSRFToken": ""},
    )
    assert refused_csrf.status_code == 400
    client.post("/console/kb/sunday-hours/restore", data={"version": "1"})
    page = client.get("/console/kb/sunday-hours").get_data(as_text=True)
    assert 'data-testid="entry-status">draft<' in page and "live: v4" in page and "restored v1" in page


def test_preview_against_the_current_engine_and_the_draft(
    editor_api: ConsoleClient, make_user: MakeUser, logged_in_client: Callable[..., ConsoleClient]
) -> None:
    response = editor_api.post(
        "/api/v1/kb/preview",
        json={
            "question": "Are you open on Sunday?",
            "draft": {
                "entry_id": "sunday-hours",
                "questions": {"en": ["Are you open on Sunday?", "Where is your shop located?"]},
                "answers": {"en": "On Sundays 10-14."},
            },
        },
    )
    assert response.status_code == 200, response.get_json()
    preview = response.get_json()
    # The current engine's decision, made now: out of hours the sender gets the entry's answer, in hours (with
    # answer_in_business_hours off) it goes to the team with that entry. Either way it is this entry's.
    decision = preview["decision"]
    assert decision["entry_id"] == "store-opening-hours", decision
    if decision["action"] == "answer":
        assert decision["reply"] and decision["reply_kind"], decision
    else:
        assert decision["action"] == "escalate", decision
        assert any("routine question in business hours" in reason for reason in decision["reasons"]), decision
    assert decision["reasons"] and 0 <= decision["confidence"] <= 1
    assert preview["draft"]["similarity"] > 0.99 and preview["draft"]["phrasing"] == "Are you open on Sunday?"
    assert preview["draft"]["answer"] == "On Sundays 10-14."
    duplicates = preview["near_duplicates"]
    assert {(d["phrasing"], d["other_entry"]) for d in duplicates} >= {
        ("Where is your shop located?", "store-location")
    }
    assert all(d["phrasing"] != "Are you open on Sunday?" or d["similarity"] >= 0.92 for d in duplicates)
    assert editor_api.post("/api/v1/kb/preview", json={"question": ""}).status_code == 422

    client = logged_in_client(make_user("editor"))
    fragment = client.post(
        "/console/kb/preview",
        data={
            "preview_question": "do u have a shop in Krakow",
            "entry_id": "x",
            "q_en": "shop in krakow?",
            "a_en": "<i>Yes</i>",
        },
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert 'data-testid="preview-action"' in fragment and "store-location" in fragment
    assert "&lt;i&gt;Yes&lt;/i&gt;" in fragment and "<i>Yes</i>" not in fragment


def test_near_duplicates_are_warned_about_before_publish(
    editor_api: ConsoleClient, make_user: MakeUser, logged_in_client: Callable[..., ConsoleClient]
) -> None:
    entry = {**HOURS, "questions": {"en": ["Are you open on Sunday?", "where is your shop located"]}}
    assert editor_api.post("/api/v1/kb/entries", json=entry).status_code == 201
    client = logged_in_client(make_user("editor"))
    assert 'data-testid="publish-duplicates"' not in client.get("/console/kb/sunday-hours").get_data(as_text=True)
    found = editor_api.get("/api/v1/kb/entries/sunday-hours/duplicates").get_json()["near_duplicates"]
    assert [(d["phrasing"], d["other_entry"]) for d in found] == [("where is your shop located", "store-location")]
    assert editor_api.get("/api/v1/kb/entries/ghost/duplicates").status_code == 404
    editor_api.post("/api/v1/kb/entries/sunday-hours/transition", json={"status": "review", "expected_version": 1})
    page = client.get("/console/kb/sunday-hours").get_data(as_text=True)
    assert 'data-testid="publish-duplicates"' in page
    assert "“where is your shop located” ≈ “Where is your shop located?” in" in page and "store-location" in page


def test_the_list_page_is_paged(
    console_app: Flask,
    make_user: MakeUser,
    logged_in_client: Callable[..., ConsoleClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assistant.store import EntryContent
    from webhooks.console.kb import pages as kb_pages

    monkeypatch.setattr(kb_pages, "LIST_PAGE", 2)
    store: KbStore = console_app.extensions[STORE_EXTENSION]()
    for n in range(5):
        store.save(EntryContent(f"paged-{n}", {"en": [f"paged question {n}?"]}, {"en": "Yes."}), None, "seed")
    client = logged_in_client(make_user("editor"))
    first = client.get("/console/kb?q=paged").get_data(as_text=True)
    assert 'data-entry="paged-0"' in first and 'data-entry="paged-1"' in first and 'data-entry="paged-2"' not in first
    assert "page 1 of 3" in first and 'rel="next" href="/console/kb?q=paged&amp;page=2"' in first
    assert 'rel="prev"' not in first
    last = client.get("/console/kb?q=paged&page=3").get_data(as_text=True)
    assert 'data-entry="paged-4"' in last and 'data-entry="paged-0"' not in last and "5–5 shown" in last
    assert 'rel="prev" href="/console/kb?q=paged&amp;page=2"' in last and 'rel="next"' not in last
    # A page number that is not one shows the first page instead of an error.
    assert 'data-entry="paged-0"' in client.get("/console/kb?q=paged&page=x").get_data(as_text=True)
