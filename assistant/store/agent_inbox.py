"""The agents' inbox: one list of escalations across the queues a person may see, filtered by scope, status,
queue, platform, language and label, each row with how long the customer has waited for a person; full-text
search over the conversations' messages (`conversation_search`); a customer's other conversations; and the labels
agents put on conversations."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Integer, delete, exists, func, or_, select
from sqlalchemy.orm import aliased

from assistant.store.conversation_search import query_words, search_for
from assistant.store.db import Transactions, found
from assistant.store.inbox_records import CustomerConversation, InboxFilters, InboxPage, InboxRow, SearchHit
from assistant.store.queues import LIST_LANGUAGE, escalation_list_select, list_item, list_order
from assistant.store.records import ConversationRecord
from assistant.store.tables import (
    ACTIVE_ESCALATION_STATUSES,
    Conversation,
    ConversationLabel,
    Escalation,
    Message,
    utcnow,
)

# Search reads this many matching messages per result wanted: several hits of one conversation fold into one.
_HITS_PER_RESULT = 4


def _visible(queues: tuple[str, ...] | None) -> list[ColumnElement[bool]]:
    return [] if queues is None else [Escalation.queue.in_(queues)]


class AgentInboxStore(Transactions):
    """Reads across queues for the inbox, and the labels of conversations; each method one short transaction."""

    # The inbox list

    def inbox_page(self, filters: InboxFilters, page: int = 1, per_page: int = 50) -> InboxPage:
        """Active: most urgent first, then the earliest SLA due time; resolved: the latest resolved first.

        Two steps, so 100,000 conversations stay fast: the page's ids from the escalations alone (their indexes
        cover status, queue and order; conversations and messages are joined only to filter by platform or
        language), then those rows with what they show."""
        language = LIST_LANGUAGE
        conditions: list[Any] = _visible(filters.queues)
        if filters.status == "active":
            conditions.append(Escalation.status.in_(ACTIVE_ESCALATION_STATUSES))
        else:
            conditions.append(Escalation.status == filters.status)
        if filters.scope == "mine":
            conditions.append(Escalation.assigned_agent_id == filters.agent_id)
        elif filters.scope == "unassigned":
            conditions.append(Escalation.assigned_agent_id.is_(None))
        if filters.queue is not None:
            conditions.append(Escalation.queue == filters.queue)
        if filters.label is not None:
            conditions.append(
                exists().where(
                    ConversationLabel.conversation_id == Escalation.conversation_id,
                    ConversationLabel.label == filters.label,
                )
            )
        matching = select(Escalation.id)
        if filters.platform is not None or filters.language is not None:
            matching = matching.join(Conversation, Conversation.id == Escalation.conversation_id)
            if filters.platform is not None:
                conditions.append(Conversation.platform == filters.platform)
            if filters.language is not None:
                matching = matching.outerjoin(Message, Message.id == Escalation.message_id)
                conditions.append(language == filters.language)
        matching = matching.where(*conditions)
        order = list_order(resolved=filters.status == "resolved")
        page = max(1, page)
        with self._read() as session:
            total = int(session.scalar(select(func.count()).select_from(matching.subquery())) or 0)
            ids = list(session.scalars(matching.order_by(*order).limit(per_page).offset((page - 1) * per_page)))
            found_rows = session.execute(escalation_list_select().where(Escalation.id.in_(ids))).all()
            position = {escalation_id: index for index, escalation_id in enumerate(ids)}
            rows = sorted(found_rows, key=lambda row: position[row[0].id])
            labels = self._labels_of(session, [row[0].conversation_id for row in rows])
            waiting = self._waiting_since(session, [r[0].conversation_id for r in rows if r[0].status != "resolved"])
        items = []
        for row in rows:
            escalation = row[0]
            item = list_item(row)
            since = waiting.get(escalation.conversation_id) if escalation.status != "resolved" else None
            items.append(InboxRow(item, labels.get(escalation.conversation_id, ()), since))
        return InboxPage(items, total, page, per_page)

    def _waiting_since(self, session: Any, conversation_ids: list[int]) -> dict[int, Any]:
        """Per conversation: its first customer message after the latest message by a person (agent), if any."""
        if not conversation_ids:
            return {}
        reply = aliased(Message)
        last_human = (
            select(func.max(reply.created_at))
            .where(reply.conversation_id == Message.conversation_id, reply.author == "agent")
            .scalar_subquery()
        )
        query = (
            select(Message.conversation_id, func.min(Message.created_at))
            .where(
                Message.conversation_id.in_(set(conversation_ids)),
                Message.direction == "in",
                or_(last_human.is_(None), Message.created_at > last_human),
            )
            .group_by(Message.conversation_id)
        )
        return {int(conversation): since for conversation, since in session.execute(query).all()}

    def platforms(self) -> list[str]:
        """Every platform with a conversation (a skip over the (platform, sender) index): the filter's choices."""
        with self._read() as session:
            return list(session.scalars(select(Conversation.platform).distinct().order_by(Conversation.platform)))

    # Search

    def search_conversations(self, query: str, queues: tuple[str, ...] | None, limit: int = 50) -> list[SearchHit]:
        """Conversations with an escalation the caller may open whose messages contain every word of `query`,
        the latest match first."""
        words = query_words(query)
        if not words:
            return []
        matches, params = search_for(self.engine.dialect.name).matches(words)
        hits = matches.columns(message_id=Integer).subquery("hits")
        openable = exists().where(Escalation.conversation_id == Message.conversation_id, *_visible(queues))
        found_messages = (
            select(Message.id, Message.conversation_id, Message.author, Message.text, Message.created_at)
            .join(hits, hits.c.message_id == Message.id)
            .where(openable)
            .order_by(hits.c.message_id.desc())
            .limit(limit * _HITS_PER_RESULT)
        )
        with self._read() as session:
            rows = session.execute(found_messages, params).all()
            first: dict[int, Any] = {}
            for row in rows:
                first.setdefault(int(row.conversation_id), row)
                if len(first) >= limit:
                    break
            if not first:
                return []
            latest = session.execute(
                select(Escalation.conversation_id, func.max(Escalation.id))
                .where(Escalation.conversation_id.in_(first), *_visible(queues))
                .group_by(Escalation.conversation_id)
            ).all()
            escalation_ids = {int(conversation): int(escalation) for conversation, escalation in latest}
            queue_of = {
                int(escalation): str(queue)
                for escalation, queue in session.execute(
                    select(Escalation.id, Escalation.queue).where(Escalation.id.in_(escalation_ids.values()))
                ).all()
            }
            people = {
                int(cid): (platform, name)
                for cid, platform, name in session.execute(
                    select(Conversation.id, Conversation.platform, Conversation.sender_name).where(
                        Conversation.id.in_(first)
                    )
                ).all()
            }
        return [
            SearchHit(
                conversation_id=cid,
                escalation_id=escalation_ids[cid],
                queue=queue_of[escalation_ids[cid]],
                platform=people[cid][0],
                sender_name=people[cid][1],
                message_id=int(row.id),
                author=str(row.author),
                text=str(row.text),
                at=row.created_at,
            )
            for cid, row in first.items()
            if cid in escalation_ids
        ]

    # Conversations and customers

    def conversation_record(self, conversation_id: int) -> ConversationRecord:
        return self._read_record(Conversation, conversation_id, "conversation", ConversationRecord.from_row)

    def conversation_queues(self, conversation_id: int) -> set[str]:
        """The queues of the conversation's escalations (NotFoundError when there is no such conversation)."""
        with self._read() as session:
            found(session, Conversation, conversation_id, "conversation")
            return set(session.scalars(select(Escalation.queue).where(Escalation.conversation_id == conversation_id)))

    def customer_conversations(
        self, conversation_id: int, queues: tuple[str, ...] | None, limit: int = 20
    ) -> list[CustomerConversation]:
        """The other conversations of this conversation's sender: the same platform user id on the same platform
        (the store knows people only per platform), the latest first."""
        with self._read() as session:
            this = found(session, Conversation, conversation_id, "conversation")
            if this.sender_id is None:
                return []
            others = list(
                session.scalars(
                    select(Conversation)
                    .where(
                        Conversation.platform == this.platform,
                        Conversation.sender_id == this.sender_id,
                        Conversation.id != this.id,
                    )
                    .order_by(Conversation.created_at.desc(), Conversation.id.desc())
                    .limit(limit)
                )
            )
            ids = [row.id for row in others]
            if not ids:
                return []
            counts = {
                int(cid): (int(n), last)
                for cid, n, last in session.execute(
                    select(Message.conversation_id, func.count(Message.id), func.max(Message.created_at))
                    .where(Message.conversation_id.in_(ids))
                    .group_by(Message.conversation_id)
                ).all()
            }
            escalations: dict[int, list[Escalation]] = {}
            for escalation in session.scalars(
                select(Escalation).where(Escalation.conversation_id.in_(ids)).order_by(Escalation.id)
            ):
                escalations.setdefault(escalation.conversation_id, []).append(escalation)
            previews = {
                int(cid): str(body)
                for cid, body in session.execute(
                    select(Message.conversation_id, Message.text).where(
                        Message.id.in_(
                            select(func.max(Message.id))
                            .where(Message.conversation_id.in_(ids), Message.direction == "in")
                            .group_by(Message.conversation_id)
                        )
                    )
                ).all()
            }
            labels = self._labels_of(session, ids)
        result = []
        for row in others:
            own = escalations.get(row.id, [])
            latest = own[-1] if own else None
            openable = [e for e in own if queues is None or e.queue in queues]
            count, last = counts.get(row.id, (0, None))
            result.append(
                CustomerConversation(
                    conversation_id=row.id,
                    platform=row.platform,
                    sender_name=row.sender_name,
                    started_at=row.created_at,
                    last_message_at=last,
                    messages=count,
                    escalations=len(own),
                    latest_status=latest.status if latest is not None else None,
                    latest_queue=latest.queue if latest is not None else None,
                    escalation_id=openable[-1].id if openable else None,
                    preview=previews[row.id][:200] if openable and row.id in previews else None,
                    labels=labels.get(row.id, ()),
                )
            )
        return result

    # Labels

    def labels(self, conversation_id: int) -> tuple[str, ...]:
        with self._read() as session:
            return self._labels_of(session, [conversation_id]).get(conversation_id, ())

    def add_label(self, conversation_id: int, label: str, user_id: int | None) -> bool:
        """True when the label was new on the conversation."""
        values = {"conversation_id": conversation_id, "label": label, "user_id": user_id, "created_at": utcnow()}
        with self._write() as session:
            found(session, Conversation, conversation_id, "conversation")
            statement = (
                self._insert(ConversationLabel)
                .on_conflict_do_nothing(index_elements=["conversation_id", "label"])
                .returning(ConversationLabel.label)
            )
            return session.execute(statement, values).scalar_one_or_none() is not None

    def remove_label(self, conversation_id: int, label: str) -> bool:
        """True when the conversation had the label."""
        with self._write() as session:
            found(session, Conversation, conversation_id, "conversation")
            result = session.execute(
                delete(ConversationLabel).where(
                    ConversationLabel.conversation_id == conversation_id, ConversationLabel.label == label
                )
            )
            return bool(getattr(result, "rowcount", 0))

    def known_labels(self, limit: int = 200) -> list[str]:
        with self._read() as session:
            return list(
                session.scalars(
                    select(ConversationLabel.label).distinct().order_by(ConversationLabel.label).limit(limit)
                )
            )

    def _labels_of(self, session: Any, conversation_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        ids = set(conversation_ids)
        if not ids:
            return {}
        found_labels: dict[int, list[str]] = {}
        for cid, label in session.execute(
            select(ConversationLabel.conversation_id, ConversationLabel.label)
            .where(ConversationLabel.conversation_id.in_(ids))
            .order_by(ConversationLabel.label)
        ).all():
            found_labels.setdefault(int(cid), []).append(str(label))
        return {cid: tuple(values) for cid, values in found_labels.items()}
