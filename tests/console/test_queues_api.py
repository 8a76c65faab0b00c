"""The queues API and pages against the real app, a SQLite file and Redis: listing and ordering, access rules,
claims (and the race for one), replies (limits, reply windows, idempotency, ownership), notes, priority,
transfer, resolve, hand back, feedback, canned replies, stale state, and the audit trail."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from assistant.domain.messages import EscalationReason, HandoffState, Priority
from assistant.store import AccountStore, ConsoleStore, Store
from tests.adapters.platform_double import PlatformDouble
from tests.console.conftest import ClientFor
from tests.console.seeding import seed_escalation
from tests.console.support import MakeUser, Sent


def test_queue_list_counts_and_visibility(store: Store, make_user: MakeUser, api_client: ClientFor) -> None:
    seed_escalation(store, queue="support")
    seed_escalation(store, queue="support", sla_due_at=datetime.now(UTC) - timedelta(minutes=5))
    seed_escalation(store, queue="complaints")
    agent = make_user("agent", queues=["support"])
    admin = make_user("admin")
    listed = api_client(agent).get("/api/v1/queues").get_json()["queues"]
    assert [q["name"] for q in listed] == ["support"]
    assert listed[0]["open"] == 2 and listed[0]["breached"] == 1 and listed[0]["claimed"] == 0
    names = [q["name"] for q in api_client(admin).get("/api/v1/queues").get_json()["queues"]]
    assert names == ["urgent", "complaints", "moderation", "support"]


def test_escalations_are_ordered_by_priority_then_sla_due_and_paginated(
    store: Store, make_user: MakeUser, api_client: ClientFor
) -> None:
    now = datetime.now(UTC)
    late_normal = seed_escalation(store, priority=Priority.NORMAL, sla_due_at=now + timedelta(hours=3))
    soon_normal = seed_escalation(store, priority=Priority.NORMAL, sla_due_at=now + timedelta(hours=1))
    urgent = seed_escalation(store, priority=Priority.URGENT, sla_due_at=now + timedelta(hours=5))
    low = seed_escalation(store, priority=Priority.LOW, sla_due_at=now - timedelta(hours=1))
    client = api_client(make_user("agent", queues=["support"]))
    first = client.get("/api/v1/queues/support/escalations?per_page=3").get_json()
    assert [item["id"] for item in first["items"]] == [
        urgent.escalation_id,
        soon_normal.escalation_id,
        late_normal.escalation_id,
    ]
    assert first["total"] == 4 and first["pages"] == 2
    second = client.get("/api/v1/queues/support/escalations?per_page=3&page=2").get_json()
    assert [item["id"] for item in second["items"]] == [low.escalation_id]
    assert second["items"][0]["sla_breached"] is True
    assert client.get("/api/v1/queues/support/escalations?per_page=0").status_code == 422


def test_unknown_queue_404_other_queue_403_wrong_role_403_anonymous_401(
    console_app: Flask, store: Store, make_user: MakeUser, api_client: ClientFor
) -> None:
    seeded = seed_escalation(store, queue="complaints")
    agent = api_client(make_user("agent", queues=["support"]))
    missing = agent.get("/api/v1/queues/nowhere/escalations")
    assert missing.status_code == 404 and "unknown queue" in missing.get_json()["error"]
    assert agent.get("/api/v1/queues/complaints/escalations").status_code == 403
    assert agent.get(f"/api/v1/escalations/{seeded.escalation_id}").status_code == 403
    assert agent.post(f"/api/v1/escalations/{seeded.escalation_id}/claim", json={}).status_code == 403
    assert agent.get("/api/v1/escalations/999999").status_code == 404
    editor = api_client(make_user("editor", queues=["complaints"]))
    assert editor.get("/api/v1/queues").status_code == 403
    assert editor.post(f"/api/v1/escalations/{seeded.escalation_id}/reply", json={"text": "hi"}).status_code == 403
    assert console_app.test_client().get("/api/v1/queues").status_code == 401
    page = console_app.test_client().get("/console/queues/complaints")
    assert page.status_code == 302 and "/console/login" in page.headers["Location"]


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def claim_race(clients: list[Any], escalation_id: int) -> list[tuple[int, Any]]:
    def claim(client: Any) -> Callable[[], tuple[int, Any]]:
        def call() -> tuple[int, Any]:
            response = client.post(f"/api/v1/escalations/{escalation_id}/claim", json={"version": 1})
            return response.status_code, response.get_json()

        return call

    return race([claim(client) for client in clients])


def test_two_agents_claiming_at_once_one_wins_the_other_is_told_who(
    store: Store, make_user: MakeUser, api_client: ClientFor
) -> None:
    for _ in range(5):  # several rounds: a lucky interleaving must not hide a race
        seeded = seed_escalation(store)
        clients = [api_client(make_user("agent", queues=["support"])) for _ in range(2)]
        results = claim_race(clients, seeded.escalation_id)
        assert sorted(status for status, _ in results) == [200, 409], results
        winner = next(body for status, body in results if status == 200)
        loser = next(body for status, body in results if status == 409)
        assert loser["holder"] == winner["holder"] and loser["current"]["status"] == "claimed"
        assert loser["kind"] in ("held", "stale")
        assert store.escalation(seeded.escalation_id).status == "claimed"


def test_claiming_what_someone_holds_is_409_with_the_holder_and_claiming_again_is_fine(
    store: Store, make_user: MakeUser, api_client: ClientFor
) -> None:
    seeded = seed_escalation(store)
    anna = api_client(make_user("agent", queues=["support"], username="anna"))
    bob = api_client(make_user("agent", queues=["support"], username="bob"))
    assert anna.post(f"/api/v1/escalations/{seeded.escalation_id}/claim", json={}).status_code == 200
    assert anna.post(f"/api/v1/escalations/{seeded.escalation_id}/claim").status_code == 200  # no body: fine too
    refused = bob.post(f"/api/v1/escalations/{seeded.escalation_id}/claim", json={})
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["kind"] == "held" and body["holder"] == "anna" and "held by anna" in body["error"]


def test_stale_version_is_409_with_the_current_state_and_changes_nothing(
    store: Store, make_user: MakeUser, api_client: ClientFor
) -> None:
    seeded = seed_escalation(store)
    client = api_client(make_user("agent", queues=["support"]))
    moved = client.post(f"/api/v1/escalations/{seeded.escalation_id}/priority", json={"priority": "high", "version": 1})
    assert moved.status_code == 200 and moved.get_json()["version"] == 2
    stale = client.post(f"/api/v1/escalations/{seeded.escalation_id}/priority", json={"priority": "low", "version": 1})
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["kind"] == "stale" and body["current"]["version"] == 2 and body["current"]["priority"] == "high"
    stale_resolve = client.post(f"/api/v1/escalations/{seeded.escalation_id}/resolve", json={"version": 1})
    assert stale_resolve.status_code == 409
    assert store.escalation(seeded.escalation_id).priority == Priority.HIGH
    assert store.escalation(seeded.escalation_id).status == "open"


def test_empty_and_oversized_replies_are_400_with_a_clear_message(
    console_app: Flask, store: Store, make_user: MakeUser, api_client: ClientFor, sent: Sent
) -> None:
    seeded = seed_escalation(store)
    client = api_client(make_user("agent", queues=["support"]))
    url = f"/api/v1/escalations/{seeded.escalation_id}/reply"
    empty = client.post(url, json={"text": "   \n "})
    assert empty.status_code == 400 and "empty" in empty.get_json()["error"]
    limit = console_app.extensions["console.queues.runtime"].settings.console.max_reply_chars
    huge = client.post(url, json={"text": "x" * (limit + 1)})
    assert huge.status_code == 400 and f"limit is {limit}" in huge.get_json()["error"]
    assert client.post(url, json={}).status_code == 422
    assert client.post(url, data="not json", headers={"Content-Type": "text/plain"}).status_code == 400
    assert not sent and store.outbound_by_key(f"agent:{seeded.escalation_id}:x") is None
    assert store.conversation_state(seeded.conversation_id).handoff == HandoffState.BOT


def test_a_reply_claims_owns_the_conversation_is_queued_once_per_key_and_keeps_gap_candidates(
    store: Store, console: ConsoleStore, make_user: MakeUser, api_client: ClientFor, sent: Sent
) -> None:
    seeded = seed_escalation(store, reason=EscalationReason.OUT_OF_SCOPE, text="Do you rent kayaks?")
    agent = make_user("agent", queues=["support"], username="carla")
    client = api_client(agent)
    url = f"/api/v1/escalations/{seeded.escalation_id}/reply"
    first = client.post(url, json={"text": "Yes, from May to September.", "idempotency_key": "click-1"})
    assert first.status_code == 202, first.get_json()
    body = first.get_json()
    assert body["created"] is True and body["mode"] == "reply" and body["escalation"]["holder"] == "carla"
    again = client.post(url, json={"text": "Yes, from May to September.", "idempotency_key": "click-1"})
    assert again.status_code == 200 and again.get_json()["outbound_id"] == body["outbound_id"]
    assert again.get_json()["created"] is False
    assert [call[0] for call in sent] == [body["outbound_id"]]  # the duplicate found the row already sent
    assert sent[0][1] == {"chat_id": seeded.conversation_key}
    assert store.conversation_state(seeded.conversation_id).handoff == HandoffState.HUMAN
    escalation = store.escalation(seeded.escalation_id)
    assert escalation.status == "claimed" and escalation.assigned_agent_id == agent.id
    (candidate,) = console.gap_candidates()
    assert candidate.question == "Do you rent kayaks?" and candidate.reply == "Yes, from May to September."
    detail = client.get(f"/api/v1/escalations/{seeded.escalation_id}").get_json()
    (pending,) = detail["pending_replies"]
    assert pending["text"] == "Yes, from May to September." and pending["agent"] == "carla"


def test_someone_elses_escalation_cannot_be_answered(
    store: Store, make_user: MakeUser, api_client: ClientFor, sent: Sent
) -> None:
    seeded = seed_escalation(store)
    api_client(make_user("agent", queues=["support"], username="dina")).post(
        f"/api/v1/escalations/{seeded.escalation_id}/claim", json={}
    )
    refused = api_client(make_user("agent", queues=["support"])).post(
        f"/api/v1/escalations/{seeded.escalation_id}/reply", json={"text": "hello"}
    )
    assert refused.status_code == 409 and refused.get_json()["holder"] == "dina"
    assert not sent


def test_meta_reply_outside_24_hours_offers_the_human_agent_tag_and_refuses_after_7_days(
    store: Store, make_user: MakeUser, api_client: ClientFor, sent: Sent
) -> None:
    now = datetime.now(UTC)
    target = {"recipient_id": "psid-1", "account_id": "page-1"}
    late = seed_escalation(store, platform="messenger", received_at=now - timedelta(hours=30), reply_target=target)
    client = api_client(make_user("agent", queues=["support"]))
    url = f"/api/v1/escalations/{late.escalation_id}/reply"
    refused = client.post(url, json={"text": "Sorry for the wait!"})
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["kind"] == "reply_window" and "24 hours" in body["error"] and "HUMAN_AGENT" in body["error"]
    assert body["alternative"]["human_agent_tag"] is True
    assert datetime.fromisoformat(body["alternative"]["until"]) > now
    assert not sent
    tagged = client.post(url, json={"text": "Sorry for the wait!", "human_agent_tag": True})
    assert tagged.status_code == 202 and tagged.get_json()["mode"] == "human_agent"
    assert len(sent) == 1

    old = seed_escalation(store, platform="messenger", received_at=now - timedelta(days=8), reply_target=target)
    closed = client.post(
        f"/api/v1/escalations/{old.escalation_id}/reply", json={"text": "Hello?", "human_agent_tag": True}
    )
    assert closed.status_code == 409 and "7-day" in closed.get_json()["error"]
    assert "alternative" not in closed.get_json()
    whatsapp = seed_escalation(
        store, platform="whatsapp", received_at=now - timedelta(hours=26), reply_target={"to": "4861"}
    )
    template = client.post(f"/api/v1/escalations/{whatsapp.escalation_id}/reply", json={"text": "Hello?"})
    assert template.status_code == 409 and "template" in template.get_json()["error"]
    assert len(sent) == 1


def test_note_priority_transfer_resolve_and_hand_back(
    store: Store, make_user: MakeUser, api_client: ClientFor, accounts: AccountStore
) -> None:
    seeded = seed_escalation(store, sla_due_at=datetime.now(UTC) + timedelta(days=2))
    agent = make_user("agent", queues=["support", "complaints"])
    client = api_client(agent)
    base = f"/api/v1/escalations/{seeded.escalation_id}"
    note = client.post(f"{base}/notes", json={"text": "Customer called twice already."})
    assert note.status_code == 201 and note.get_json()["author"] == agent.username
    assert client.post(f"{base}/notes", json={"text": " "}).status_code == 400
    urgent = client.post(f"{base}/priority", json={"priority": "urgent"}).get_json()
    assert urgent["priority"] == "urgent"
    assert datetime.fromisoformat(urgent["sla_due_at"]) < datetime.now(UTC) + timedelta(days=2)  # pulled earlier
    assert client.post(f"{base}/priority", json={"priority": "whenever"}).status_code == 422
    assert client.post(f"{base}/transfer", json={"queue": "nowhere"}).status_code == 404
    assert client.post(f"{base}/claim", json={}).status_code == 200
    moved = client.post(f"{base}/transfer", json={"queue": "complaints"}).get_json()
    assert moved["queue"] == "complaints" and moved["status"] == "open" and moved["holder"] is None
    unanswered = client.post(f"{base}/resolve", json={"version": moved["version"]})
    assert unanswered.status_code == 409 and unanswered.get_json()["kind"] == "unanswered"  # nobody replied
    assert store.escalation(seeded.escalation_id).status == "open"
    resolved = client.post(f"{base}/resolve", json={"version": moved["version"], "confirm_unanswered": True})
    assert resolved.status_code == 200 and resolved.get_json()["status"] == "resolved"
    assert store.conversation_state(seeded.conversation_id).handoff == HandoffState.CLOSED
    assert client.post(f"{base}/resolve", json={}).get_json()["kind"] == "resolved"

    other = seed_escalation(store)
    handed = client.post(f"/api/v1/escalations/{other.escalation_id}/hand-back", json={})
    assert handed.status_code == 200 and handed.get_json()["status"] == "resolved"
    state = store.conversation_state(other.conversation_id)
    assert state.handoff == HandoffState.BOT and not state.holding_reply_sent
    actions = [entry.action for entry in accounts.audit_entries(limit=50) if entry.user_id == agent.id]
    for action in ("note", "set_priority", "claim", "transfer", "resolve", "hand_back"):
        assert action in actions, actions


def test_feedback_on_the_suggestion_is_kept(
    store: Store, console: ConsoleStore, make_user: MakeUser, api_client: ClientFor
) -> None:
    seeded = seed_escalation(store)
    client = api_client(make_user("agent", queues=["support"]))
    url = f"/api/v1/escalations/{seeded.escalation_id}/feedback"
    assert client.post(url, json={"verdict": "wrong", "entry_id": "delivery_time"}).status_code == 201
    assert client.post(url, json={"verdict": "missing"}).status_code == 201
    assert client.post(url, json={"verdict": "meh"}).status_code == 422
    assert console.feedback_counts(datetime.now(UTC) - timedelta(minutes=5)) == {"wrong": 1, "missing": 1}
    detail = client.get(f"/api/v1/escalations/{seeded.escalation_id}").get_json()
    assert [f["verdict"] for f in detail["feedback"]] == ["wrong", "missing"]


def test_canned_replies_by_shortcode_in_the_senders_language(
    store: Store, make_user: MakeUser, api_client: ClientFor, logged_in_client: Callable[..., Any]
) -> None:
    editor = api_client(make_user("editor"))
    for language, text in (("en", "Thanks for waiting!"), ("fr", "Merci de votre patience !")):
        saved = editor.post("/api/v1/canned-replies", json={"shortcode": "thanks", "language": language, "text": text})
        assert saved.status_code == 201
    bad = editor.post("/api/v1/canned-replies", json={"shortcode": "Bad Code", "language": "en", "text": "x"})
    assert bad.status_code == 422
    assert (
        editor.post(
            "/api/v1/canned-replies", json={"shortcode": "x", "language": "en", "text": "x", "queue": "nowhere"}
        ).status_code
        == 404
    )
    agent = make_user("agent", queues=["support"])
    assert (
        api_client(agent)
        .post("/api/v1/canned-replies", json={"shortcode": "y", "language": "en", "text": "y"})
        .status_code
        == 403
    )
    listed = api_client(agent).get("/api/v1/canned-replies?language=fr").get_json()["items"]
    assert [(item["shortcode"], item["text"]) for item in listed] == [("thanks", "Merci de votre patience !")]
    french = seed_escalation(store, language="fr", text="Où est ma commande ?")
    store.update_conversation(french.conversation_id, language="fr")
    page = logged_in_client(agent).get(f"/console/escalations/{french.escalation_id}").get_data(as_text=True)
    assert "Merci de votre patience !" in page and "Thanks for waiting!" not in page


def test_changes_poll_is_204_until_something_changes(
    store: Store, make_user: MakeUser, api_client: ClientFor, logged_in_client: Callable[..., Any]
) -> None:
    agent = make_user("agent", queues=["support"])
    client = api_client(agent)
    token = client.get("/api/v1/changes").get_json()["token"]
    assert client.get(f"/api/v1/changes?token={token}").status_code == 204
    seed_escalation(store)
    changed = client.get(f"/api/v1/changes?token={token}")
    assert changed.status_code == 200 and changed.get_json()["token"] != token
    page = logged_in_client(agent)
    html = page.get("/console/queues/support").get_data(as_text=True)
    assert "My order never arrived" in html and 'hx-trigger="every 1000ms"' in html
    new_token = page.get("/api/v1/changes").get_json()["token"]
    assert page.get(f"/console/queues/support/poll?token={new_token}").status_code == 204
    seed_escalation(store, text="Second customer here")
    refreshed = page.get(f"/console/queues/support/poll?token={new_token}")
    assert refreshed.status_code == 200 and "Second customer here" in refreshed.get_data(as_text=True)
    # The header's queue link counts the active escalations on every full page.
    assert '<span class="count" data-queue-count="support">2</span>' in page.get("/console/queues").get_data(
        as_text=True
    )


def test_pages_act_through_forms_with_csrf_and_show_stale_state(
    console_app: Flask, store: Store, make_user: MakeUser, logged_in_client: Callable[..., Any], sent: Sent
) -> None:
    seeded = seed_escalation(store)
    agent = make_user("agent", queues=["support"])
    page = logged_in_client(agent)
    base = f"/console/escalations/{seeded.escalation_id}"
    html = page.get(base).get_data(as_text=True)
    for shortcut in ('data-shortcut="c"', 'data-shortcut="r"', 'data-shortcut="x"', 'data-shortcut="b"'):
        assert shortcut in html
    page.auto_csrf = False
    assert page.post(f"{base}/claim", data={"version": "1"}).status_code == 400  # no CSRF token
    page.auto_csrf = True
    claimed = page.post(f"{base}/claim", data={"version": "1"}, headers={"HX-Request": "true"})
    assert claimed.status_code == 200 and "Claimed" in claimed.get_data(as_text=True)
    stale = page.post(f"{base}/priority", data={"version": "1", "priority": "high"}, headers={"HX-Request": "true"})
    assert stale.status_code == 409 and "changed since you loaded it" in stale.get_data(as_text=True)
    replied = page.post(
        f"{base}/reply", data={"text": "On its way!", "idempotency_key": "form-1"}, headers={"HX-Request": "true"}
    )
    assert replied.status_code == 200 and "On its way!" in replied.get_data(as_text=True)
    assert len(sent) == 1
    resolved = page.post(f"{base}/resolve", data={"version": "99"}, headers={"HX-Request": "true"})
    assert resolved.status_code == 409
    current = store.escalation(seeded.escalation_id).version
    done = page.post(f"{base}/resolve", data={"version": str(current)}, headers={"HX-Request": "true"})
    assert done.status_code == 204 and done.headers["HX-Redirect"] == "/console/queues"


def test_every_api_route_is_in_the_openapi_document(make_user: MakeUser, api_client: ClientFor) -> None:
    document = api_client(make_user("admin")).get("/api/openapi.json").get_json()
    reply = document["paths"]["/api/v1/escalations/{escalation_id}/reply"]["post"]
    assert reply["x-roles"] == ["admin", "agent"] and "409" in reply["responses"]
    assert "ReplyIn" in document["components"]["schemas"]
    assert "/api/v1/queues/{queue}/escalations" in document["paths"]


def test_the_claim_race_on_postgresql_has_one_winner() -> None:
    """The same race against PostgreSQL (row locks instead of SQLite's single writer), in a schema of its own."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from assistant.store import ClaimConflictError
    from assistant.store.db import migrate
    from tests.store.conftest import POSTGRES_ENABLED, POSTGRES_URL

    if not POSTGRES_ENABLED:
        pytest.skip("CA_TEST_POSTGRES=0: the PostgreSQL claim race is not run")
    base = make_url(POSTGRES_URL)
    schema = f"ca_console_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    store = None
    try:
        migrate(url)
        store = Store.from_url(url, pool_size=8)
        accounts = AccountStore(store.engine)
        console = ConsoleStore(store.engine)
        for round_number in range(5):
            seeded = seed_escalation(store)
            agents = [
                accounts.create_user(
                    f"pg{round_number}x{i}", "correct-horse-battery-staple", "agent", queues=("support",)
                )
                for i in range(4)
            ]

            def claim(agent_id: int, name: str, escalation_id: int = seeded.escalation_id) -> Callable[[], str]:
                def call() -> str:
                    try:
                        console.claim(escalation_id, agent_id, name, expected_version=1)
                    except ClaimConflictError as error:
                        return f"refused:{error.holder}"
                    return "won"

                return call

            outcomes = race([claim(agent.id, agent.username) for agent in agents])
            assert outcomes.count("won") == 1, outcomes
            holder = store.escalation(seeded.escalation_id).assigned_agent_id
            winner = next(agent.username for agent in agents if agent.id == holder)
            assert sorted(outcomes) == sorted(["won"] + [f"refused:{winner}"] * 3)
    finally:
        if store is not None:
            store.close()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def test_a_tagged_reply_is_delivered_as_a_human_agent_message_after_24_hours(
    console_settings: Any, make_user: MakeUser
) -> None:
    """The worker's side: an agent's HUMAN_AGENT reply at 30 hours goes out with Meta's tag (the bot's own reply
    at that age would be refused), and one past 7 days is refused and stays visible as failed."""
    from assistant.services.delivery import deliver_reply
    from webhooks.runtime import Runtime

    with PlatformDouble() as graph:
        platforms = dict(console_settings.platforms)
        platforms["messenger"] = platforms["messenger"].model_copy(
            update={"enabled": True, "api_base_url": graph.url, "access_token": "page-token", "app_secret": "s"}
        )
        runtime = Runtime(console_settings.model_copy(update={"platforms": platforms}))
        outbox = runtime.outbox(clock=lambda: now)
        store: Store = runtime.store
        console = ConsoleStore(store.engine)
        agent = make_user("agent", queues=["support"])
        now = datetime.now(UTC)
        target = {"recipient_id": "psid-9", "account_id": "page-1"}
        late = seed_escalation(store, platform="messenger", received_at=now - timedelta(hours=30), reply_target=target)
        tagged = console.reserve_reply(late.escalation_id, agent.id, agent.username, "k-tag", "Sorry!", "human_agent")
        assert deliver_reply(outbox, tagged.outbound.id, target).outcome == "sent"
        sent = graph.last.json()
        assert sent["messaging_type"] == "MESSAGE_TAG" and sent["tag"] == "HUMAN_AGENT"
        assert sent["recipient"] == {"id": "psid-9"} and sent["message"] == {"text": "Sorry!"}
        history = store.history(late.conversation_id)
        assert history[-1].author == "agent" and history[-1].agent_id == agent.id

        old = seed_escalation(store, platform="messenger", received_at=now - timedelta(days=8), reply_target=target)
        stale = console.reserve_reply(old.escalation_id, agent.id, agent.username, "k-old", "Hello?", "human_agent")
        requests_before = len(graph.requests)
        assert deliver_reply(outbox, stale.outbound.id, target).outcome == "failed"
        assert len(graph.requests) == requests_before
        (failed,) = console.detail(old.escalation_id).undelivered
        assert failed.status == "dead" and "7-day" in (failed.last_error or "")
        # A person's failed reply does not open a second escalation or take the conversation from them.
        assert store.conversation_state(old.conversation_id).handoff == HandoffState.HUMAN
        assert store.escalation(old.escalation_id).reason == "human_requested"
