"""The knowledge-base editor's use cases: save a version, move it along the workflow (draft → review → published
→ archived), restore or roll back an old version, warn about near duplicates before publishing, and preview how
the bot answers a question against an unsaved draft. Every change is audited; a change to what customers are
answered with asks for a re-index and is written back into the team's YAML files (`kb_source`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from assistant.domain.messages import Decision, InboundMessage
from assistant.errors import NotReady
from assistant.knowledge.near_duplicates import NearDuplicate, near_duplicates_of
from assistant.pipeline import Engine
from assistant.services.common import Audit
from assistant.services.kb_source import write_back
from assistant.settings import Settings
from assistant.store import ChangeResult, EntryContent, KbEntryRecord, KbStore, KbValidationError

log = logging.getLogger("community_assistant.kb_editor")

# Ids the editor's own pages use: /console/kb/<id> would be shadowed by them.
RESERVED_IDS = frozenset({"new", "gaps", "preview"})

Reindex = Callable[[str], None]


@dataclass(frozen=True)
class KbEditingDeps:
    """What the editor's use cases need from their caller; `engine()` raises while no engine is trained."""

    store: KbStore
    settings: Settings
    engine: Callable[[], Engine]
    audit: Audit
    reindex: Reindex


@dataclass(frozen=True)
class Draft:
    """An entry as the editor has it, saved or not: compared with the question in a preview."""

    entry_id: str | None
    questions: dict[str, list[str]] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DraftMatch:
    similarity: float  # cosine similarity of the question to the draft's closest phrasing
    phrasing: str | None
    language: str | None
    live_best: float | None  # the best similarity among the published entries, for comparison
    beats_live: bool
    answer: str | None


@dataclass(frozen=True)
class Preview:
    decision: Decision
    draft: DraftMatch | None
    near_duplicates: list[NearDuplicate]
    kb_version: str


def ready_engine(engine: Callable[[], Engine]) -> Engine:
    """The engine, or NotReady (503) when none is trained yet or it is broken."""
    try:
        return engine()
    except Exception as error:  # no trained index yet, or a broken one: say so instead of a 500
        raise NotReady(f"the answer engine is not ready ({error}); run `assistant train`") from error


class KbEditor:
    """The KB editor's use cases for `author` (a username, recorded on every version)."""

    def __init__(self, deps: KbEditingDeps, author: str) -> None:
        self.deps = deps
        self.author = author

    def save(self, content: EntryContent, expected: int | None, note: str | None, status: str) -> KbEntryRecord:
        """A new entry (`expected` None) or a new version of one; a stale `expected` is a KbConflictError."""
        if expected is None and content.entry_id in RESERVED_IDS:
            raise KbValidationError(f"`id` {content.entry_id!r} is reserved by the editor's pages; choose another")
        record = self.deps.store.save(content, expected, self.author, note=note, status=status)
        self.deps.audit(
            "kb.create" if expected is None else "kb.save",
            "kb_entry",
            record.entry_id,
            version=record.version,
            status=record.status,
        )
        return record

    def transition(self, entry_id: str, status: str, expected: int, note: str | None) -> ChangeResult:
        result = self.deps.store.transition(entry_id, status, expected, self.author, note)
        self.deps.audit(
            f"kb.{status}", "kb_entry", entry_id, version=result.record.version, live_changed=result.live_changed
        )
        if result.live_changed:
            write_back(self.deps.settings, self.deps.store, [entry_id])
            self.deps.reindex(f"{status} {entry_id} v{result.record.version} by {self.author}")
        return result

    def restore(self, entry_id: str, version: int, expected: int | None, publish: bool) -> ChangeResult:
        """`version` again as a new draft, or (publish) a rollback: live at once."""
        result = self.deps.store.restore(entry_id, version, self.author, expected, publish)
        self.deps.audit(
            "kb.rollback" if publish else "kb.restore",
            "kb_entry",
            entry_id,
            restored=version,
            version=result.record.version,
            live_changed=result.live_changed,
        )
        if result.live_changed:
            write_back(self.deps.settings, self.deps.store, [entry_id])
            self.deps.reindex(f"rollback {entry_id} to v{version} by {self.author}")
        return result

    def near_duplicates(self, entry_id: str, questions: dict[str, list[str]]) -> list[NearDuplicate]:
        """Phrasings of other published entries that these questions (nearly) repeat; NotReady without engine."""
        return self._near_duplicates(ready_engine(self.deps.engine), entry_id, questions)

    def entry_duplicates(self, entry_id: str) -> list[NearDuplicate]:
        """Near duplicates of the stored working copy of `entry_id` (KbNotFoundError when there is none)."""
        record = self.deps.store.get(entry_id)
        return self.near_duplicates(entry_id, record.content.questions)

    def publish_warnings(self, record: KbEntryRecord) -> list[NearDuplicate]:
        """Near duplicates of an entry waiting for review; none when the engine is not loaded (never blocks)."""
        try:
            return self._near_duplicates(self.deps.engine(), record.entry_id, record.content.questions)
        except Exception:  # no trained engine yet: the preview says so; the page still works
            log.warning("near-duplicate check skipped for %s", record.entry_id, exc_info=True)
            return []

    def _near_duplicates(self, engine: Engine, entry_id: str, questions: dict[str, list[str]]) -> list[NearDuplicate]:
        threshold = self.deps.settings.live_index.near_duplicate_similarity
        return near_duplicates_of(entry_id, questions, engine.index, engine.encoder, threshold)

    def preview(self, question: str, language: str | None, draft: Draft | None) -> Preview:
        """The current engine's decision on the question, and how close the unsaved draft's phrasings come."""
        engine = ready_engine(self.deps.engine)
        decision = engine.decide(InboundMessage(text=question, language=language, platform="preview"))
        match: DraftMatch | None = None
        duplicates: list[NearDuplicate] = []
        if draft is not None:
            phrasings = [(lang, q.strip()) for lang, qs in sorted(draft.questions.items()) for q in qs if q.strip()]
            vectors = engine.encoder.encode([question] + [text for _, text in phrasings])
            query, phrasing_vectors = vectors[:1], vectors[1:]
            live_hits = [h for h in engine.index.search(query, k=3)[0] if h.entry_id != draft.entry_id]
            live_best = round(live_hits[0].score, 4) if live_hits else None
            if phrasings:
                scores = phrasing_vectors @ query[0]
                best = int(np.argmax(scores))
                similarity = round(float(scores[best]), 4)
                lang = phrasings[best][0]
                match = DraftMatch(
                    similarity=similarity,
                    phrasing=phrasings[best][1],
                    language=lang,
                    live_best=live_best,
                    beats_live=live_best is None or similarity > live_best,
                    answer=draft.answers.get(decision.language) or draft.answers.get(lang),
                )
                duplicates = self._near_duplicates(engine, draft.entry_id or "", draft.questions)
            else:
                match = DraftMatch(0.0, None, None, live_best, False, None)
        return Preview(decision, match, duplicates, engine.kb.version)
