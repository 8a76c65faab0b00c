"""The agent use cases' results (assistant.services.agent_actions) as the queues API's models, and the 409 bodies
the one error handler sends for the conflicts of claims, hand-offs and replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, cast

from assistant.domain.bot_notes import explain, reason_in_words
from assistant.domain.handoff import HandoffTransitionError
from assistant.services.agent_actions import (
    AgentActions,
    ConversationView,
    QueueListing,
    QueueView,
    UnansweredResolveError,
    is_breached,
    priority_name,
)
from assistant.services.common import utc_now
from assistant.services.reply_rules import ReplyConflictError
from assistant.store import (
    CannedReplyRecord,
    ClaimConflictError,
    DecisionRecord,
    EscalationListItem,
    EscalationRecord,
    FeedbackRecord,
    MessageRecord,
    NoteRecord,
)
from webhooks.console.openapi import model_from
from webhooks.console.queues.schemas import (
    CannedReplyOut,
    ConflictOut,
    ConversationOut,
    DecisionOut,
    EscalationDetailOut,
    EscalationItemOut,
    EscalationListOut,
    EscalationOut,
    FeedbackOut,
    MessageOut,
    NoteOut,
    PendingReplyOut,
    QueueOut,
    ReplyWindowOut,
)

ConflictKind = Literal["stale", "held", "resolved", "reply_window", "no_reply_target", "handoff", "unanswered"]


# Conflicts: a 409 carries the current state in a ConflictOut body.


def claim_conflict_body(error: ClaimConflictError) -> dict[str, Any]:
    out = ConflictOut(
        error=error.message,
        kind=cast(ConflictKind, error.kind),
        holder=error.holder,
        current=escalation_out(error.current, error.holder),
    )
    return out.model_dump(mode="json", exclude_none=True)


def handoff_conflict_body(error: HandoffTransitionError) -> dict[str, Any]:
    return ConflictOut(error=str(error), kind="handoff").model_dump(mode="json", exclude_none=True)


def unanswered_conflict_body(error: UnansweredResolveError) -> dict[str, Any]:
    out = ConflictOut(error=str(error), kind="unanswered", current=escalation_out(error.current, None))
    return out.model_dump(mode="json", exclude_none=True)


def reply_conflict_body(error: ReplyConflictError) -> dict[str, Any]:
    out = ConflictOut(error=error.summary, kind=cast(ConflictKind, error.kind), alternative=error.alternative)
    return out.model_dump(mode="json", exclude_none=True)


# Results


def queue_out(view: QueueView) -> QueueOut:
    return model_from(QueueOut, view.counts, name=view.name, title=view.title, configured=view.configured)


def escalation_out(escalation: EscalationRecord, holder: str | None, now: datetime | None = None) -> EscalationOut:
    return model_from(
        EscalationOut,
        escalation,
        priority=priority_name(escalation.priority),
        reason_text=reason_in_words(escalation.reason),
        sla_breached=is_breached(escalation, now or utc_now()),
        holder=holder if escalation.status == "claimed" else None,
    )


def changed_out(agent: AgentActions, escalation: EscalationRecord) -> EscalationOut:
    """The escalation after one of `agent`'s actions; the holder's name is looked up only while someone holds it."""
    return escalation_out(escalation, agent.holder_name(escalation) if escalation.status == "claimed" else None)


def item_out(item: EscalationListItem, now: datetime) -> EscalationItemOut:
    base = escalation_out(item.escalation, item.holder, now).model_dump()
    return model_from(EscalationItemOut, item, **base, handoff=item.handoff.value)


def listing_out(listing: QueueListing) -> EscalationListOut:
    return model_from(
        EscalationListOut,
        listing.page,
        queue=listing.queue.name,
        show=listing.show,
        items=[item_out(item, listing.now) for item in listing.page.items],
        token=listing.token,
    )


def decision_out(decision: DecisionRecord | None) -> DecisionOut | None:
    if decision is None:
        return None
    note = explain(decision.action, decision.reason, decision.entry_id, decision.kind)
    return model_from(
        DecisionOut, decision, action=decision.action.value, summary=note.summary, closest_entry=note.closest
    )


def _agent_name(agents: dict[int, str], agent_id: int | None) -> str | None:
    return agents.get(agent_id) if agent_id is not None else None


def message_out(message: MessageRecord, agents: dict[int, str]) -> MessageOut:
    return model_from(
        MessageOut, message, agent=_agent_name(agents, message.agent_id), decision=decision_out(message.decision)
    )


def note_out(note: NoteRecord) -> NoteOut:
    return model_from(NoteOut, note, author=note.username)


def feedback_out(feedback: FeedbackRecord) -> FeedbackOut:
    return model_from(FeedbackOut, feedback, author=feedback.username)


def canned_out(reply: CannedReplyRecord) -> CannedReplyOut:
    return model_from(CannedReplyOut, reply)


def detail_out(view: ConversationView) -> EscalationDetailOut:
    detail, conversation = view.detail, view.detail.conversation
    return EscalationDetailOut(
        escalation=escalation_out(detail.escalation, detail.holder, view.now),
        suggested_answer=detail.escalation.suggested_answer,
        decision=decision_out(detail.trigger.decision if detail.trigger else None),
        conversation=model_from(
            ConversationOut,
            conversation,
            handoff=conversation.handoff.value,
            can_reply=bool(conversation.reply_target),
            reply_window=model_from(ReplyWindowOut, view.window),
        ),
        messages=[message_out(message, detail.agents) for message in detail.messages],
        notes=[note_out(note) for note in detail.notes],
        pending_replies=[
            model_from(PendingReplyOut, outbound, agent=_agent_name(detail.agents, outbound.agent_id))
            for outbound in detail.undelivered
            if outbound.author == "agent"
        ],
        feedback=[feedback_out(feedback) for feedback in detail.feedback],
        human_replied=view.human_replied,
        token=view.token,
    )
