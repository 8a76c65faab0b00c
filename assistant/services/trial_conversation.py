"""A conversation tried turn by turn (`assistant shell`): each message goes through the inbound use case the
worker runs (state, clarification then escalation, handoff, business hours), on a store of its own, and nothing
is sent. What the customer would get is read from the reply the use case reserved."""

from __future__ import annotations

import itertools
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

from assistant.domain.business_hours import BusinessHours
from assistant.domain.channels import InboundEvent
from assistant.domain.messages import Decision, HandoffState, InboundMessage
from assistant.pipeline import Engine
from assistant.services.escalate import Escalations
from assistant.services.inbound import Inbound, process_event
from assistant.store import Store

PLATFORM = "shell"


@dataclass(frozen=True)
class Turn:
    """One customer message and what followed: the decision, the text the customer would get (the answer, or the
    notice that a person will reply), who owns the conversation now and the escalation opened, if any."""

    text: str
    decision: Decision
    reply: str | None
    handoff: HandoffState
    escalation_id: int | None
    queue: str | None


class TrialConversation:
    """One customer's conversation with the bot on `store` (a throwaway one: the shell never writes to the
    service's database). `new()` starts another conversation; `move()` is a person taking it, handing it back
    or closing it, through the store's one write path for owners."""

    def __init__(self, store: Store, engine: Engine) -> None:
        self.store = store
        self.engine = engine
        settings = engine.settings
        self._inbound = Inbound(
            store=store,
            engine=lambda: engine,
            lock=lambda _key: nullcontext(),  # one process, one conversation at a time
            escalations=Escalations(store, settings, BusinessHours.from_config(settings.business_hours)),
        )
        self._conversations = itertools.count(1)
        self._events = itertools.count(1)
        self.new()

    def new(self) -> None:
        self.key = f"trial-{next(self._conversations)}"

    @property
    def conversation_id(self) -> int:
        return self.store.conversation(PLATFORM, self.key).id

    def handoff(self) -> HandoffState:
        return self.store.conversation_state(self.conversation_id).handoff

    def say(self, text: str, now: datetime, sender_name: str | None = None) -> Turn:
        message = InboundMessage(text=text, sender_id="customer", sender_name=sender_name, platform=PLATFORM)
        event = InboundEvent(PLATFORM, f"m{next(self._events)}", self.key, "message", message, sent_at=now)
        processed = process_event(self._inbound, event, now)
        assert processed.decision is not None  # a new message event of our own is always decided
        reply = self.store.outbound(processed.outbound_id).text if processed.outbound_id else None
        queue = None
        if processed.escalation_id is not None:
            queue = self.store.escalation(processed.escalation_id).queue
        return Turn(text, processed.decision, reply, self.handoff(), processed.escalation_id, queue)

    def move(self, target: HandoffState) -> HandoffState:
        """A person takes the conversation (HUMAN), hands it back (BOT) or closes it; the state it was in."""
        return self.store.set_handoff(self.conversation_id, target).before
