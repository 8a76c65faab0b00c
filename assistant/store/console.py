"""What the agent console reads and changes: queues and their escalations (ordered, counted, claimed, moved),
internal notes, canned replies, feedback on suggested answers and content-gap candidates, as plain records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    case,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from assistant.errors import Conflict
from assistant.messages import HandoffState, Priority

# A module reference, not `import User`: models.py imports this module while accounts may still be loading.
from assistant.store import accounts
from assistant.store.db import Transactions
from assistant.store.models import (
    ACTIVE_ESCALATION_STATUSES,
    Base,
    Conversation,
    DecisionRow,
    Escalation,
    Message,
    Outbound,
    UTCDateTime,
    in_list,
    utcnow,
)
from assistant.store.repository import (
    ConversationRecord,
    EscalationRecord,
    MessageRecord,
    NotFoundError,
    OutboundRecord,
    _conversation_record,
    _escalation_record,
    _message_record,
    _outbound_record,
    _utc,
)

VERDICTS = ("right", "wrong", "missing")
# Escalations whose reply from a person is a candidate answer for the content-gap report (issue 5).
GAP_REASONS = ("out_of_scope", "low_confidence")
# What a queue page can show: the work still to do (default), one side of it, or what was settled.
LIST_FILTERS = ("active", "open", "claimed", "mine", "breached", "resolved")
ALL_QUEUES = ""  # canned_replies.queue for a reply offered in every queue


class Note(Base):
    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_conversation_created", "conversation_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CannedReply(Base):
    __tablename__ = "canned_replies"
    __table_args__ = (
        UniqueConstraint("shortcode", "language", "queue", name="uq_canned_replies_shortcode_language_queue"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shortcode: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(64), default=ALL_QUEUES)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SuggestionFeedback(Base):
    __tablename__ = "suggestion_feedback"
    __table_args__ = (
        CheckConstraint(in_list("verdict", VERDICTS), name="verdict"),
        Index("ix_suggestion_feedback_at", "at"),
        Index("ix_suggestion_feedback_escalation_id", "escalation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"))
    verdict: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entry_id: Mapped[str | None] = mapped_column(String(255))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GapCandidate(Base):
    __tablename__ = "gap_candidates"
    __table_args__ = (Index("ix_gap_candidates_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="SET NULL"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    reply: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ClaimConflictError(Conflict):
    """The escalation is not in the state the caller acted on; `current` is what it is now.

    kind: "stale" (the version moved on), "held" (another person holds it), "resolved" (already settled).
    """

    def __init__(self, kind: str, message: str, current: EscalationRecord, holder: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.current = current
        self.holder = holder


ConflictError = ClaimConflictError  # the old name, importable until nothing uses it; KbConflictError is the KB's


@dataclass(frozen=True)
class QueueCounts:
    queue: str
    open: int = 0  # waiting for someone to take it
    claimed: int = 0
    breached: int = 0  # active and past its SLA without a first response
    next_due_at: datetime | None = None  # the earliest SLA due time among unanswered active ones

    @property
    def active(self) -> int:
        return self.open + self.claimed


@dataclass(frozen=True)
class EscalationListItem:
    """One row of a queue page: the escalation with just enough of its conversation to choose it."""

    escalation: EscalationRecord
    platform: str
    sender_name: str | None
    language: str | None
    handoff: HandoffState
    preview: str | None  # the message that raised it
    holder: str | None  # username of the person holding it


@dataclass(frozen=True)
class EscalationPage:
    items: list[EscalationListItem]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class NoteRecord:
    id: int
    conversation_id: int
    escalation_id: int | None
    user_id: int | None
    username: str | None
    text: str
    created_at: datetime


@dataclass(frozen=True)
class CannedReplyRecord:
    id: int
    shortcode: str
    language: str
    queue: str | None  # None: offered in every queue
    text: str
    updated_at: datetime


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    escalation_id: int
    verdict: str
    user_id: int | None
    username: str | None
    entry_id: str | None
    comment: str | None
    at: datetime


@dataclass(frozen=True)
class GapCandidateRecord:
    id: int
    escalation_id: int | None
    conversation_id: int | None
    question: str
    language: str | None
    reply: str
    reason: str
    user_id: int | None
    at: datetime


@dataclass(frozen=True)
class EscalationDetail:
    """Everything the conversation view shows: the thread with the engine's decisions, notes and sends."""

    escalation: EscalationRecord
    conversation: ConversationRecord
    messages: list[MessageRecord]
    notes: list[NoteRecord]
    # Replies reserved but not (yet) delivered: a person's reply is visible, with its status, before it arrives.
    undelivered: list[OutboundRecord]
    feedback: list[FeedbackRecord]
    holder: str | None
    agents: dict[int, str]  # user id → username, for agent messages in the thread
    trigger: MessageRecord | None  # the message that raised the escalation, with its decision


