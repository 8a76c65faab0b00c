"""What people add around an escalation: internal notes, verdicts on suggested answers, the content-gap candidates
their replies became, and the canned replies they pick from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select

from assistant.domain.messages import OutboundStatus
from assistant.errors import Conflict
from assistant.store.db import Transactions, added, found
from assistant.store.escalations import username_of
from assistant.store.records import CannedReplyRecord, FeedbackRecord, GapCandidateRecord, NoteRecord
from assistant.store.tables import (
    ALL_QUEUES,
    VERDICTS,
    CannedReply,
    Escalation,
    GapCandidate,
    Note,
    Outbound,
    SuggestionFeedback,
    utcnow,
)


class NoteStore(Transactions):
    """Notes, feedback, gap candidates and canned replies; each method is one short transaction."""

    def add_note(self, escalation_id: int, user_id: int | None, text: str) -> NoteRecord:
        with self._write() as session:
            escalation = found(session, Escalation, escalation_id, "escalation")
            note = Note(
                conversation_id=escalation.conversation_id,
                escalation_id=escalation_id,
                user_id=user_id,
                text=text,
                created_at=utcnow(),
            )
            return NoteRecord.from_row(added(session, note), username=username_of(session, user_id))

    def add_feedback(
        self, escalation_id: int, verdict: str, user_id: int | None, entry_id: str | None, comment: str | None
    ) -> FeedbackRecord:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {verdict!r}")
        with self._write() as session:
            found(session, Escalation, escalation_id, "escalation")
            row = SuggestionFeedback(
                escalation_id=escalation_id,
                verdict=verdict,
                user_id=user_id,
                entry_id=entry_id,
                comment=comment,
                at=utcnow(),
            )
            return FeedbackRecord.from_row(added(session, row), username=username_of(session, user_id))

    def gap_candidates(self, since: datetime | None = None, limit: int = 500) -> list[GapCandidateRecord]:
        query = select(GapCandidate).order_by(GapCandidate.at.desc(), GapCandidate.id.desc()).limit(limit)
        if since is not None:
            query = query.where(GapCandidate.at >= since)
        with self._read() as session:
            return [GapCandidateRecord.from_row(row) for row in session.scalars(query)]

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
            return CannedReplyRecord.from_row(row)

    def canned_replies(self, queue: str | None = None, language: str | None = None) -> list[CannedReplyRecord]:
        """Replies offered in `queue` (its own and the all-queue ones), optionally in one language."""
        query = select(CannedReply).order_by(CannedReply.shortcode, CannedReply.language, CannedReply.queue)
        if queue is not None:
            query = query.where(CannedReply.queue.in_((queue, ALL_QUEUES)))
        if language is not None:
            query = query.where(CannedReply.language == language)
        with self._read() as session:
            return [CannedReplyRecord.from_row(row) for row in session.scalars(query)]

    def canned_reply(self, reply_id: int) -> CannedReplyRecord | None:
        with self._read() as session:
            row = session.get(CannedReply, reply_id)
            return CannedReplyRecord.from_row(row) if row is not None else None

    def update_canned_reply(
        self, reply_id: int, shortcode: str, language: str, text: str, queue: str | None
    ) -> CannedReplyRecord | None:
        """Change one reply (None: there is none); moving it onto the key of another reply is a Conflict."""
        with self._write() as session:
            row = session.get(CannedReply, reply_id)
            if row is None:
                return None
            taken = session.scalar(
                select(CannedReply.id).where(
                    CannedReply.shortcode == shortcode,
                    CannedReply.language == language,
                    CannedReply.queue == (queue or ALL_QUEUES),
                    CannedReply.id != reply_id,
                )
            )
            if taken is not None:
                where = f"queue {queue}" if queue else "all queues"
                raise Conflict(f"there is already a canned reply /{shortcode} in {language} for {where}: edit that one")
            row.shortcode, row.language, row.queue, row.text = shortcode, language, queue or ALL_QUEUES, text
            row.updated_at = utcnow()
            session.flush()
            return CannedReplyRecord.from_row(row)

    def human_replied(self, escalation_id: int) -> bool:
        """Whether a person answered the customer since the escalation was opened: a delivered reply (its first
        response) or one reserved for delivery and not given up on."""
        with self._read() as session:
            escalation = found(session, Escalation, escalation_id, "escalation")
            if escalation.first_response_at is not None:
                return True
            reserved = exists().where(
                Outbound.conversation_id == escalation.conversation_id,
                Outbound.author == "agent",
                Outbound.status != OutboundStatus.DEAD.value,
                Outbound.created_at >= escalation.created_at,
            )
            return bool(session.scalar(select(reserved)))

    def delete_canned_reply(self, reply_id: int) -> bool:
        with self._write() as session:
            row = session.get(CannedReply, reply_id)
            if row is None:
                return False
            session.delete(row)
            return True
