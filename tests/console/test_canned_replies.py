"""Canned replies and the agent's send/resolve actions against the real app, a SQLite file and Redis: the page
where editors and admins manage them (agents read them only), the KB answers' placeholder check at save,
placeholders filled with the customer's values at send, reply and resolve as one action, the question before
resolving what nobody answered, and the bot's note in words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.domain.messages import EscalationReason, HandoffState
from assistant.store import ConsoleStore, Store
from tests.console.conftest import ClientFor
from tests.console.seeding import seed_escalation
from tests.console.support import MakeUser, Sent

HX = {"HX-Request": "true"}


def test_an_unknown_placeholder_is_refused_at_save_with_the_kb_answers_rule(
    make_user: MakeUser, api_client: ClientFor, console: ConsoleStore
) -> None:
    editor = api_client(make_user("editor"))
    typo = editor.post("/api/v1/canned-replies", json={"shortcode": "hi", "language": "en", "text": "Hi {frist_name}"})
    assert typo.status_code == 422
    assert "unknown placeholder(s) {frist_name}" in typo.get_json()["error"]
    assert "first_name" in typo.get_json()["error"]  # says what is allowed
    broken = editor.post("/api/v1/canned-replies", json={"shortcode": "hi", "language": "en", "text": "Hi {first"})
    assert broken.status_code == 422 and "malformed placeholder braces" in broken.get_json()["error"]
    assert console.canned_replies() == []
    saved = editor.post(
        "/api/v1/canned-replies", json={"shortcode": "hi", "language": "en", "text": "Hi {first_name}, {brand} here."}
    )
    assert saved.status_code == 201
    reply_id = saved.get_json()["id"]
    changed = editor.put(
        f"/api/v1/canned-replies/{reply_id}", json={"shortcode": "hi", "language": "en", "text": "See {wiki_url}"}
    )
    assert changed.status_code == 422 and "{wiki_url}" in changed.get_json()["error"]
    moved = editor.put(
        f"/api/v1/canned-replies/{reply_id}", json={"shortcode": "hello", "language": "en", "text": "Hello!"}
    )
    assert moved.status_code == 200 and moved.get_json()["shortcode"] == "hello"
    assert [(r.shortcode, r.text) for r in console.canned_replies()] == [("hello", "Hello!")]
    other = editor.post("/api/v1/canned-replies", json={"shortcode": "bye", "language": "en", "text": "Bye!"})
    onto = editor.put(
        f"/api/v1/canned-replies/{other.get_json()['id']}", json={"shortcode": "hello", "language": "en", "text": "x"}
    )
    assert onto.status_code == 409 and "already a canned reply /hello" in onto.get_json()["error"]
    assert editor.delete(f"/api/v1/canned-replies/{reply_id}").status_code == 204
    assert editor.put(f"/api/v1/canned-replies/{reply_id}", json=moved.get_json()).status_code == 404


def test_editors_and_admins_manage_canned_replies_on_the_page_agents_only_read_them(
    make_user: MakeUser, logged_in_client: Callable[..., Any], console: ConsoleStore
) -> None:
    for role in ("editor", "admin"):
        page = logged_in_client(make_user(role))
        listing = page.get("/console/canned-replies").get_data(as_text=True)
        assert 'data-testid="canned-form"' in listing
        created = page.post(
            "/console/canned-replies",
            data={"shortcode": f"sorry-{role}", "language": "fr", "queue": "support", "text": "Désolé {first_name} !"},
        )
        assert created.status_code == 303
        (reply,) = [r for r in console.canned_replies() if r.shortcode == f"sorry-{role}"]
        assert (reply.language, reply.queue) == ("fr", "support")
        edit = page.get(f"/console/canned-replies/{reply.id}").get_data(as_text=True)
        assert "Désolé {first_name} !" in edit and "Edit canned reply" in edit
        updated = page.post(
            f"/console/canned-replies/{reply.id}",
            data={"shortcode": f"sorry-{role}", "language": "fr", "queue": "", "text": "Pardon {first_name} !"},
        )
        assert updated.status_code == 303
        after = console.canned_reply(reply.id)
        assert after is not None and after.text == "Pardon {first_name} !" and after.queue is None
        refused = page.post(
            "/console/canned-replies", data={"shortcode": "typo", "language": "en", "text": "Hi {frist_name}"}
        )
        assert refused.status_code == 422
        body = refused.get_data(as_text=True)
        assert 'data-testid="canned-error"' in body and "unknown placeholder(s) {frist_name}" in body
        assert "Hi {frist_name}" in body  # the text is kept in the form, not lost
        assert page.post(f"/console/canned-replies/{reply.id}/delete").status_code == 303
        assert console.canned_reply(reply.id) is None

    console.save_canned_reply("thanks", "en", "Thanks for waiting!")
    console.save_canned_reply("thanks", "fr", "Merci de votre patience !", "complaints")
    agent = logged_in_client(make_user("agent", queues=["support"]))
    listing = agent.get("/console/canned-replies").get_data(as_text=True)
    assert "Thanks for waiting!" in listing and "Merci de votre patience !" in listing
    french = agent.get("/console/canned-replies?language=fr").get_data(as_text=True)
    assert "Merci de votre patience !" in french and "Thanks for waiting!" not in french
    support = agent.get("/console/canned-replies?queue=support").get_data(as_text=True)
    assert "Thanks for waiting!" in support and "Merci de votre patience !" not in support
    assert 'data-testid="canned-form"' not in listing and 'data-testid="canned-edit"' not in listing
    reply_id = console.canned_replies(language="en")[0].id
    attempt = {"shortcode": "x", "language": "en", "text": "x"}
    assert agent.post("/console/canned-replies", data=attempt).status_code == 403
    assert agent.post(f"/console/canned-replies/{reply_id}/delete").status_code == 403
    assert agent.get(f"/console/canned-replies/{reply_id}").status_code == 403
    assert reply_id in [r.id for r in console.canned_replies()] and len(console.canned_replies()) == 2


def test_placeholders_are_filled_with_the_customers_values_at_send(
    store: Store, make_user: MakeUser, api_client: ClientFor, logged_in_client: Callable[..., Any], sent: Sent
) -> None:
    named = seed_escalation(store, sender_name="Anna Smith")
    agent = make_user("agent", queues=["support"])
    client = api_client(agent)
    answer = client.post(
        f"/api/v1/escalations/{named.escalation_id}/reply",
        json={"text": "Hi {first_name}, I am sorry. {brand} will refund you.", "idempotency_key": "k1"},
    )
    assert answer.status_code == 202
    outbound = store.outbound(answer.get_json()["outbound_id"])
    assert outbound.text == "Hi Anna, I am sorry. Northpine will refund you."
    assert [call[0] for call in sent] == [outbound.id]

    anonymous = seed_escalation(store, sender_name=None)
    page = logged_in_client(agent)
    replied = page.post(
        f"/console/escalations/{anonymous.escalation_id}/reply",
        data={"text": "Hi {first_name}, I am sorry for the wait.", "idempotency_key": "k2"},
        headers=HX,
    )
    assert replied.status_code == 200
    assert "Hi, I am sorry for the wait." in replied.get_data(as_text=True)
    assert "{first_name}" not in replied.get_data(as_text=True).split('id="thread"')[-1]

    typo = client.post(f"/api/v1/escalations/{named.escalation_id}/reply", json={"text": "Hi {frist_name}"})
    assert typo.status_code == 422 and "{frist_name}" in typo.get_json()["error"]
    assert len(sent) == 2


def test_the_conversation_page_shows_canned_replies_as_the_customer_will_read_them(
    store: Store, console: ConsoleStore, make_user: MakeUser, logged_in_client: Callable[..., Any]
) -> None:
    console.save_canned_reply("sorry", "en", "Hi {first_name}, sorry for the trouble.")
    seeded = seed_escalation(store, sender_name="Anna Smith")
    html = logged_in_client(make_user("agent", queues=["support"])).get(f"/console/escalations/{seeded.escalation_id}")
    text = html.get_data(as_text=True)
    assert 'data-canned-preview="sorry"' in text and "Hi Anna, sorry for the trouble." in text
    assert '"sorry": "Hi {first_name}, sorry for the trouble."' in text  # the box gets the template, filled at send


def test_reply_and_resolve_is_one_action(
    store: Store, make_user: MakeUser, api_client: ClientFor, logged_in_client: Callable[..., Any], sent: Sent
) -> None:
    seeded = seed_escalation(store)
    agent = make_user("agent", queues=["support"], username="rita")
    client = api_client(agent)
    url = f"/api/v1/escalations/{seeded.escalation_id}/reply"
    done = client.post(url, json={"text": "It ships today.", "idempotency_key": "rr-1", "resolve": True})
    assert done.status_code == 202
    assert done.get_json()["escalation"]["status"] == "resolved"
    assert store.escalation(seeded.escalation_id).status == "resolved"
    assert store.conversation_state(seeded.conversation_id).handoff == HandoffState.CLOSED
    assert len(sent) == 1 and store.outbound(sent[0][0]).text == "It ships today."
    again = client.post(url, json={"text": "It ships today.", "idempotency_key": "rr-1", "resolve": True})
    assert again.status_code == 200 and again.get_json()["created"] is False and len(sent) == 1

    other = seed_escalation(store)
    page = logged_in_client(agent)
    form = page.post(
        f"/console/escalations/{other.escalation_id}/reply",
        data={"text": "Done, it is on its way.", "idempotency_key": "rr-2", "and_resolve": "1"},
        headers=HX,
    )
    assert form.status_code == 204 and form.headers["HX-Redirect"] == "/console/queues"
    assert store.escalation(other.escalation_id).status == "resolved" and len(sent) == 2


def test_resolving_what_nobody_answered_asks_first(
    store: Store, make_user: MakeUser, api_client: ClientFor, logged_in_client: Callable[..., Any], sent: Sent
) -> None:
    seeded = seed_escalation(store, sender_name="Anna")
    agent = make_user("agent", queues=["support"])
    client = api_client(agent)
    base = f"/api/v1/escalations/{seeded.escalation_id}"
    refused = client.post(f"{base}/resolve", json={})
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["kind"] == "unanswered" and "nobody has replied" in body["error"]
    assert "confirm_unanswered" in body["error"] and body["current"]["status"] == "open"
    assert client.post(f"{base}/resolve").status_code == 409  # no body: the same question
    assert store.escalation(seeded.escalation_id).status == "open"

    page = logged_in_client(agent)
    pages = f"/console/escalations/{seeded.escalation_id}"
    conversation = page.get(pages).get_data(as_text=True)
    assert f'hx-get="{pages}/resolve"' in conversation  # the resolve button asks the server first
    step = page.get(f"{pages}/resolve").get_data(as_text=True)  # without htmx: a page of its own
    assert "Nobody has replied to Anna yet." in step and 'name="confirm_unanswered" value="1"' in step
    assert "Resolve without a reply" in step and "Cancel, reply first" in step
    fragment = page.get(f"{pages}/resolve", headers=HX).get_data(as_text=True)
    assert 'data-testid="resolve-confirm"' in fragment and "<html" not in fragment
    raced = page.post(f"{pages}/resolve", data={"version": "1"}, headers=HX)  # a plain post: the same step
    assert raced.status_code == 409 and 'data-testid="resolve-confirm"' in raced.get_data(as_text=True)
    confirmed = page.post(f"{pages}/resolve", data={"version": "1", "confirm_unanswered": "1"}, headers=HX)
    assert confirmed.status_code == 204 and store.escalation(seeded.escalation_id).status == "resolved"

    answered = seed_escalation(store)
    replied = client.post(f"/api/v1/escalations/{answered.escalation_id}/reply", json={"text": "Sorted."})
    assert replied.status_code == 202
    detail = client.get(f"/api/v1/escalations/{answered.escalation_id}").get_json()
    assert detail["human_replied"] is True
    html = page.get(f"/console/escalations/{answered.escalation_id}").get_data(as_text=True)
    assert f'hx-post="/console/escalations/{answered.escalation_id}/resolve"' in html
    assert client.post(f"/api/v1/escalations/{answered.escalation_id}/resolve", json={}).status_code == 200


def test_agents_read_the_bots_note_in_words_with_the_closest_entry(
    store: Store, make_user: MakeUser, api_client: ClientFor, logged_in_client: Callable[..., Any]
) -> None:
    unsure = seed_escalation(store, reason=EscalationReason.LOW_CONFIDENCE, entry_id="delivery_time")
    asked = seed_escalation(store, reason=EscalationReason.HUMAN_REQUESTED, entry_id=None)
    agent = make_user("agent", queues=["support"])
    client = api_client(agent)
    detail = client.get(f"/api/v1/escalations/{unsure.escalation_id}").get_json()
    assert detail["escalation"]["reason_text"] == "The bot was not sure enough of an answer."
    assert detail["decision"]["summary"] == "Handed to a person. The bot was not sure enough of an answer."
    assert detail["decision"]["closest_entry"] == "closest entry: delivery_time (not sure enough to answer)"
    other = client.get(f"/api/v1/escalations/{asked.escalation_id}").get_json()
    assert other["decision"]["summary"] == "Handed to a person. The customer asked to talk to a person."
    assert other["decision"]["closest_entry"] is None

    page = logged_in_client(agent)
    html = page.get(f"/console/escalations/{unsure.escalation_id}").get_data(as_text=True)
    assert "Closest entry: delivery_time (not sure enough to answer)." in html
    summaries = html.split("<summary>")[1:]
    note = [s.split("</summary>")[0] for s in summaries if s.startswith("Bot:")]
    assert note and all("confidence" not in s and "low_confidence" not in s for s in note)
    assert "escalate · low_confidence · confidence 0.42" in html  # the raw reading is one click away
    assert "The customer asked to talk to a person." in page.get(
        f"/console/escalations/{asked.escalation_id}"
    ).get_data(as_text=True)
