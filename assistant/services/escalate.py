"""Handing a conversation to a person: the console queue the routing rules give it and the escalation opened there
with its SLA due time. Shared by the inbound use case (an engine's escalation) and the delivery use case (a reply
that could not go out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from assistant.domain.business_hours import BusinessHours
from assistant.domain.handoff import may_move
from assistant.domain.kb_entries import KnowledgeBase
from assistant.domain.messages import Decision, EscalationReason, HandoffState, Priority
from assistant.domain.routing import RoutingInput, route
from assistant.domain.sla import first_response_due
from assistant.settings import Settings
from assistant.store import Store


@dataclass(frozen=True)
class Escalations:
    """What opening an escalation needs: the store, the routing and SLA configuration, and the business calendar."""

    store: Store
    settings: Settings
    hours: BusinessHours

    def queue_for(
        self, platform: str, reason: str, decision: Decision | None = None, kb: KnowledgeBase | None = None
    ) -> str:
        """The console queue by the configured routing rules; the engine's own queue is the fallback. `kb` gives the
        tags of the decision's entry to the rules."""
        tags: tuple[str, ...] = ()
        if decision is not None and decision.entry_id and kb is not None:
            entry = kb.get(decision.entry_id)
            tags = tuple(entry.tags) if entry is not None else ()
        item = RoutingInput(
            platform=platform,
            reason=reason,
            language=decision.language if decision is not None else None,
            intent=decision.intent if decision is not None else None,
            entry_id=decision.entry_id if decision is not None else None,
            tags=tags,
            engine_queue=(decision.queue if decision is not None else None) or self.settings.policy.default_queue,
        )
        return route(self.settings.console, item).queue

    def sla_due(self, priority: Priority, now: datetime) -> datetime:
        return first_response_due(self.hours, self.settings.service.sla_first_response_minutes, priority, now)

    def open(
        self,
        conversation_id: int,
        message_id: int | None,
        queue: str,
        priority: Priority,
        reason: str,
        suggested_answer: str | None,
        now: datetime,
    ) -> int:
        """Open an escalation in `queue`, due by the priority's SLA counted from `now`; its id."""
        return self.store.open_escalation(
            conversation_id,
            message_id,
            queue,
            int(priority),
            reason,
            suggested_answer,
            self.sla_due(priority, now),
        )

    def processing_failed(self, conversation_id: int, message_id: int | None, now: datetime) -> int:
        """A message the service could not decide goes to a person; the escalation's id."""
        return self._to_person(conversation_id, message_id, EscalationReason.PROCESSING_FAILED, None, now)

    def undelivered(self, conversation_id: int, message_id: int | None, text: str, now: datetime) -> None:
        """A reply that could not be delivered is not lost: a person gets the conversation and the text."""
        self._to_person(conversation_id, message_id, EscalationReason.DELIVERY_FAILED, text, now)

    def _to_person(
        self, conversation_id: int, message_id: int | None, reason: EscalationReason, text: str | None, now: datetime
    ) -> int:
        # A conversation a person took meanwhile (or closed) stays as they left it; the escalation tells them.
        conversation = self.store.conversation_by_id(conversation_id)
        queue = self.queue_for(conversation.platform, reason.value)
        escalation_id = self.open(conversation_id, message_id, queue, Priority.HIGH, reason.value, text, now)
        if may_move(conversation.handoff, HandoffState.WAITING_FOR_HUMAN):
            self.store.set_handoff(conversation_id, HandoffState.WAITING_FOR_HUMAN)
        return escalation_id
