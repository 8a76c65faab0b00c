"""Conversations, their messages and the engine's decisions: created on first sight, recorded once per platform
event (a unique constraint settles redeliveries), read back as history and as the state the engine decides on.
`record_inbound` and `record_outbound_message` are the one write path of messages; each also adds the message to
the full-text index (`conversation_search`) in its transaction."""

from __future__ import annotations

from datetime import datetime
from types import EllipsisType
from typing import Any

from sqlalchemy import ColumnElement, case, func, null, select, text, update

from assistant.domain.messages import (
    Action,
    ConversationState,
    Decision,
    DecisionKind,
    EscalationReason,
    HandoffState,
)
from assistant.store.conversation_search import search_for
from assistant.store.db import Transactions, added, found, insert_if_new
from assistant.store.errors import NotFoundError
from assistant.store.records import ConversationRecord, MessageRecord, choices_from
from assistant.store.tables import (
    ACTIVE_ESCALATION_STATUSES,
    Conversation,
    DecisionRow,
    Escalation,
    Message,
    utc_literal,
    utcnow,
)

REPLY_AUTHORS = ("bot", "agent", "system")
# The decisions about a customer question (not a greeting, a complaint or silence): the previous turn that a short
# follow-up is read with. Escalations count only for these reasons, where the question itself went unanswered.
_QUESTION_ESCALATIONS = (
    EscalationReason.LOW_CONFIDENCE.value,
    EscalationReason.OUT_OF_SCOPE.value,
    EscalationReason.IN_HOURS_POLICY.value,
)


def _later(column: Any, value: datetime) -> ColumnElement[datetime]:
    """`value` if it is later than the column (or the column is NULL): out-of-order events never move time back."""
    bound = utc_literal(value)
    return case((column.is_(None), bound), (column < bound, bound), else_=column)


