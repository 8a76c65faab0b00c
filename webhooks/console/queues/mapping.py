"""The agent use cases' results (assistant.services.agent_actions) as the queues API's models, and the 409 bodies
the one error handler sends for the conflicts of claims, hand-offs and replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, cast

from assistant.domain.handoff import HandoffTransitionError
from assistant.services.agent_actions import (
    ConversationView,
    QueueListing,
    QueueView,
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
    MessageRecord,
)
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

PriorityName = Literal["low", "normal", "high", "urgent"]
ConflictKind = Literal["stale", "held", "resolved", "reply_window", "no_reply_target", "handoff"]


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


def reply_conflict_body(error: ReplyConflictError) -> dict[str, Any]:
    out = ConflictOut(error=error.summary, kind=cast(ConflictKind, error.kind), alternative=error.alternative)
    return out.model_dump(mode="json", exclude_none=True)


# Results


def queue_out(view: QueueView) -> QueueOut:
    return QueueOut(
        name=view.name,
        title=view.title,
        configured=view.configured,
        open=view.counts.open,
        claimed=view.counts.claimed,
        breached=view.counts.breached,
        next_due_at=view.counts.next_due_at,
    )


def escalation_out(escalation: EscalationRecord, holder: str | None, now: datetime | None = None) -> EscalationOut:
    return EscalationOut(
        id=escalation.id,
        conversation_id=escalation.conversation_id,
        queue=escalation.queue,
        status=escalation.status,
        priority=cast(PriorityName, priority_name(escalation.priority)),
        reason=escalation.reason,
        sla_due_at=escalation.sla_due_at,
        sla_breached=is_breached(escalation, now or utc_now()),
        sla_breached_at=escalation.sla_breached_at,
        created_at=escalation.created_at,
        claimed_at=escalation.claimed_at,
        first_response_at=escalation.first_response_at,
        resolved_at=escalation.resolved_at,
        holder=holder if escalation.status == "claimed" else None,
        version=escalation.version,
    )


def item_out(item: EscalationListItem, now: datetime) -> EscalationItemOut:
    base = escalation_out(item.escalation, item.holder, now)
    return EscalationItemOut(
        **base.model_dump(),
        platform=item.platform,
        sender_name=item.sender_name,
        language=item.language,
        handoff=item.handoff.value,
        preview=item.preview,
    )


def listing_out(listing: QueueListing) -> EscalationListOut:
    page = listing.page
    return EscalationListOut(
        queue=listing.queue.name,
        show=listing.show,
        items=[item_out(item, listing.now) for item in page.items],
        page=page.page,
        per_page=page.per_page,
        total=page.total,
        pages=page.pages,
        token=listing.token,
    )


def decision_out(decision: DecisionRecord | None) -> DecisionOut | None:
    if decision is None:
        return None
    return DecisionOut(
        action=decision.action.value,
        reason=decision.reason,
        entry_id=decision.entry_id,
        intent=decision.intent,
        confidence=decision.confidence,
        reply_kind=decision.reply_kind,
        suggested_answer=decision.suggested_answer,
        reasons=decision.reasons,
        scores=decision.scores,
    )


def message_out(message: MessageRecord, agents: dict[int, str]) -> MessageOut:
    return MessageOut(
        id=message.id,
        direction=message.direction,
        author=message.author,
        text=message.text,
        language=message.language,
        created_at=message.created_at,
        agent=agents.get(message.agent_id) if message.agent_id is not None else None,
        decision=decision_out(message.decision),
    )


def canned_out(reply: CannedReplyRecord) -> CannedReplyOut:
    return CannedReplyOut(
        id=reply.id, shortcode=reply.shortcode, language=reply.language, queue=reply.queue, text=reply.text
    )


def detail_out(view: ConversationView) -> EscalationDetailOut:
    detail, window, now = view.detail, view.window, view.now
    conversation = detail.conversation
    return EscalationDetailOut(
        escalation=escalation_out(detail.escalation, detail.holder, now),
        suggested_answer=detail.escalation.suggested_answer,
        decision=decision_out(detail.trigger.decision if detail.trigger else None),
        conversation=ConversationOut(
            id=conversation.id,
            platform=conversation.platform,
            sender_name=conversation.sender_name,
            language=conversation.language,
            handoff=conversation.handoff.value,
            last_inbound_at=conversation.last_inbound_at,
            can_reply=bool(conversation.reply_target),
            reply_window=ReplyWindowOut(
                open=window.open, closes_at=window.closes_at, human_agent_until=window.human_agent_until
            ),
        ),
        messages=[message_out(message, detail.agents) for message in detail.messages],
        notes=[NoteOut(id=n.id, text=n.text, author=n.username, created_at=n.created_at) for n in detail.notes],
        pending_replies=[
            PendingReplyOut(
                id=o.id,
                text=o.text,
                status=o.status,
                mode=o.mode,
                attempts=o.attempts,
                last_error=o.last_error,
                agent=detail.agents.get(o.agent_id) if o.agent_id is not None else None,
                created_at=o.created_at,
            )
            for o in detail.undelivered
            if o.author == "agent"
        ],
        feedback=[
            FeedbackOut(verdict=f.verdict, author=f.username, entry_id=f.entry_id, comment=f.comment, at=f.at)
            for f in detail.feedback
        ],
        token=view.token,
    )
