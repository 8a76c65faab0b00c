"""The console's use cases run without Flask: the KB editor's and the agent's services get their stores, audit
writer and side effects as arguments, and refuse with the library's error kinds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.domain.business_hours import BusinessHours
from assistant.errors import BadInput, NotFound, NotReady
from assistant.pipeline import Engine
from assistant.services.agent_actions import AgentActions, AgentDeps
from assistant.services.kb_editing import KbEditingDeps, KbEditor
from assistant.store import AccountStore, ConsoleStore, EntryContent, KbStore, KbValidationError, Store
from assistant.store.db import make_engine, migrate
from tests.console.conftest import console_test_settings
from tests.console.support import PASSWORD

Audited = list[tuple[str, str, Any]]


def recorder(audited: Audited) -> Any:
    def audit(action: str, object_type: str, object_id: str | int | None = None, **details: Any) -> None:
        audited.append((action, object_type, object_id))

    return audit


def no_engine() -> Engine:
    raise RuntimeError("no index built")


def test_the_kb_editor_use_cases_need_no_app(tmp_path: Path) -> None:
    settings = console_test_settings(tmp_path)
    migrate(settings.service.database_url)
    audited: Audited = []
    reindexed: list[str] = []
    deps = KbEditingDeps(
        KbStore(make_engine(settings.service.database_url)), settings, no_engine, recorder(audited), reindexed.append
    )
    editor = KbEditor(deps, "eve")
    content = EntryContent("returns", {"en": ["How do I return a jacket?"]}, {"en": "Send it back within 30 days."})
    record = editor.save(content, None, None, "review")
    with pytest.raises(KbValidationError, match="reserved"):
        editor.save(EntryContent("new", content.questions, content.answers), None, None, "draft")
    changed = editor.transition("returns", "published", record.version, None)
    assert changed.live_changed and reindexed == [f"published returns v{changed.record.version} by eve"]
    assert [(action, entry) for action, _, entry in audited] == [("kb.create", "returns"), ("kb.published", "returns")]
    assert editor.publish_warnings(changed.record) == []  # no engine: no warnings, never an error
    with pytest.raises(NotReady, match="assistant train"):
        editor.preview("How do I return it?", None, None)


class OpenWindows:
    def window(self, platform: str, last_inbound_at: Any, now: Any) -> Any:
        raise AssertionError("no reply in this test")

    def taggable(self, platform: str) -> bool:
        return False


def test_the_agent_use_cases_need_no_app(tmp_path: Path) -> None:
    settings = console_test_settings(tmp_path)
    url = settings.service.database_url
    migrate(url)
    engine = make_engine(url)
    editor = AccountStore(engine).create_user("ed", PASSWORD, "editor")
    audited: Audited = []
    deps = AgentDeps(
        console=ConsoleStore(engine),
        store=Store(engine),
        settings=settings,
        hours=BusinessHours.from_config(settings.business_hours),
        windows=OpenWindows(),
        deliver=lambda *args: None,
        audit=recorder(audited),
    )
    actions = AgentActions(deps, editor)
    canned = actions.canned
    with pytest.raises(NotFound, match="unknown queue"):
        canned.save("thanks", "en", "Thank you!", "no-such-queue")
    saved = canned.save("thanks", "en", "Thank you!", None)
    assert [reply.shortcode for reply in canned.listing(None, "en")] == ["thanks"]
    canned.delete(saved.id)
    with pytest.raises(NotFound, match="no canned reply"):
        canned.delete(saved.id)
    assert audited == [
        ("save_canned_reply", "canned_reply", saved.id),
        ("delete_canned_reply", "canned_reply", saved.id),
    ]
    with pytest.raises(BadInput, match="right, wrong or missing"):
        actions.feedback(1, "perhaps", None, None)
    assert actions.queues() == []  # an editor works no queue
