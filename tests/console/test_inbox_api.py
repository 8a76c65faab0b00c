"""The agents' inbox against the real app, a SQLite file and Redis: the list across an agent's queues and its
filters (API and page), search, the customer panel and labels (API, page and htmx partial), access rules, and
presence: online from sign-in, away after inactivity, so automatic assignment finds people without the toggle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from assistant.domain.messages import Priority
from assistant.domain.presence import Presence, needs_touch, presence
from assistant.services.timers import auto_assign
from assistant.store import AccountStore, ConsoleStore, Store
from tests.console.conftest import ClientFor
from tests.console.seeding import seed_escalation
from tests.console.support import ConsoleClient, MakeUser
from webhooks.runtime import Runtime


@pytest.fixture()
def runtime(console_app: Flask) -> Runtime:
    result: Runtime = console_app.extensions["console.queues.runtime"]
    return result


@pytest.fixture()
def store(runtime: Runtime) -> Store:
    return runtime.store


def ids(answer: dict[str, object]) -> list[int]:
    return [int(item["id"]) for item in answer["items"]]  # type: ignore[attr-defined, index]


def test_the_inbox_lists_every_queue_of_the_agent_with_filters(
    store: Store, make_user: MakeUser, api_client: ClientFor
) -> None:
    support = seed_escalation(store, queue="support", priority=Priority.NORMAL)
    complaint = seed_escalation(store, queue="complaints", platform="slack", priority=Priority.HIGH, language="de")
    urgent = seed_escalation(store, queue="urgent", priority=Priority.URGENT)
    ann = make_user("agent", queues=["support", "complaints"], username="ann")
    client = api_client(ann)
    answer = client.get("/api/v1/inbox").get_json()
    assert ids(answer) == [complaint.escalation_id, support.escalation_id]  # not urgent: not ann's queue
    assert answer["queues"] == ["complaints", "support"]
    row = answer["items"][1]
    assert row["waiting_since"] is not None and row["labels"] == [] and row["queue"] == "support"

    client.post(f"/api/v1/escalations/{complaint.escalation_id}/claim", json={})
    assert ids(client.get("/api/v1/inbox?scope=mine").get_json()) == [complaint.escalation_id]
    assert ids(client.get("/api/v1/inbox?scope=unassigned").get_json()) == [support.escalation_id]
    assert ids(client.get("/api/v1/inbox?status=claimed").get_json()) == [complaint.escalation_id]
    assert ids(client.get("/api/v1/inbox?platform=slack").get_json()) == [complaint.escalation_id]
    assert ids(client.get("/api/v1/inbox?language=de").get_json()) == [complaint.escalation_id]
    assert ids(client.get("/api/v1/inbox?queue=support").get_json()) == [support.escalation_id]
    assert client.get("/api/v1/inbox?queue=urgent").status_code == 403
    assert client.get("/api/v1/inbox?scope=everyone").status_code == 422

    labelled = client.post(f"/api/v1/conversations/{support.conversation_id}/labels", json={"label": " Needs Refund "})
    assert labelled.status_code == 200 and labelled.get_json()["labels"] == ["needs-refund"]
    assert ids(client.get("/api/v1/inbox?label=needs-refund").get_json()) == [support.escalation_id]
    admin = api_client(make_user("admin"))
    assert urgent.escalation_id in ids(admin.get("/api/v1/inbox").get_json())


def test_search_and_labels_respect_the_agents_queues(
    store: Store, make_user: MakeUser, api_client: ClientFor, accounts: AccountStore
) -> None:
    mine = seed_escalation(store, queue="support", text="The zipper of my tent broke on day two")
    theirs = seed_escalation(store, queue="urgent", text="The tent zipper cut my hand")
    ann = api_client(make_user("agent", queues=["support"]))
    found = ann.get("/api/v1/search?q=tent zipper").get_json()
    assert [hit["escalation_id"] for hit in found["items"]] == [mine.escalation_id]
    assert found["items"][0]["text"].startswith("The zipper")
    assert ann.get("/api/v1/search?q=" + "x" * 201).status_code == 422

    other = f"/api/v1/conversations/{theirs.conversation_id}"
    assert ann.get(f"{other}/customer").status_code == 403
    assert ann.post(f"{other}/labels", json={"label": "vip"}).status_code == 403
    assert ann.get("/api/v1/conversations/999999/labels").status_code == 404
    own = f"/api/v1/conversations/{mine.conversation_id}/labels"
    assert ann.post(own, json={"label": "no/slashes"}).status_code == 400
    ann.post(own, json={"label": "vip"})
    ann.post(own, json={"label": "tent"})
    assert ann.delete(f"{own}/vip").get_json()["labels"] == ["tent"]
    assert ann.get(own).get_json()["labels"] == ["tent"]
    changes = [(e.action, e.details["label"]) for e in accounts.audit_entries(limit=10) if "label" in e.action]
    assert changes == [("remove_label", "vip"), ("add_label", "tent"), ("add_label", "vip")]


def test_the_customer_panel_shows_the_senders_other_conversations(
    store: Store, make_user: MakeUser, api_client: ClientFor, logged_in_client: ClientFor
) -> None:
    earlier = seed_escalation(
        store, queue="support", text="Where is order 1001?", received_at=datetime(2026, 1, 5, tzinfo=UTC)
    )
    now = seed_escalation(store, queue="support", text="And order 1002?")
    sender = store.conversation_by_id(earlier.conversation_id).sender_id
    # The same platform user id writing in a new chat: seed_escalation gives each a fresh id, so move it here.
    second = store.conversation("telegram", now.conversation_key)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE conversations SET sender_id = ? WHERE id = ?", (sender, second.id))
    ann = make_user("agent", queues=["support"])
    answer = api_client(ann).get(f"/api/v1/conversations/{now.conversation_id}/customer").get_json()
    assert answer["sender_id"] == sender
    (other,) = answer["other_conversations"]
    assert other["conversation_id"] == earlier.conversation_id
    assert other["escalation_id"] == earlier.escalation_id and other["preview"] == "Where is order 1001?"

    page = logged_in_client(ann)
    partial = page.get(f"/console/conversations/{now.conversation_id}/customer", headers={"HX-Request": "true"})
    html = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "Where is order 1001?" in html and "<html" not in html
    conversation_page = page.get(f"/console/escalations/{now.escalation_id}").get_data(as_text=True)
    assert f"/console/conversations/{now.conversation_id}/customer" in conversation_page
    posted = page.post(
        f"/console/conversations/{now.conversation_id}/labels",
        data={"label": "repeat-customer", "back": f"/console/escalations/{now.escalation_id}"},
    )
    assert posted.status_code == 303 and posted.headers["Location"].endswith(
        f"/console/escalations/{now.escalation_id}"
    )
    assert ConsoleStore(store.engine).labels(now.conversation_id) == ("repeat-customer",)
    removed = page.post(
        f"/console/conversations/{now.conversation_id}/labels/repeat-customer/remove", headers={"HX-Request": "true"}
    )
    assert removed.status_code == 200 and "No labels yet." in removed.get_data(as_text=True)


def test_the_inbox_page_filters_and_searches(store: Store, make_user: MakeUser, logged_in_client: ClientFor) -> None:
    seed_escalation(store, queue="support", text="My stove leaks gas", sender_name="Sven")
    seed_escalation(store, queue="complaints", text="Rude courier", sender_name="Carla", platform="slack")
    seed_escalation(store, queue="urgent", text="My stove is on fire", sender_name="Uma")
    client = logged_in_client(make_user("agent", queues=["support", "complaints"]))
    html = client.get("/console/inbox").get_data(as_text=True)
    assert "Sven" in html and "Carla" in html and "Uma" not in html
    assert 'data-nav="inbox"' in html and "waiting" in html
    only_slack = client.get("/console/inbox?platform=slack").get_data(as_text=True)
    assert "Carla" in only_slack and "Sven" not in only_slack
    searched = client.get("/console/inbox?q=stove").get_data(as_text=True)
    results = searched.split('data-testid="search-results"')[1].split("</section>")[0]
    assert "My stove leaks gas" in results and "on fire" not in results
    assert client.get("/console/inbox?scope=bogus&status=bogus").status_code == 200  # defaults, not an error


def test_signing_in_makes_an_agent_online_and_inactivity_makes_them_away(
    runtime: Runtime, make_user: MakeUser, logged_in_client: ClientFor, accounts: AccountStore
) -> None:
    store = runtime.store
    console = ConsoleStore(store.engine)
    away = timedelta(minutes=runtime.settings.console.away_after_minutes)
    gale = make_user("agent", queues=["support"], username="gale")
    assert accounts.user(gale.id).is_online is False  # type: ignore[union-attr]
    client: ConsoleClient = logged_in_client(gale)  # signs in through the form; never touches the toggle
    signed_in = accounts.user(gale.id)
    assert signed_in is not None and signed_in.is_online and signed_in.last_seen_at is not None
    assert any(e.action == "presence" and e.details.get("by") == "sign_in" for e in accounts.audit_entries(limit=10))

    first = seed_escalation(store)
    assert auto_assign(console, accounts, "least_busy", _Memory(), away_after=away) == 1
    assert store.escalation(first.escalation_id).assigned_agent_id == gale.id

    # Nothing from gale's console for longer than the setting: the beat skips gale.
    seed_escalation(store)
    later = datetime.now(UTC) + away + timedelta(minutes=1)
    assert auto_assign(console, accounts, "least_busy", _Memory(), away_after=away, now=later) == 0
    # Using the console again (any page) counts as being there.
    accounts.touch(gale.id, datetime.now(UTC) - away - timedelta(minutes=1))
    assert client.get("/console/inbox").status_code == 200
    seen = accounts.user(gale.id)
    assert seen is not None and seen.last_seen_at is not None
    assert datetime.now(UTC) - seen.last_seen_at < timedelta(minutes=1)
    assert auto_assign(console, accounts, "least_busy", _Memory(), away_after=away) == 1

    client.post("/console/logout")
    assert accounts.user(gale.id).is_online is False  # type: ignore[union-attr]


def test_presence_rules_online_away_offline_and_a_touch_a_minute() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    away = timedelta(minutes=15)
    assert presence(True, now - timedelta(minutes=14), now, away) == Presence.ONLINE
    assert presence(True, now - timedelta(minutes=16), now, away) == Presence.AWAY
    assert presence(True, None, now, away) == Presence.AWAY
    assert presence(False, now, now, away) == Presence.OFFLINE
    assert presence(True, None, now, None) == Presence.ONLINE
    assert needs_touch(None, now) and needs_touch(now - timedelta(minutes=1), now)
    assert not needs_touch(now - timedelta(seconds=59), now)


class _Memory:
    def load(self) -> dict[str, int]:
        return {}

    def save(self, last: object) -> None:
        return None
