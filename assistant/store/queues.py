"""The queues as people see them: counts per queue, pages of escalations, one escalation with its whole thread,
change tokens for pollers, and the bookkeeping of the beat and the helpdesk (SLA breach flags, pushed tickets,
unassigned work, agent loads). Nothing here changes who holds an escalation or owns a conversation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, case, func, select, update

from assistant.domain.messages import EscalationStatus, HandoffState, OutboundStatus
from assistant.store.db import Transactions, found
from assistant.store.errors import NotFoundError
from assistant.store.escalations import username_of
from assistant.store.records import (
    ConversationRecord,
    EscalationDetail,
    EscalationListItem,
    EscalationPage,
    EscalationRecord,
    FeedbackRecord,
    MessageRecord,
    NoteRecord,
    OutboundRecord,
    QueueCounts,
)
from assistant.store.tables import (
    ACTIVE_ESCALATION_STATUSES,
    ESCALATION_STATUSES,
    Conversation,
    DecisionRow,
    Escalation,
    Message,
    Note,
    Outbound,
    SuggestionFeedback,
    User,
    UTCDateTime,
    utcnow,
)

# What a queue page can show: the work still to do (default), one side of it, or what was settled.
LIST_FILTERS = ("active", "open", "claimed", "mine", "breached", "resolved")


def _stamp(moment: datetime | str | None) -> str:
    """A URL-safe form of a time, for change tokens (microseconds since the epoch)."""
    if moment is None:
        return "0"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return str(int(moment.timestamp() * 1_000_000))


def _bump(now: datetime | None = None) -> dict[str, Any]:
    """What a bulk UPDATE of escalations also writes: pollers and version checks see it."""
    return {"updated_at": now or utcnow(), "version": Escalation.version + 1}


# What a list of escalations shows (a queue page, the inbox): the language is the conversation's, else the
# message's.
LIST_LANGUAGE = func.coalesce(Conversation.language, Message.language)


def escalation_list_select() -> Select[Escalation, str, str | None, str, str, str, str]:
    """Each escalation with what its row shows: platform, sender, language, owner, the message and its holder."""
    return (
        select(
            Escalation,
            Conversation.platform,
            Conversation.sender_name,
            LIST_LANGUAGE,
            Conversation.handoff,
            Message.text,
            User.username,
        )
        .join(Conversation, Conversation.id == Escalation.conversation_id)
        .outerjoin(Message, Message.id == Escalation.message_id)
        .outerjoin(User, User.id == Escalation.assigned_agent_id)
    )


def list_order(resolved: bool) -> list[Any]:
    """Resolved ones latest first; the others most urgent first, then by SLA due time."""
    if resolved:
        return [Escalation.resolved_at.desc(), Escalation.id.desc()]
    return [Escalation.priority.desc(), Escalation.sla_due_at.asc(), Escalation.id.asc()]


def list_item(row: Row[Escalation, str, str | None, str, str, str, str]) -> EscalationListItem:
    """An EscalationListItem from a row of `escalation_list_select`."""
    escalation, platform, sender_name, language, handoff, text, username = row
    return EscalationListItem(
        escalation=EscalationRecord.from_row(escalation),
        platform=platform,
        sender_name=sender_name,
        language=language,
        handoff=HandoffState(handoff),
        preview=text[:200] if text else None,
        holder=username,
    )


class QueueStore(Transactions):
    """Reading escalations for people and the beat; each method is one short transaction."""

    # Escalations by id and by queue

    def escalation(self, escalation_id: int) -> EscalationRecord:
        return self._read_record(Escalation, escalation_id, "escalation", EscalationRecord.from_row)

    def escalations(
        self, status: EscalationStatus | str | None = EscalationStatus.OPEN, queue: str | None = None, limit: int = 100
    ) -> list[EscalationRecord]:
        """A queue's escalations, most urgent first, then the earliest due; status None lists all."""
        if status is not None and status not in ESCALATION_STATUSES:
            raise ValueError(f"status must be one of {ESCALATION_STATUSES} or None, not {status!r}")
        query = select(Escalation)
        if status is not None:
            query = query.where(Escalation.status == status)
        if queue is not None:
            query = query.where(Escalation.queue == queue)
        query = query.order_by(Escalation.priority.desc(), Escalation.sla_due_at.asc(), Escalation.id.asc())
        with self._read() as session:
            return [EscalationRecord.from_row(row) for row in session.scalars(query.limit(limit))]

    def unpushed_escalations(self, limit: int = 100) -> list[EscalationRecord]:
        """Open or claimed escalations not yet sent to the helpdesk, oldest first.

        Resolved ones are left out: a ticket for something already settled is noise for the staff.
        """
        query = (
            select(Escalation)
            .where(Escalation.helpdesk_pushed_at.is_(None), Escalation.status.in_(ACTIVE_ESCALATION_STATUSES))
            .order_by(Escalation.created_at.asc(), Escalation.id.asc())
            .limit(limit)
        )
        with self._read() as session:
            return [EscalationRecord.from_row(row) for row in session.scalars(query)]

    def mark_escalation_pushed(self, escalation_id: int, ticket_id: str, at: datetime) -> None:
        with self._write() as session:
            found = session.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id)
                .values(helpdesk_ticket_id=ticket_id, helpdesk_pushed_at=at)
                .returning(Escalation.id)
            ).scalar_one_or_none()
            if found is None:
                raise NotFoundError(f"escalation {escalation_id}")

    def flag_sla_breaches(self, now: datetime, limit: int = 1000) -> list[EscalationRecord]:
        """Active escalations past their SLA due time with no first response, flagged once each."""
        due = (
            select(Escalation.id)
            .where(
                Escalation.status.in_(ACTIVE_ESCALATION_STATUSES),
                Escalation.sla_breached_at.is_(None),
                Escalation.first_response_at.is_(None),
                Escalation.sla_due_at < now,
            )
            .order_by(Escalation.sla_due_at)
            .limit(limit)
        )
        with self._write() as session:
            ids = list(session.scalars(due))
            if not ids:
                return []
            flagged = session.scalars(
                update(Escalation)
                .where(Escalation.id.in_(ids), Escalation.sla_breached_at.is_(None))
                .values(sla_breached_at=now, **_bump(now))
                .returning(Escalation)
            ).all()
            return [EscalationRecord.from_row(row) for row in flagged]

    def unassigned(self, limit: int = 200) -> list[EscalationRecord]:
        """Open escalations nobody holds, in queue order (most urgent, earliest due first)."""
        query = (
            select(Escalation)
            .where(Escalation.status == EscalationStatus.OPEN, Escalation.assigned_agent_id.is_(None))
            .order_by(Escalation.priority.desc(), Escalation.sla_due_at.asc(), Escalation.id.asc())
            .limit(limit)
        )
        with self._read() as session:
            return [EscalationRecord.from_row(row) for row in session.scalars(query)]

    def agent_loads(self) -> dict[int, int]:
        """How many escalations each person holds now."""
        query = (
            select(Escalation.assigned_agent_id, func.count())
            .where(Escalation.status == EscalationStatus.CLAIMED, Escalation.assigned_agent_id.is_not(None))
            .group_by(Escalation.assigned_agent_id)
        )
        with self._read() as session:
            return {int(agent): int(count) for agent, count in session.execute(query).all() if agent is not None}

    def queue_counts(self, now: datetime | None = None) -> dict[str, QueueCounts]:
        """Per queue with active escalations: open, claimed, breached (flagged, or past due and unanswered)."""
        now = now or utcnow()
        unanswered = Escalation.first_response_at.is_(None)
        breached = (Escalation.sla_breached_at.is_not(None)) | (unanswered & (Escalation.sla_due_at < now))
        query = (
            select(
                Escalation.queue,
                func.sum(case((Escalation.status == EscalationStatus.OPEN, 1), else_=0)),
                func.sum(case((Escalation.status == EscalationStatus.CLAIMED, 1), else_=0)),
                func.sum(case((breached, 1), else_=0)),
                func.min(case((unanswered, Escalation.sla_due_at), else_=None)),
            )
            .where(Escalation.status.in_(ACTIVE_ESCALATION_STATUSES))
            .group_by(Escalation.queue)
        )
        with self._read() as session:
            rows = session.execute(query).all()
        counts: dict[str, QueueCounts] = {}
        for queue, open_, claimed, breached_count, next_due in rows:
            if isinstance(next_due, str):  # SQLite hands MIN() of a CASE back as text
                next_due = UTCDateTime().process_result_value(datetime.fromisoformat(next_due), self.engine.dialect)
            counts[str(queue)] = QueueCounts(
                str(queue), int(open_ or 0), int(claimed or 0), int(breached_count or 0), next_due
            )
        return counts

    def escalation_page(
        self,
        queue: str,
        *,
        show: str = "active",
        agent_id: int | None = None,
        page: int = 1,
        per_page: int = 50,
        now: datetime | None = None,
    ) -> EscalationPage:
        """One page of a queue: most urgent first, then the earliest SLA due time (resolved: latest first)."""
        if show not in LIST_FILTERS:
            raise ValueError(f"show must be one of {LIST_FILTERS}, not {show!r}")
        conditions: list[Any] = [Escalation.queue == queue]
        if show == "active":
            conditions.append(Escalation.status.in_(ACTIVE_ESCALATION_STATUSES))
        elif show == "mine":
            conditions += [Escalation.status == EscalationStatus.CLAIMED, Escalation.assigned_agent_id == agent_id]
        elif show == "breached":
            conditions += [
                Escalation.status.in_(ACTIVE_ESCALATION_STATUSES),
                (Escalation.sla_breached_at.is_not(None))
                | (Escalation.first_response_at.is_(None) & (Escalation.sla_due_at < (now or utcnow()))),
            ]
        else:
            conditions.append(Escalation.status == show)
        page = max(1, page)
        query = (
            escalation_list_select()
            .where(*conditions)
            .order_by(*list_order(resolved=show == "resolved"))
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        with self._read() as session:
            total = int(session.scalar(select(func.count(Escalation.id)).where(*conditions)) or 0)
            rows = session.execute(query).all()
        return EscalationPage([list_item(row) for row in rows], total, page, per_page)

    def changes_token(self) -> str:
        """Changes whenever any escalation is opened or changed: two indexed lookups, cheap enough to poll."""
        with self._read() as session:
            latest = session.scalar(select(func.max(Escalation.updated_at)))
            last_id = session.scalar(select(func.max(Escalation.id)))
        return f"{last_id or 0}-{_stamp(latest)}"

    def conversation_token(self, escalation_id: int) -> str:
        """Changes when the escalation, its conversation (new messages), its notes or its sends change."""
        with self._read() as session:
            row = session.execute(
                select(Escalation.version, Escalation.conversation_id, Conversation.updated_at)
                .join(Conversation, Conversation.id == Escalation.conversation_id)
                .where(Escalation.id == escalation_id)
            ).one_or_none()
            if row is None:
                raise NotFoundError(f"escalation {escalation_id}")
            version, conversation_id, updated_at = row
            notes = session.scalar(select(func.count(Note.id)).where(Note.conversation_id == conversation_id))
            messages = session.scalar(select(func.max(Message.id)).where(Message.conversation_id == conversation_id))
            sends = session.execute(
                select(func.count(Outbound.id), func.max(Outbound.id), func.sum(Outbound.attempts)).where(
                    Outbound.conversation_id == conversation_id, Outbound.status != OutboundStatus.SENT
                )
            ).one()
        return "-".join(str(part or 0) for part in (version, notes, messages, *sends, _stamp(updated_at)))

    def username(self, user_id: int) -> str | None:
        with self._read() as session:
            return username_of(session, user_id)

    def detail(self, escalation_id: int, history_limit: int = 200) -> EscalationDetail:
        with self._read() as session:
            row = found(session, Escalation, escalation_id, "escalation")
            escalation = EscalationRecord.from_row(row)
            conversation_row = found(session, Conversation, row.conversation_id, "conversation")
            message_rows = session.execute(
                select(Message, DecisionRow)
                .outerjoin(DecisionRow, DecisionRow.message_id == Message.id)
                .where(Message.conversation_id == row.conversation_id)
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(history_limit)
            ).all()
            messages = [MessageRecord.with_decision(message, decision) for message, decision in reversed(message_rows)]
            notes = [
                NoteRecord.from_row(note, username=username)
                for note, username in session.execute(
                    select(Note, User.username)
                    .outerjoin(User, User.id == Note.user_id)
                    .where(Note.conversation_id == row.conversation_id)
                    .order_by(Note.created_at, Note.id)
                ).all()
            ]
            undelivered = [
                OutboundRecord.from_row(out)
                for out in session.scalars(
                    select(Outbound)
                    .where(Outbound.conversation_id == row.conversation_id, Outbound.status != OutboundStatus.SENT)
                    .order_by(Outbound.created_at, Outbound.id)
                )
            ]
            feedback = [
                FeedbackRecord.from_row(f, username=username)
                for f, username in session.execute(
                    select(SuggestionFeedback, User.username)
                    .outerjoin(User, User.id == SuggestionFeedback.user_id)
                    .where(SuggestionFeedback.escalation_id == escalation_id)
                    .order_by(SuggestionFeedback.at, SuggestionFeedback.id)
                ).all()
            ]
            agent_ids = {m.agent_id for m in messages if m.agent_id is not None}
            agent_ids |= {o.agent_id for o in undelivered if o.agent_id is not None}
            if row.assigned_agent_id is not None:
                agent_ids.add(row.assigned_agent_id)
            agents = {
                int(user_id): str(username)
                for user_id, username in session.execute(
                    select(User.id, User.username).where(User.id.in_(agent_ids))
                ).all()
            }
        trigger = next((m for m in messages if m.id == escalation.message_id), None)
        if trigger is None and escalation.message_id is not None:
            trigger = self._message(escalation.message_id)
        return EscalationDetail(
            escalation=escalation,
            conversation=ConversationRecord.from_row(conversation_row),
            messages=messages,
            notes=notes,
            undelivered=undelivered,
            feedback=feedback,
            holder=agents.get(escalation.assigned_agent_id) if escalation.assigned_agent_id else None,
            agents=agents,
            trigger=trigger,
        )

    def _message(self, message_id: int) -> MessageRecord | None:
        with self._read() as session:
            found = session.execute(
                select(Message, DecisionRow)
                .outerjoin(DecisionRow, DecisionRow.message_id == Message.id)
                .where(Message.id == message_id)
            ).one_or_none()
            return MessageRecord.with_decision(found[0], found[1]) if found is not None else None
