"""Escalations, from opening to settling: who works one (claim, assignment, transfer, priority), a person's reply,
who owns the conversation (bot, waiting, person, closed), the helpdesk push and the SLA beat's queries.

Every change of an escalation's holder or status, and of a conversation's owner, goes through the methods of
`EscalationStore`, which lock the rows and apply the pure rules (`assistant.domain.assignment.check_claim`,
`assistant.domain.handoff.check_transition`) inside the transaction: there is no second path that could skip them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import case, select, text, update
from sqlalchemy.orm import Session

from assistant.domain.assignment import ClaimCheck, check_claim
from assistant.domain.handoff import check_transition, ends_escalation
from assistant.domain.messages import EscalationStatus, HandoffState, Priority
from assistant.store.db import Transactions, insert_if_new
from assistant.store.errors import ClaimConflictError, NotFoundError
from assistant.store.outbound import reserve_row
from assistant.store.records import (
    ConversationRecord,
    EscalationRecord,
    HandoffChange,
    OutboundRecord,
    ReplyReservation,
)
from assistant.store.tables import (
    ACTIVE_ESCALATION_STATUSES,
    Conversation,
    Escalation,
    GapCandidate,
    Message,
    Outbound,
    User,
    in_list,
    utc_literal,
    utcnow,
)

# Escalations whose reply from a person is a candidate answer for the content-gap report (issue 5).
GAP_REASONS = ("out_of_scope", "low_confidence")
# How often open_escalation retries when the escalation it collided with was resolved in between (PostgreSQL).
_ESCALATION_ATTEMPTS = 5

_Row = TypeVar("_Row", Conversation, Escalation)


def username_of(session: Session, user_id: int | None) -> str | None:
    """The username of a user id, in the caller's transaction (None for None or a deleted user)."""
    if user_id is None:
        return None
    return session.scalar(select(User.username).where(User.id == user_id))


