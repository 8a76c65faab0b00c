"""The durable inbox: verified webhook events stored before the webhook answers (one multi-row insert per delivery,
duplicates skipped by the database), marked done once decided, and found again by the sweeper when their task was
lost (a Redis restart, a killed worker) or keeps failing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from assistant.domain.channels import InboundEvent
from assistant.domain.messages import InboxStatus
from assistant.store.db import Transactions
from assistant.store.errors import StoreUnavailableError
from assistant.store.records import InboxRecord
from assistant.store.tables import InboxEvent

MAX_ERROR_CHARS = 2000


class InboxStore(Transactions):
    """Accepting events, settling them (done, failed, postponed) and finding the stalled ones."""

    def accept_events(self, events: Sequence[InboundEvent], at: datetime) -> list[tuple[int, InboundEvent]]:
        """Store the events not stored before, in one transaction; (inbox id, event) of the new ones, in order. An
        event whose (platform, event id) is there already — a platform's redelivery — is skipped."""
        unique: dict[tuple[str, str], InboundEvent] = {}
        for event in events:
            unique.setdefault((event.platform, event.event_id), event)
        if not unique:
            return []
        new_ids: dict[tuple[str, str], int] = {}
        rows = [_row(event, at) for event in unique.values()]
        try:
            # A Core transaction, not an ORM session: this runs in every webhook request, and the session's own
            # bookkeeping cost more than the insert. One statement, compiled once and cached; executemany with
            # RETURNING sends the rows in batches.
            with self.engine.begin() as connection:
                statement = (
                    self._insert(InboxEvent)
                    .on_conflict_do_nothing(index_elements=["platform", "event_id"])
                    .returning(InboxEvent.id, InboxEvent.platform, InboxEvent.event_id, sort_by_parameter_order=True)
                )
                for row_id, platform, event_id in connection.execute(statement, rows):
                    new_ids[(platform, event_id)] = int(row_id)
        except DBAPIError as error:  # down, locked past the busy timeout, full: nothing stored, nothing acknowledged
            raise StoreUnavailableError(
                f"the database did not store the events ({type(error.orig).__name__})"
            ) from error
        return [(new_ids[key], event) for key, event in unique.items() if key in new_ids]

    def inbox_events(self, ids: Sequence[int]) -> list[InboxRecord]:
        with self._read() as session:
            rows = session.scalars(select(InboxEvent).where(InboxEvent.id.in_(list(ids))).order_by(InboxEvent.id))
            return [InboxRecord.from_row(row) for row in rows]

    def inbox_event(self, platform: str, event_id: str) -> InboxRecord | None:
        with self._read() as session:
            row = session.scalars(
                select(InboxEvent).where(InboxEvent.platform == platform, InboxEvent.event_id == event_id)
            ).one_or_none()
            return InboxRecord.from_row(row) if row is not None else None

    def inbox_done(self, platform: str, event_id: str, at: datetime) -> bool:
        """received → done; the payload is dropped (the message row keeps what is kept). False when not received
        (an event from before the inbox, or settled already)."""
        return self._settle(platform, event_id, {"status": InboxStatus.DONE.value, "payload": None, "done_at": at})

    def inbox_failed(self, platform: str, event_id: str, error: str, at: datetime) -> bool:
        """received → failed: every attempt failed, a person has it. The payload stays for them to read."""
        values = {"status": InboxStatus.FAILED.value, "done_at": at, "last_error": error[:MAX_ERROR_CHARS]}
        return self._settle(platform, event_id, values)

    def inbox_postponed(self, platform: str, event_id: str, due: datetime, error: str) -> bool:
        """A task retrying after `due`: the sweeper leaves the event alone until then."""
        return self._settle(platform, event_id, {"due_at": due, "last_error": error[:MAX_ERROR_CHARS]})

    def stalled_inbox(self, before: datetime, limit: int) -> list[InboxRecord]:
        """Received events due before `before` (their task should have decided them by now), oldest first."""
        with self._read() as session:
            rows = session.scalars(
                select(InboxEvent)
                .where(InboxEvent.status == InboxStatus.RECEIVED.value, InboxEvent.due_at < before)
                .order_by(InboxEvent.due_at)
                .limit(limit)
            )
            return [InboxRecord.from_row(row) for row in rows]

    def inbox_requeued(self, ids: Sequence[int], at: datetime) -> None:
        """Count one more queueing of each event, due again from `at`."""
        with self._write() as session:
            session.execute(
                update(InboxEvent)
                .where(InboxEvent.id.in_(list(ids)), InboxEvent.status == InboxStatus.RECEIVED.value)
                .values(attempts=InboxEvent.attempts + 1, due_at=at)
            )

    def inbox_counts(self, since: datetime | None = None) -> dict[InboxStatus, int]:
        """Events per status (received since `since`, when given): the failures are the counter the console shows."""
        with self._read() as session:
            query = select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
            if since is not None:
                query = query.where(InboxEvent.received_at >= since)
            counts = {InboxStatus(status): int(count) for status, count in session.execute(query)}
        return {status: counts.get(status, 0) for status in InboxStatus}

    def _settle(self, platform: str, event_id: str, values: dict[str, Any]) -> bool:
        with self._write() as session:
            found = session.execute(
                update(InboxEvent)
                .where(
                    InboxEvent.platform == platform,
                    InboxEvent.event_id == event_id,
                    InboxEvent.status == InboxStatus.RECEIVED.value,
                )
                .values(**values)
                .returning(InboxEvent.id)
            ).scalar_one_or_none()
            return found is not None


def _row(event: InboundEvent, at: datetime) -> dict[str, Any]:
    return {
        "platform": event.platform,
        "event_id": event.event_id,
        "payload": event.to_dict(),
        "status": InboxStatus.RECEIVED.value,
        "attempts": 1,
        "received_at": at,
        "due_at": at,
    }
