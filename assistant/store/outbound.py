"""Idempotent sends: one outbound row per intended send (a retried task finds the row instead of sending again),
moved through its statuses by compare-and-set UPDATEs so that exactly one caller may call the platform."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.orm import Session

from assistant.domain.messages import Choice, OutboundStatus
from assistant.store.db import Transactions, insert_if_new
from assistant.store.records import OutboundRecord
from assistant.store.tables import SENDABLE_OUTBOUND_STATUSES, Outbound, utcnow

# Platform error bodies can be whole HTML pages; the start says what went wrong.
MAX_ERROR_CHARS = 4000


def reserve_row(
    session: Session,
    insert: PgInsert | SqliteInsert,
    *,
    idempotency_key: str,
    conversation_id: int,
    message_id: int | None,
    platform: str,
    mode: str,
    text: str,
    created_at: datetime,
    author: str = "bot",
    agent_id: int | None = None,
    choices: Sequence[Choice] = (),
    reply_target: dict[str, str] | None = None,
) -> tuple[Outbound, bool]:
    """(row, created) for the key, in the caller's transaction: the bot's sends and a person's reply (the escalation
    store's `reserve_reply`) share it, so both are idempotent the same way."""
    values = {
        "idempotency_key": idempotency_key,
        "conversation_id": conversation_id,
        "message_id": message_id,
        "platform": platform,
        "mode": mode,
        "text": text,
        "choices": [{"label": c.label, "payload": c.payload} for c in choices] or None,
        "author": author,
        "agent_id": agent_id,
        "status": OutboundStatus.PENDING.value,
        "attempts": 0,
        "created_at": created_at,
        "due_at": created_at,
        "reply_target": reply_target,
    }
    new_id = insert_if_new(session, insert, ["idempotency_key"], values)
    row = session.scalars(select(Outbound).where(Outbound.idempotency_key == idempotency_key)).one()
    return row, new_id is not None


class OutboundStore(Transactions):
    """Reservations of sends and their status changes, each one short transaction."""

    def reserve_outbound(
        self,
        idempotency_key: str,
        conversation_id: int,
        message_id: int | None,
        platform: str,
        mode: str,
        text: str,
        *,
        at: datetime | None = None,
        author: str = "bot",
        agent_id: int | None = None,
        choices: Sequence[Choice] = (),
        reply_target: dict[str, str] | None = None,
    ) -> tuple[OutboundRecord, bool]:
        """(row, created): the send for this key; an existing key returns its row unchanged, created False.
        `reply_target` (where it goes) is kept for a sweeper that has to queue the send again."""
        with self._write() as session:
            row, created = reserve_row(
                session,
                self._insert(Outbound),
                idempotency_key=idempotency_key,
                conversation_id=conversation_id,
                message_id=message_id,
                platform=platform,
                mode=mode,
                text=text,
                created_at=at or utcnow(),
                author=author,
                agent_id=agent_id,
                choices=choices,
                reply_target=reply_target,
            )
            return OutboundRecord.from_row(row), created

    def outbound(self, outbound_id: int) -> OutboundRecord:
        return self._read_record(Outbound, outbound_id, "outbound", OutboundRecord.from_row)

    def outbound_by_key(self, idempotency_key: str) -> OutboundRecord | None:
        with self._read() as session:
            row = session.scalars(select(Outbound).where(Outbound.idempotency_key == idempotency_key)).one_or_none()
            return OutboundRecord.from_row(row) if row is not None else None

    def mark_sending(self, outbound_id: int, at: datetime) -> bool:
        """Atomically pending/failed → sending at `at`, counting the attempt; False when someone else holds it, or
        it was sent, is unknown or dead. Only the caller that got True may call the platform."""
        return self._transition(
            outbound_id,
            SENDABLE_OUTBOUND_STATUSES,
            {"status": OutboundStatus.SENDING.value, "attempts": Outbound.attempts + 1, "due_at": at},
        )

    def mark_sent(self, outbound_id: int, platform_message_id: str | None, at: datetime) -> bool:
        """Record the platform's confirmation; also from "unknown", when a late confirmation settles it."""
        return self._transition(
            outbound_id,
            (OutboundStatus.PENDING, OutboundStatus.SENDING, OutboundStatus.FAILED, OutboundStatus.UNKNOWN),
            {"status": OutboundStatus.SENT.value, "platform_message_id": platform_message_id, "sent_at": at},
        )

    def mark_failed(self, outbound_id: int, error: str, retry_at: datetime | None) -> bool:
        """sending → failed, to be taken again by mark_sending from `retry_at`, or with no `retry_at` → dead
        (final)."""
        values: dict[str, Any] = {
            "status": (OutboundStatus.FAILED if retry_at is not None else OutboundStatus.DEAD).value,
            "last_error": error[:MAX_ERROR_CHARS],
        }
        if retry_at is not None:
            values["due_at"] = retry_at
        return self._transition(outbound_id, (OutboundStatus.SENDING,), values)

    def stalled_outbound(self, before: datetime, sending_before: datetime, limit: int) -> list[OutboundRecord]:
        """Sends nobody is working on, oldest first: pending or failed ones due before `before` (their task was lost
        or is late), and ones held "sending" since before `sending_before` (longer than any send takes: the
        worker died mid-send)."""
        sendable = Outbound.status.in_(SENDABLE_OUTBOUND_STATUSES) & (Outbound.due_at < before)
        held = (Outbound.status == OutboundStatus.SENDING.value) & (Outbound.due_at < sending_before)
        with self._read() as session:
            rows = session.scalars(select(Outbound).where(sendable | held).order_by(Outbound.due_at).limit(limit))
            return [OutboundRecord.from_row(row) for row in rows]

    def outbound_requeued(self, outbound_id: int, at: datetime) -> bool:
        """A sendable row queued again at `at`: due from then, so the next sweep leaves it to that task."""
        return self._transition(outbound_id, SENDABLE_OUTBOUND_STATUSES, {"due_at": at})

    def mark_refused(self, outbound_id: int, error: str) -> bool:
        """pending/failed → dead without an attempt: the send was refused before calling the platform (the
        platform is disabled, or the reply window has closed)."""
        return self._transition(
            outbound_id,
            SENDABLE_OUTBOUND_STATUSES,
            {"status": OutboundStatus.DEAD.value, "last_error": error[:MAX_ERROR_CHARS]},
        )

    def mark_unknown(self, outbound_id: int, error: str) -> bool:
        """sending → unknown: the platform may or may not have delivered it, so it is never resent by itself."""
        return self._transition(
            outbound_id,
            (OutboundStatus.SENDING,),
            {"status": OutboundStatus.UNKNOWN.value, "last_error": error[:MAX_ERROR_CHARS]},
        )

    def _transition(self, outbound_id: int, from_statuses: Sequence[str], values: dict[str, Any]) -> bool:
        # One conditional UPDATE is the compare-and-set: concurrent callers serialise on the row lock and
        # re-check the status, so exactly one sees its condition still true.
        with self._write() as session:
            found = session.execute(
                update(Outbound)
                .where(Outbound.id == outbound_id, Outbound.status.in_([str(status) for status in from_statuses]))
                .values(**values)
                .returning(Outbound.id)
            ).scalar_one_or_none()
            return found is not None