class ConversationStore(Transactions):
    """Conversations, messages and decisions; each method is one short transaction returning plain records."""

    # Conversations

    def conversation(
        self, platform: str, key: str, sender_id: str | None = None, sender_name: str | None = None
    ) -> ConversationRecord:
        """The conversation for (platform, key), created on first sight; safe when workers race to create it."""
        where = (Conversation.platform == platform, Conversation.conversation_key == key)
        with self._write() as session:
            row = session.scalars(select(Conversation).where(*where)).one_or_none()
            if row is None:
                now = utcnow()
                values = {
                    "platform": platform,
                    "conversation_key": key,
                    "sender_id": sender_id,
                    "sender_name": sender_name,
                    "handoff": HandoffState.BOT.value,
                    "rephrase_asked": False,
                    "holding_reply_sent": False,
                    "created_at": now,
                    "updated_at": now,
                }
                insert_if_new(session, self._insert(Conversation), ["platform", "conversation_key"], values)
                # Whether we inserted it or a racing worker did, it is there now.
                row = session.scalars(select(Conversation).where(*where)).one()
            else:
                # Display names change; keep the latest the platform told us.
                if sender_name is not None and row.sender_name != sender_name:
                    row.sender_name = sender_name
                if sender_id is not None and row.sender_id is None:
                    row.sender_id = sender_id
                session.flush()
            return ConversationRecord.from_row(row)

    def conversation_by_id(self, conversation_id: int) -> ConversationRecord:
        return self._read_record(Conversation, conversation_id, "conversation", ConversationRecord.from_row)

    def update_conversation(
        self,
        conversation_id: int,
        *,
        language: str | None = None,
        rephrase_asked: bool | None = None,
        holding_reply_sent: bool | None = None,
        last_bot_reply_at: datetime | None = None,
        assigned_agent: str | EllipsisType | None = ...,
        reply_target: dict[str, str] | None = None,
    ) -> None:
        """Change the given fields; `assigned_agent=None` clears the agent, leaving it out keeps it. Who owns the
        conversation changes only through the escalation store's `set_handoff` (and claim/settle/reply)."""
        values: dict[str, Any] = {"updated_at": utcnow()}
        if reply_target:
            values["reply_target"] = {str(key): str(value) for key, value in reply_target.items()}
        if language is not None:
            values["language"] = language
        if rephrase_asked is not None:
            values["rephrase_asked"] = rephrase_asked
        if holding_reply_sent is not None:
            values["holding_reply_sent"] = holding_reply_sent
        if last_bot_reply_at is not None:
            values["last_bot_reply_at"] = last_bot_reply_at
        if not isinstance(assigned_agent, EllipsisType):
            values["assigned_agent"] = assigned_agent
        with self._write() as session:
            found = session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(**values)
                .returning(Conversation.id)
            ).scalar_one_or_none()
            if found is None:
                raise NotFoundError(f"conversation {conversation_id}")

    def conversation_state(self, conversation_id: int) -> ConversationState:
        """What the engine needs; `turns` counts the customer's messages recorded so far. The offered choices are
        those of the latest decided customer message; the previous question is the latest decided one that was a
        question (a KB answer, a clarification, or an escalation because the KB had no confident answer), read as
        the engine read it."""
        with self._read() as session:
            row = found(session, Conversation, conversation_id, "conversation")
            turns = session.scalar(
                select(func.count(Message.id)).where(
                    Message.conversation_id == conversation_id, Message.direction == "in"
                )
            )
            decided = (
                select(Message, DecisionRow)
                .join(DecisionRow, DecisionRow.message_id == Message.id)
                .where(Message.conversation_id == conversation_id, Message.direction == "in")
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(1)
            )
            latest = session.execute(decided).first()
            question = session.execute(
                decided.where(
                    (DecisionRow.kind.in_((DecisionKind.KB_ANSWER.value, DecisionKind.CLARIFICATION.value)))
                    | (
                        (DecisionRow.kind == DecisionKind.ESCALATION.value)
                        & DecisionRow.reason.in_(_QUESTION_ESCALATIONS)
                    )
                )
            ).first()
            state = ConversationState(
                handoff=HandoffState(row.handoff),
                rephrase_asked=row.rephrase_asked,
                holding_reply_sent=row.holding_reply_sent,
                turns=int(turns or 0),
                language=row.language,
                offered_choices=list(choices_from(latest[1].choices)) if latest is not None else [],
            )
            if question is not None:
                message, decision = question
                answered = decision.kind == DecisionKind.KB_ANSWER.value or decision.reason == "in_hours_policy"
                state.previous_text = decision.read_as or message.text
                state.previous_entry_id = decision.entry_id if answered else None
                state.previous_at = message.created_at
            return state

    # Messages and decisions

    def record_inbound(
        self,
        conversation_id: int,
        platform: str,
        event_id: str | None,
        text: str,
        language: str | None,
        is_public: bool,
        at: datetime,
        reply_target: dict[str, str] | None = None,
        received_chars: int | None = None,
    ) -> int | None:
        """The new message's id, or None when (platform, event_id) was recorded before (a redelivery).
        `received_chars`: the text's length as received, when `text` is only its start.

        `reply_target` (what the adapter needs to answer) is kept on the conversation, so a person can reply
        later; the latest message's target wins, as it is the one the platform expects an answer to.
        """
        with self._write() as session:
            message = {
                "conversation_id": conversation_id,
                "platform": platform,
                "direction": "in",
                "author": "customer",
                "platform_event_id": event_id,
                "text": text,
                "language": language,
                "is_public": is_public,
                "received_chars": received_chars,
                "created_at": at,
            }
            message_id = insert_if_new(session, self._insert(Message), ["platform", "platform_event_id"], message)
            if message_id is None:
                return None
            # The search index, in the same transaction: a recorded message is findable at once.
            search_for(self.engine.dialect.name).add(session.connection(), message_id, text)
            values: dict[str, Any] = {
                "last_inbound_at": _later(Conversation.last_inbound_at, at),
                "updated_at": utcnow(),
            }
            if reply_target:
                values["reply_target"] = {str(key): str(value) for key, value in reply_target.items()}
            session.execute(update(Conversation).where(Conversation.id == conversation_id).values(**values))
            return message_id

    def inbound_message_id(self, platform: str, event_id: str) -> int | None:
        """The id of the message recorded for a platform event, if any (a redelivery's first record)."""
        with self._read() as session:
            found = session.scalar(
                select(Message.id).where(Message.platform == platform, Message.platform_event_id == event_id)
            )
            return int(found) if found is not None else None

    def has_decision(self, message_id: int) -> bool:
        with self._read() as session:
            return session.scalar(select(DecisionRow.id).where(DecisionRow.message_id == message_id)) is not None

    def ping(self) -> None:
        """Raise if the database cannot be reached (readiness probe)."""
        with self._read() as session:
            session.execute(text("SELECT 1"))

    def record_decision(self, message_id: int, decision: Decision, at: datetime | None = None) -> int:
        """Store the engine's decision about a message; a retried task keeps the first one and gets its id."""
        with self._write() as session:
            row = {
                "message_id": message_id,
                "action": Action(decision.action).value,
                "reason": decision.reason.value if decision.reason is not None else None,
                "entry_id": decision.entry_id,
                "intent": decision.intent,
                "confidence": float(decision.confidence),
                "queue": decision.queue,
                "priority": int(decision.priority) if decision.priority is not None else None,
                "reply_kind": decision.reply_kind,
                "kind": decision.kind.value if decision.kind is not None else None,
                # null(), not None: None would be stored as the JSON value null, which IS NULL does not find.
                "choices": [{"label": c.label, "payload": c.payload} for c in decision.choices] or null(),
                "picked": decision.picked.value if decision.picked is not None else None,
                "read_as": decision.read_as,
                "reply": decision.reply,
                "suggested_answer": decision.suggested_answer,
                # float(): numpy scalars are not JSON serialisable.
                "reasons": [str(reason) for reason in decision.reasons],
                "scores": {str(name): float(value) for name, value in decision.scores.items()},
                "latency_ms": float(decision.latency_ms),
                "created_at": at or utcnow(),
            }
            decision_id = insert_if_new(session, self._insert(DecisionRow), ["message_id"], row)
            if decision_id is None:
                return int(session.scalars(select(DecisionRow.id).where(DecisionRow.message_id == message_id)).one())
            # The webhook may not have known the language; the engine detected it.
            session.execute(
                update(Message)
                .where(Message.id == message_id, Message.language.is_(None))
                .values(language=decision.language)
            )
            return decision_id

    def record_outbound_message(
        self,
        conversation_id: int,
        author: str,
        text: str,
        platform_message_id: str | None = None,
        *,
        language: str | None = None,
        at: datetime | None = None,
        agent_id: int | None = None,
    ) -> int:
        """Add a bot, agent or system message to the history; returns its id.

        A bot message moves `last_bot_reply_at`; an agent message is the human first response of the
        conversation's open escalation, if it has none yet.
        """
        if author not in REPLY_AUTHORS:
            raise ValueError(f"author must be one of {REPLY_AUTHORS}, not {author!r}")
        at = at or utcnow()
        with self._write() as session:
            platform = session.scalar(select(Conversation.platform).where(Conversation.id == conversation_id))
            if platform is None:
                raise NotFoundError(f"conversation {conversation_id}")
            message = added(
                session,
                Message(
                    conversation_id=conversation_id,
                    platform=platform,
                    direction="out",
                    author=author,
                    platform_message_id=platform_message_id,
                    text=text,
                    language=language,
                    is_public=False,
                    agent_id=agent_id,
                    created_at=at,
                ),
            )
            search_for(self.engine.dialect.name).add(session.connection(), message.id, text)
            if author == "bot":
                session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id)
                    .values(last_bot_reply_at=_later(Conversation.last_bot_reply_at, at), updated_at=utcnow())
                )
            elif author == "agent":
                session.execute(
                    update(Conversation).where(Conversation.id == conversation_id).values(updated_at=utcnow())
                )
                session.execute(
                    update(Escalation)
                    .where(
                        Escalation.conversation_id == conversation_id,
                        Escalation.status.in_(ACTIVE_ESCALATION_STATUSES),
                        Escalation.first_response_at.is_(None),
                    )
                    .values(first_response_at=at, updated_at=utcnow(), version=Escalation.version + 1)
                )
            return message.id

    def history(self, conversation_id: int, limit: int = 50) -> list[MessageRecord]:
        """The latest `limit` messages, oldest first, each with its decision."""
        with self._read() as session:
            rows = session.execute(
                select(Message, DecisionRow)
                .outerjoin(DecisionRow, DecisionRow.message_id == Message.id)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(limit)
            ).all()
            return [MessageRecord.with_decision(message, decision) for message, decision in reversed(rows)]
