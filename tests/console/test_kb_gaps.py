"""The content-gap report in the console: the API (editors and admins, in the OpenAPI document), the page, and
"create draft from cluster" writing a draft entry through the editor's KbStore, audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from redis import Redis

from assistant.domain.messages import EscalationReason
from assistant.settings import Settings
from assistant.store import AccountStore, ConsoleStore, KbStore, Store
from assistant.store.db import migrate
from assistant.store.tables import GapCandidate
from tests.console.conftest import ClientFor, console_test_settings
from tests.console.seeding import seed_escalation
from tests.console.support import ConsoleClient, MakeUser

REFUND = [
    ("Can I get my money back for a broken gift card?", "en"),
    ("How do I get a refund on a gift card?", "en"),
    ("gift card refund please", "en"),
    ("Czy mogę zwrócić kartę podarunkową i odzyskać pieniądze?", "pl"),
]
PARKING = [
    ("Is there parking at your store in Berlin?", "en"),
    ("where can I park my car near the shop", "en"),
]
AGENT_REPLY = "Gift cards can be refunded within 14 days of purchase."


@pytest.fixture()
def console_settings(tmp_path: Path, console_redis: Redis, trained_data_dir: Path) -> Settings:
    # The report reads the served engine (the KB's entries, the embedding model): use the trained sample KB.
    settings = console_test_settings(tmp_path, live_index={"gap_distance": 0.6})
    return settings.model_copy(update={"data_dir": trained_data_dir})


@pytest.fixture()
def seeded(console_app: Flask, console_settings: Settings) -> Store:
    migrate(console_settings.service.database_url)
    store = Store.from_url(console_settings.service.database_url)
    seeds = [
        seed_escalation(store, text=text, language=lang, reason=EscalationReason.OUT_OF_SCOPE, entry_id=None)
        for text, lang in REFUND
    ]
    first = seeds[0]  # a person answered the first one
    with store._write() as session:
        session.add(
            GapCandidate(
                escalation_id=first.escalation_id,
                conversation_id=first.conversation_id,
                question=REFUND[0][0],
                language="en",
                reply=AGENT_REPLY,
                reason="out_of_scope",
            )
        )
    for text, lang in PARKING:
        seed_escalation(store, text=text, language=lang, reason=EscalationReason.LOW_CONFIDENCE, entry_id=None)
    wrong = seed_escalation(store, text="Where is my parcel?", reason=EscalationReason.HUMAN_REQUESTED)
    for verdict in ("wrong", "wrong"):
        ConsoleStore(store.engine).add_feedback(wrong.escalation_id, verdict, None, "shipping-times", None)
    return store


def test_editors_get_the_report_and_agents_do_not(seeded: Store, make_user: MakeUser, api_client: ClientFor) -> None:
    editor = api_client(make_user("editor"))
    response = editor.get("/api/v1/kb/gaps?days=7")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["questions"] == 6
    assert [c["count"] for c in report["clusters"]] == [4, 2]
    refund = report["clusters"][0]
    assert refund["languages"] == {"en": 3, "pl": 1}
    assert refund["reasons"] == {"out_of_scope": 4}
    assert refund["replies"] == [AGENT_REPLY]
    assert "shipping-times" in [w["entry_id"] for w in report["often_wrong"]]
    # Nothing was answered in this database: every published entry is "never matched".
    assert "store-opening-hours" in report["never_matched"]
    assert api_client(make_user("agent")).get("/api/v1/kb/gaps").status_code == 403
    assert api_client(make_user("admin")).get("/api/v1/kb/gaps").status_code == 200
    assert editor.get("/api/v1/kb/gaps?days=0").status_code == 422


def test_a_cluster_becomes_a_draft_through_the_api(
    seeded: Store, make_user: MakeUser, api_client: ClientFor, accounts: AccountStore
) -> None:
    editor_user = make_user("editor")
    editor = api_client(editor_user)
    refund = editor.get("/api/v1/kb/gaps").get_json()["clusters"][0]
    stale = editor.post("/api/v1/kb/gaps/drafts", json={"cluster_id": 1, "expected_examples": ["something else"]})
    assert stale.status_code == 409
    assert editor.post("/api/v1/kb/gaps/drafts", json={"cluster_id": 99}).status_code == 404
    created = editor.post("/api/v1/kb/gaps/drafts", json={"cluster_id": 1, "expected_examples": refund["examples"][:1]})
    assert created.status_code == 201, created.get_json()
    draft = created.get_json()
    assert draft["entry_id"] == refund["suggested_entry_id"] and draft["status"] == "draft"
    assert draft["answers"] == {"en": AGENT_REPLY}
    assert set(draft["questions"]) == {"en", "pl"}
    record = KbStore(seeded.engine).get(draft["entry_id"])
    assert record.status == "draft" and record.version == 1
    # A draft is never answered: it is not in the published KB.
    assert draft["entry_id"] not in {e.id for e in KbStore(seeded.engine).published_kb()}
    actions = [e.action for e in accounts.audit_entries()]
    assert "kb.draft_from_gap" in actions
    # The next report suggests another id for the same topic: the draft's id is taken now.
    again = editor.get("/api/v1/kb/gaps").get_json()["clusters"][0]
    assert again["suggested_entry_id"] != draft["entry_id"]


def test_the_page_lists_topics_and_creates_a_draft(
    seeded: Store, make_user: MakeUser, logged_in_client: object
) -> None:
    client: ConsoleClient = logged_in_client(make_user("editor"))  # type: ignore[operator]
    page = client.get("/console/kb/gaps")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Content gaps" in html and "Czy mogę zwrócić kartę" in html and AGENT_REPLY in html
    assert "shipping-times" in html
    first = REFUND[0][0]
    response = client.post("/console/kb/gaps/draft", data={"cluster_id": "1", "days": "30", "first_example": first})
    assert response.status_code == 302
    entry_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert KbStore(seeded.engine).get(entry_id).status == "draft"
    agent: ConsoleClient = logged_in_client(make_user("agent"))  # type: ignore[operator]
    assert agent.get("/console/kb/gaps").status_code == 403