@dataclass(frozen=True)
class ReplyReservation:
    outbound: OutboundRecord
    created: bool
    escalation: EscalationRecord


def _note_record(row: Note, username: str | None) -> NoteRecord:
    return NoteRecord(
        id=row.id,
        conversation_id=row.conversation_id,
        escalation_id=row.escalation_id,
        user_id=row.user_id,
        username=username,
        text=row.text,
        created_at=row.created_at,
    )


def _canned_record(row: CannedReply) -> CannedReplyRecord:
    return CannedReplyRecord(
        id=row.id,
        shortcode=row.shortcode,
        language=row.language,
        queue=row.queue or None,
        text=row.text,
        updated_at=row.updated_at,
    )


def _gap_record(row: GapCandidate) -> GapCandidateRecord:
    return GapCandidateRecord(
        id=row.id,
        escalation_id=row.escalation_id,
        conversation_id=row.conversation_id,
        question=row.question,
        language=row.language,
        reply=row.reply,
        reason=row.reason,
        user_id=row.user_id,
        at=row.at,
    )


def _username(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return session.scalar(select(accounts.User.username).where(accounts.User.id == user_id))


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
    """What every change to an escalation also writes: pollers and version checks see it."""
    return {"updated_at": now or utcnow(), "version": Escalation.version + 1}


class ConsoleStore(Transactions):
    """The console's queries and changes, each one short transaction; changes to an escalation are conditional
    UPDATEs (on its status, holder and, when given, version), so concurrent agents cannot overwrite each other."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)

    # Queues

    def queue_counts(self, now: datetime | None = None) -> dict[str, QueueCounts]:
        """Per queue with active escalations: open, claimed, breached (flagged, or past due and unanswered)."""
        now = now or utcnow()
        unanswered = Escalation.first_response_at.is_(None)
        breached = (Escalation.sla_breached_at.is_not(None)) | (unanswered & (Escalation.sla_due_at < now))
        query = (
            select(
                Escalation.queue,
                func.sum(case((Escalation.status == "open", 1), else_=0)),
                func.sum(case((Escalation.status == "claimed", 1), else_=0)),
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
            conditions += [Escalation.status == "claimed", Escalation.assigned_agent_id == agent_id]
        elif show == "breached":
            conditions += [
                Escalation.status.in_(ACTIVE_ESCALATION_STATUSES),
                (Escalation.sla_breached_at.is_not(None))
                | (Escalation.first_response_at.is_(None) & (Escalation.sla_due_at < (now or utcnow()))),
            ]
        else:
            conditions.append(Escalation.status == show)
        order: list[Any] = (
            [Escalation.resolved_at.desc(), Escalation.id.desc()]
            if show == "resolved"
            else [Escalation.priority.desc(), Escalation.sla_due_at.asc(), Escalation.id.asc()]
        )
        page = max(1, page)
        query = (
            select(
                Escalation,
                Conversation.platform,
                Conversation.sender_name,
                func.coalesce(Conversation.language, Message.language),
                Conversation.handoff,
                Message.text,
                accounts.User.username,
            )
            .join(Conversation, Conversation.id == Escalation.conversation_id)
            .outerjoin(Message, Message.id == Escalation.message_id)
            .outerjoin(accounts.User, accounts.User.id == Escalation.assigned_agent_id)
            .where(*conditions)
            .order_by(*order)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        with self._read() as session:
            total = int(session.scalar(select(func.count(Escalation.id)).where(*conditions)) or 0)
            rows = session.execute(query).all()
        items = [
            EscalationListItem(
                escalation=_escalation_record(row),
                platform=platform,
                sender_name=sender_name,
                language=language,
                handoff=HandoffState(handoff),
                preview=text[:200] if text else None,
                holder=username,
            )
            for row, platform, sender_name, language, handoff, text, username in rows
        ]
        return EscalationPage(items, total, page, per_page)

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
                    Outbound.conversation_id == conversation_id, Outbound.status != "sent"
                )
            ).one()
        return "-".join(str(part or 0) for part in (version, notes, messages, *sends, _stamp(updated_at)))

    # One escalation

    def escalation(self, escalation_id: int) -> EscalationRecord:
        with self._read() as session:
            row = session.get(Escalation, escalation_id)
            if row is None:
                raise NotFoundError(f"escalation {escalation_id}")
            return _escalation_record(row)

    def username(self, user_id: int) -> str | None:
        with self._read() as session:
            return _username(session, user_id)

    def detail(self, escalation_id: int, history_limit: int = 200) -> EscalationDetail:
        with self._read() as session:
            row = session.get(Escalation, escalation_id)
            if row is None:
                raise NotFoundError(f"escalation {escalation_id}")
            escalation = _escalation_record(row)
            conversation_row = session.get(Conversation, row.conversation_id)
            if conversation_row is None:
                raise NotFoundError(f"conversation {row.conversation_id}")
            message_rows = session.execute(
                select(Message, DecisionRow)
                .outerjoin(DecisionRow, DecisionRow.message_id == Message.id)
                .where(Message.conversation_id == row.conversation_id)
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(history_limit)
            ).all()
            messages = [_message_record(message, decision) for message, decision in reversed(message_rows)]
            notes = [
                _note_record(note, username)
                for note, username in session.execute(
                    select(Note, accounts.User.username)
                    .outerjoin(accounts.User, accounts.User.id == Note.user_id)
                    .where(Note.conversation_id == row.conversation_id)
                    .order_by(Note.created_at, Note.id)
                ).all()
            ]
            undelivered = [
                _outbound_record(out)
                for out in session.scalars(
                    select(Outbound)
                    .where(Outbound.conversation_id == row.conversation_id, Outbound.status != "sent")
                    .order_by(Outbound.created_at, Outbound.id)
                )
            ]
            feedback = [
                FeedbackRecord(f.id, f.escalation_id, f.verdict, f.user_id, username, f.entry_id, f.comment, f.at)
                for f, username in session.execute(
                    select(SuggestionFeedback, accounts.User.username)
                    .outerjoin(accounts.User, accounts.User.id == SuggestionFeedback.user_id)
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
                    select(accounts.User.id, accounts.User.username).where(accounts.User.id.in_(agent_ids))
                ).all()
            }
        trigger = next((m for m in messages if m.id == escalation.message_id), None)
        if trigger is None and escalation.message_id is not None:
            trigger = self._message(escalation.message_id)
        return EscalationDetail(
            escalation=escalation,
            conversation=_conversation_record(conversation_row),
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
            return _message_record(found[0], found[1]) if found is not None else None

    def _conflict(
        self, session: Session, escalation_id: int, expected_version: int | None, agent_id: int | None
    ) -> ClaimConflictError:
        """Why a conditional UPDATE matched nothing, read in the same transaction."""
        row = session.execute(
            select(Escalation).where(Escalation.id == escalation_id).execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"escalation {escalation_id}")
        current = _escalation_record(row)
        holder = None
        if row.assigned_agent_id is not None:
            holder = session.scalar(select(accounts.User.username).where(accounts.User.id == row.assigned_agent_id))
        if row.status == "resolved":
            return ClaimConflictError("resolved", f"escalation {escalation_id} is already resolved", current, holder)
        if row.status == "claimed" and agent_id is not None and row.assigned_agent_id != agent_id:
            return ClaimConflictError("held", f"escalation {escalation_id} is held by {holder}", current, holder)
        if expected_version is not None and row.version != expected_version:
            return ClaimConflictError(
                "stale",
                f"escalation {escalation_id} changed since you loaded it "
                f"(version {expected_version}, now {row.version})",
                current,
                holder,
            )
        return ClaimConflictError("stale", f"escalation {escalation_id} is {row.status}", current, holder)

    def _change(
        self,
        escalation_id: int,
        values: dict[str, Any],
        *,
        expected_version: int | None,
        conditions: Sequence[Any] = (),
        agent_id: int | None = None,
        session: Session | None = None,
    ) -> EscalationRecord:
        def run(s: Session) -> EscalationRecord:
            where = [Escalation.id == escalation_id, *conditions]
            if expected_version is not None:
                where.append(Escalation.version == expected_version)
            changed = s.execute(
                update(Escalation).where(*where).values(**values, **_bump()).returning(Escalation.id)
            ).scalar_one_or_none()
            if changed is None:
                raise self._conflict(s, escalation_id, expected_version, agent_id)
            row = s.execute(
                select(Escalation).where(Escalation.id == escalation_id).execution_options(populate_existing=True)
            ).scalar_one()
            return _escalation_record(row)

        if session is not None:
            return run(session)
        with self._write() as own:
            return run(own)

    def claim(
        self, escalation_id: int, agent_id: int, username: str, expected_version: int | None = None
    ) -> tuple[EscalationRecord, bool]:
        """(escalation, changed): open → claimed by this agent. Claiming what you already hold changes nothing;
        anything else raises ClaimConflictError. One conditional UPDATE: of two racing agents exactly one wins."""
        with self._write() as session:
            try:
                record = self._change(
                    escalation_id,
                    {"status": "claimed", "assigned_agent_id": agent_id, "claimed_at": utcnow()},
                    expected_version=expected_version,
                    conditions=[Escalation.status == "open"],
                    agent_id=agent_id,
                    session=session,
                )
            except ClaimConflictError as conflict:
                if conflict.current.status == "claimed" and conflict.current.assigned_agent_id == agent_id:
                    return conflict.current, False
                raise
            session.execute(
                update(Conversation)
                .where(Conversation.id == record.conversation_id)
                .values(assigned_agent=username, updated_at=utcnow())
            )
            return record, True

    def assign(self, escalation_id: int, agent_id: int, username: str) -> bool:
        """Automatic assignment: only an escalation still open and unheld is given; False when someone was faster."""
        try:
            self.claim(escalation_id, agent_id, username)
        except ClaimConflictError:
            return False
        return self.escalation(escalation_id).assigned_agent_id == agent_id

    def set_priority(
        self, escalation_id: int, priority: Priority, sla_due_at: datetime, expected_version: int | None = None
    ) -> EscalationRecord:
        """A new priority; the SLA due time only moves earlier (a lower priority never buys more time)."""
        due = min(sla_due_at, self.escalation(escalation_id).sla_due_at)
        return self._change(
            escalation_id,
            {"priority": int(priority), "sla_due_at": due},
            expected_version=expected_version,
            conditions=[Escalation.status.in_(ACTIVE_ESCALATION_STATUSES)],
        )

    def transfer(self, escalation_id: int, queue: str, expected_version: int | None = None) -> EscalationRecord:
        """To another queue, where it waits unheld for someone of that queue."""
        return self._change(
            escalation_id,
            {"queue": queue, "status": "open", "assigned_agent_id": None, "claimed_at": None},
            expected_version=expected_version,
            conditions=[Escalation.status.in_(ACTIVE_ESCALATION_STATUSES)],
        )

    def settle(
        self,
        escalation_id: int,
        handoff: HandoffState,
        *,
        expected_version: int | None = None,
        agent_id: int | None = None,
        at: datetime | None = None,
    ) -> EscalationRecord:
        """Resolve the escalation and give the conversation to `handoff` (CLOSED: resolved; BOT: handed back),
        in one transaction. `agent_id` set: refused when another person holds it."""
        conditions: list[Any] = [Escalation.status.in_(ACTIVE_ESCALATION_STATUSES)]
        if agent_id is not None:
            conditions.append((Escalation.assigned_agent_id.is_(None)) | (Escalation.assigned_agent_id == agent_id))
        with self._write() as session:
            record = self._change(
                escalation_id,
                {"status": "resolved", "resolved_at": at or utcnow()},
                expected_version=expected_version,
                conditions=conditions,
                agent_id=agent_id,
                session=session,
            )
            values: dict[str, Any] = {"handoff": handoff.value, "assigned_agent": None, "updated_at": utcnow()}
            if handoff == HandoffState.BOT:
                # The bot starts afresh: it may ask to rephrase and send a holding reply again.
                values.update(rephrase_asked=False, holding_reply_sent=False)
            session.execute(update(Conversation).where(Conversation.id == record.conversation_id).values(**values))
            return record

    # A person's reply

    def reserve_reply(
        self,
        escalation_id: int,
        agent_id: int,
        username: str,
        idempotency_key: str,
        text: str,
        mode: str,
        *,
        expected_version: int | None = None,
        gap_reasons: Sequence[str] = GAP_REASONS,
    ) -> ReplyReservation:
        """Reserve a person's reply for delivery, in one transaction: the escalation is claimed by the sender
        (if it was open), the conversation is owned by a person (the bot stays silent), the outbound row is
        reserved under the key (the same key again returns the first row, nothing new), and a reply to an
        out-of-scope question is kept as a content-gap candidate."""
        with self._write() as session:
            existing = session.scalars(
                select(Outbound).where(Outbound.idempotency_key == idempotency_key)
            ).one_or_none()
            if existing is not None:
                current = session.get(Escalation, escalation_id)
                if current is None:
                    raise NotFoundError(f"escalation {escalation_id}")
                return ReplyReservation(_outbound_record(existing), False, _escalation_record(current))
            escalation = self._change(
                escalation_id,
                {
                    "status": "claimed",
                    "assigned_agent_id": agent_id,
                    "claimed_at": func.coalesce(Escalation.claimed_at, _utc(utcnow())),
                },
                expected_version=expected_version,
                conditions=[
                    Escalation.status.in_(ACTIVE_ESCALATION_STATUSES),
                    (Escalation.assigned_agent_id.is_(None)) | (Escalation.assigned_agent_id == agent_id),
                ],
                agent_id=agent_id,
                session=session,
            )
            conversation = session.get(Conversation, escalation.conversation_id)
            if conversation is None:
                raise NotFoundError(f"conversation {escalation.conversation_id}")
            insert = pg_insert(Outbound) if self._postgres else sqlite_insert(Outbound)
            session.execute(
                insert.values(
                    idempotency_key=idempotency_key,
                    conversation_id=conversation.id,
                    message_id=None,
                    platform=conversation.platform,
                    mode=mode,
                    text=text,
                    author="agent",
                    agent_id=agent_id,
                    status="pending",
                    attempts=0,
                    created_at=utcnow(),
                ).on_conflict_do_nothing(index_elements=["idempotency_key"])
            )
            outbound = session.scalars(select(Outbound).where(Outbound.idempotency_key == idempotency_key)).one()
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation.id)
                .values(handoff=HandoffState.HUMAN.value, assigned_agent=username, updated_at=utcnow())
            )
            if escalation.reason in gap_reasons:
                question = session.get(Message, escalation.message_id) if escalation.message_id else None
                if question is not None:
                    session.add(
                        GapCandidate(
                            escalation_id=escalation.id,
                            conversation_id=conversation.id,
                            question=question.text,
                            language=question.language or conversation.language,
                            reply=text,
                            reason=escalation.reason,
                            user_id=agent_id,
                            at=utcnow(),
                        )
                    )
            return ReplyReservation(_outbound_record(outbound), True, escalation)

    # Notes, feedback, gap candidates

    def add_note(self, escalation_id: int, user_id: int | None, text: str) -> NoteRecord:
        with self._write() as session:
            escalation = session.get(Escalation, escalation_id)
            if escalation is None:
                raise NotFoundError(f"escalation {escalation_id}")
            note = Note(
                conversation_id=escalation.conversation_id,
                escalation_id=escalation_id,
                user_id=user_id,
                text=text,
                created_at=utcnow(),
            )
            session.add(note)
            session.flush()
            username = _username(session, user_id)
            return _note_record(note, username)

    def add_feedback(
        self, escalation_id: int, verdict: str, user_id: int | None, entry_id: str | None, comment: str | None
    ) -> FeedbackRecord:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {verdict!r}")
        with self._write() as session:
            if session.get(Escalation, escalation_id) is None:
                raise NotFoundError(f"escalation {escalation_id}")
            row = SuggestionFeedback(
                escalation_id=escalation_id,
                verdict=verdict,
                user_id=user_id,
                entry_id=entry_id,
                comment=comment,
                at=utcnow(),
            )
            session.add(row)
            session.flush()
            username = _username(session, user_id)
            return FeedbackRecord(row.id, escalation_id, verdict, user_id, username, entry_id, comment, row.at)

    def feedback_counts(self, since: datetime) -> dict[str, int]:
        query = (
            select(SuggestionFeedback.verdict, func.count())
            .where(SuggestionFeedback.at >= since)
            .group_by(SuggestionFeedback.verdict)
        )
        with self._read() as session:
            return {str(verdict): int(count) for verdict, count in session.execute(query).all()}

    def gap_candidates(self, since: datetime | None = None, limit: int = 500) -> list[GapCandidateRecord]:
        query = select(GapCandidate).order_by(GapCandidate.at.desc(), GapCandidate.id.desc()).limit(limit)
        if since is not None:
            query = query.where(GapCandidate.at >= since)
        with self._read() as session:
            return [_gap_record(row) for row in session.scalars(query)]

    # Canned replies

    def save_canned_reply(
        self, shortcode: str, language: str, text: str, queue: str | None = None, user_id: int | None = None
    ) -> CannedReplyRecord:
        """Create or replace the reply for (shortcode, language, queue); queue None offers it in every queue."""
        now = utcnow()
        where = (
            CannedReply.shortcode == shortcode,
            CannedReply.language == language,
            CannedReply.queue == (queue or ALL_QUEUES),
        )
        with self._write() as session:
            row = session.scalars(select(CannedReply).where(*where)).one_or_none()
            if row is None:
                row = CannedReply(
                    shortcode=shortcode,
                    language=language,
                    queue=queue or ALL_QUEUES,
                    text=text,
                    created_by=user_id,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
            else:
                row.text = text
                row.updated_at = now
            session.flush()
            return _canned_record(row)

    def canned_replies(self, queue: str | None = None, language: str | None = None) -> list[CannedReplyRecord]:
        """Replies offered in `queue` (its own and the all-queue ones), optionally in one language."""
        query = select(CannedReply).order_by(CannedReply.shortcode, CannedReply.language, CannedReply.queue)
        if queue is not None:
            query = query.where(CannedReply.queue.in_((queue, ALL_QUEUES)))
        if language is not None:
            query = query.where(CannedReply.language == language)
        with self._read() as session:
            return [_canned_record(row) for row in session.scalars(query)]

    def delete_canned_reply(self, reply_id: int) -> bool:
        with self._write() as session:
            row = session.get(CannedReply, reply_id)
            if row is None:
                return False
            session.delete(row)
            return True

    # Beat: SLA breaches and automatic assignment

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
            return [_escalation_record(row) for row in flagged]

    def breach_counts(self, since: datetime) -> dict[str, int]:
        """SLA breaches flagged since `since`, per queue (for reports)."""
        query = (
            select(Escalation.queue, func.count()).where(Escalation.sla_breached_at >= since).group_by(Escalation.queue)
        )
        with self._read() as session:
            return {str(queue): int(count) for queue, count in session.execute(query).all()}

    def unassigned(self, limit: int = 200) -> list[EscalationRecord]:
        """Open escalations nobody holds, in queue order (most urgent, earliest due first)."""
        query = (
            select(Escalation)
            .where(Escalation.status == "open", Escalation.assigned_agent_id.is_(None))
            .order_by(Escalation.priority.desc(), Escalation.sla_due_at.asc(), Escalation.id.asc())
            .limit(limit)
        )
        with self._read() as session:
            return [_escalation_record(row) for row in session.scalars(query)]

    def agent_loads(self) -> dict[int, int]:
        """How many escalations each person holds now."""
        query = (
            select(Escalation.assigned_agent_id, func.count())
            .where(Escalation.status == "claimed", Escalation.assigned_agent_id.is_not(None))
            .group_by(Escalation.assigned_agent_id)
        )
        with self._read() as session:
            return {int(agent): int(count) for agent, count in session.execute(query).all() if agent is not None}