def _locked(session: Session, model: type[_Row], row_id: int, what: str) -> _Row:
    """The row, locked until the transaction ends (FOR UPDATE on PostgreSQL; SQLite writers hold the database
    lock from BEGIN IMMEDIATE), read fresh rather than from the session's cache."""
    row = session.scalars(
        select(model).where(model.id == row_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"{what} {row_id}")
    return row


def _change(row: Escalation, now: datetime, **values: Any) -> None:
    """Change a locked escalation; every change also bumps its version and updated_at (pollers, version checks)."""
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = now
    row.version += 1


def _hand_over(conversation: Conversation, target: HandoffState) -> None:
    """Give a locked conversation to `target`, if `check_transition` allows the move. Back to the bot or closed:
    nobody is assigned any more, and the bot starts afresh (it may ask to rephrase and send a holding reply)."""
    check_transition(HandoffState(conversation.handoff), target)
    conversation.handoff = target.value
    if ends_escalation(target):
        conversation.assigned_agent = None
        if target == HandoffState.BOT:
            conversation.rephrase_asked = False
            conversation.holding_reply_sent = False
    conversation.updated_at = utcnow()


class EscalationStore(Transactions):
    """Escalations and the conversation ownership that goes with them; each method is one short transaction."""

    def open_escalation(
        self,
        conversation_id: int,
        message_id: int | None,
        queue: str,
        priority: int,
        reason: str,
        suggested_answer: str | None,
        sla_due_at: datetime,
        *,
        at: datetime | None = None,
    ) -> int:
        """The conversation's escalation id: a new one, or the one already open/claimed.

        An existing escalation keeps its reason and queue, but a higher priority raises it and an earlier
        SLA pulls its due time forward. A partial unique index makes two open escalations impossible.
        """
        priority = int(Priority(priority))
        active = text(in_list("status", ACTIVE_ESCALATION_STATUSES))
        for _ in range(_ESCALATION_ATTEMPTS):
            with self._write() as session:
                values = {
                    "conversation_id": conversation_id,
                    "message_id": message_id,
                    "queue": queue,
                    "priority": priority,
                    "reason": str(reason),
                    "suggested_answer": suggested_answer,
                    "status": EscalationStatus.OPEN.value,
                    "sla_due_at": sla_due_at,
                    "created_at": at or utcnow(),
                    "updated_at": utcnow(),
                    "version": 1,
                }
                new_id = insert_if_new(session, self._insert(Escalation), ["conversation_id"], values, where=active)
                if new_id is not None:
                    return new_id
                due = utc_literal(sla_due_at)
                existing_id = session.execute(
                    update(Escalation)
                    .where(
                        Escalation.conversation_id == conversation_id,
                        Escalation.status.in_(ACTIVE_ESCALATION_STATUSES),
                    )
                    .values(
                        priority=case((Escalation.priority < priority, priority), else_=Escalation.priority),
                        sla_due_at=case((Escalation.sla_due_at > due, due), else_=Escalation.sla_due_at),
                        # A new customer message in a worked escalation is news for the console's pollers.
                        updated_at=utcnow(),
                        version=Escalation.version + 1,
                    )
                    .returning(Escalation.id)
                ).scalar_one_or_none()
                if existing_id is not None:
                    return int(existing_id)
            # The escalation we collided with was resolved in between: try again.
        raise RuntimeError(f"could not open an escalation for conversation {conversation_id}")

    # The one write path for who works an escalation and who owns its conversation

    def claim(
        self, escalation_id: int, agent_id: int, username: str, expected_version: int | None = None
    ) -> tuple[EscalationRecord, bool]:
        """(escalation, changed): open → claimed by this agent, who becomes the conversation's assigned agent.
        Claiming what you already hold changes nothing; what `check_claim` refuses raises ClaimConflictError."""
        with self._write() as session:
            conversation, row = self._lock(session, escalation_id)
            if self._guard(session, row, agent_id).outcome == "already_yours":
                return EscalationRecord.from_row(row), False
            self._check_version(session, row, expected_version)
            now = utcnow()
            _change(row, now, status=EscalationStatus.CLAIMED.value, assigned_agent_id=agent_id, claimed_at=now)
            conversation.assigned_agent = username
            conversation.updated_at = now
            session.flush()
            return EscalationRecord.from_row(row), True

    def assign(self, escalation_id: int, agent_id: int, username: str) -> bool:
        """Automatic assignment: only an escalation still open and unheld is given; False when someone was faster."""
        try:
            record, _ = self.claim(escalation_id, agent_id, username)
        except ClaimConflictError:
            return False
        return record.assigned_agent_id == agent_id

    def set_priority(
        self, escalation_id: int, priority: Priority, sla_due_at: datetime, expected_version: int | None = None
    ) -> EscalationRecord:
        """A new priority; the SLA due time only moves earlier (a lower priority never buys more time)."""
        with self._write() as session:
            row = self._guarded(session, escalation_id, None, expected_version)
            _change(row, utcnow(), priority=int(priority), sla_due_at=min(sla_due_at, row.sla_due_at))
            session.flush()
            return EscalationRecord.from_row(row)

    def transfer(self, escalation_id: int, queue: str, expected_version: int | None = None) -> EscalationRecord:
        """To another queue, where it waits unheld for someone of that queue."""
        with self._write() as session:
            row = self._guarded(session, escalation_id, None, expected_version)
            _change(
                row, utcnow(), queue=queue, status=EscalationStatus.OPEN.value, assigned_agent_id=None, claimed_at=None
            )
            session.flush()
            return EscalationRecord.from_row(row)

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
        in one transaction. `agent_id` set: refused when another person holds it (`check_claim`)."""
        if not ends_escalation(handoff):
            raise ValueError(f"settling hands the conversation to the bot or closes it, not {handoff.value}")
        with self._write() as session:
            conversation, row = self._lock(session, escalation_id)
            self._guard(session, row, agent_id)
            self._check_version(session, row, expected_version)
            _hand_over(conversation, handoff)
            _change(row, utcnow(), status=EscalationStatus.RESOLVED.value, resolved_at=at or utcnow())
            session.flush()
            return EscalationRecord.from_row(row)

    def set_handoff(self, conversation_id: int, target: HandoffState, *, at: datetime | None = None) -> HandoffChange:
        """Move a conversation to `target` (`check_transition` decides whether it may); back to the bot or closed
        also settles its active escalation. Every owner change of a conversation goes through here or through
        claim/settle/reserve_reply, which share the same checks."""
        with self._write() as session:
            conversation = _locked(session, Conversation, conversation_id, "conversation")
            before = HandoffState(conversation.handoff)
            _hand_over(conversation, target)  # raises HandoffTransitionError before anything is written
            settled: list[Escalation] = []
            if ends_escalation(target):
                settled = list(
                    session.scalars(
                        select(Escalation)
                        .where(
                            Escalation.conversation_id == conversation_id,
                            Escalation.status.in_(ACTIVE_ESCALATION_STATUSES),
                        )
                        .with_for_update()
                        .execution_options(populate_existing=True)
                    )
                )
                for row in settled:
                    _change(row, utcnow(), status=EscalationStatus.RESOLVED.value, resolved_at=at or utcnow())
            session.flush()
            return HandoffChange(
                before,
                ConversationRecord.from_row(conversation),
                tuple(EscalationRecord.from_row(row) for row in settled),
            )

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
        (if it was open; `check_claim` refuses one held by another), the conversation is owned by a person (the
        bot stays silent), the outbound row is reserved under the key (the same key again returns the first row,
        nothing new), and a reply to an out-of-scope question is kept as a content-gap candidate."""
        with self._write() as session:
            existing = session.scalars(
                select(Outbound).where(Outbound.idempotency_key == idempotency_key)
            ).one_or_none()
            if existing is not None:
                current = session.get(Escalation, escalation_id)
                if current is None:
                    raise NotFoundError(f"escalation {escalation_id}")
                return ReplyReservation(OutboundRecord.from_row(existing), False, EscalationRecord.from_row(current))
            conversation, row = self._lock(session, escalation_id)
            self._guard(session, row, agent_id)
            self._check_version(session, row, expected_version)
            now = utcnow()
            _change(
                row,
                now,
                status=EscalationStatus.CLAIMED.value,
                assigned_agent_id=agent_id,
                claimed_at=row.claimed_at or now,
            )
            _hand_over(conversation, HandoffState.HUMAN)
            conversation.assigned_agent = username
            outbound, _ = reserve_row(
                session,
                self._insert(Outbound),
                idempotency_key=idempotency_key,
                conversation_id=conversation.id,
                message_id=None,
                platform=conversation.platform,
                mode=mode,
                text=text,
                created_at=now,
                author="agent",
                agent_id=agent_id,
            )
            if row.reason in gap_reasons:
                question = session.get(Message, row.message_id) if row.message_id else None
                if question is not None:
                    session.add(
                        GapCandidate(
                            escalation_id=row.id,
                            conversation_id=conversation.id,
                            question=question.text,
                            language=question.language or conversation.language,
                            reply=text,
                            reason=row.reason,
                            user_id=agent_id,
                            at=now,
                        )
                    )
            session.flush()
            return ReplyReservation(OutboundRecord.from_row(outbound), True, EscalationRecord.from_row(row))

    def _lock(self, session: Session, escalation_id: int) -> tuple[Conversation, Escalation]:
        """The escalation and its conversation, locked in that order everywhere (conversation first), so two
        transactions changing both never wait on each other in a circle."""
        conversation_id = session.scalar(select(Escalation.conversation_id).where(Escalation.id == escalation_id))
        if conversation_id is None:
            raise NotFoundError(f"escalation {escalation_id}")
        conversation = _locked(session, Conversation, conversation_id, "conversation")
        return conversation, _locked(session, Escalation, escalation_id, "escalation")

    def _guarded(
        self, session: Session, escalation_id: int, agent_id: int | None, expected_version: int | None
    ) -> Escalation:
        row = _locked(session, Escalation, escalation_id, "escalation")
        self._guard(session, row, agent_id)
        self._check_version(session, row, expected_version)
        return row

    @staticmethod
    def _guard(session: Session, row: Escalation, agent_id: int | None) -> ClaimCheck:
        """`check_claim` on the locked row: the one rule for who may act on an escalation."""
        check = check_claim(row.status, row.assigned_agent_id, agent_id)
        if check.allowed:
            return check
        holder = username_of(session, row.assigned_agent_id)
        if check.outcome == "resolved":
            message = f"escalation {row.id} is already resolved"
        else:
            message = f"escalation {row.id} is held by {holder}"
        raise ClaimConflictError(check.outcome, message, EscalationRecord.from_row(row), holder)

    @staticmethod
    def _check_version(session: Session, row: Escalation, expected_version: int | None) -> None:
        if expected_version is None or row.version == expected_version:
            return
        raise ClaimConflictError(
            "stale",
            f"escalation {row.id} changed since you loaded it (version {expected_version}, now {row.version})",
            EscalationRecord.from_row(row),
            username_of(session, row.assigned_agent_id),
        )
