"""The inbox use cases' results (assistant.services.agent_inbox) as the inbox API's models."""

from __future__ import annotations

from datetime import datetime

from assistant.services.agent_inbox import CustomerView, InboxListing
from assistant.store.inbox_records import InboxRow, SearchHit
from webhooks.console.inbox.schemas import (
    CustomerConversationOut,
    CustomerOut,
    InboxListOut,
    InboxRowOut,
    SearchHitOut,
    SearchOut,
)
from webhooks.console.openapi import model_from
from webhooks.console.queues.mapping import item_out


def row_out(row: InboxRow, now: datetime) -> InboxRowOut:
    return InboxRowOut(**item_out(row.item, now).model_dump(), labels=list(row.labels), waiting_since=row.waiting_since)


def listing_out(listing: InboxListing) -> InboxListOut:
    page = listing.page
    return InboxListOut(
        items=[row_out(row, listing.now) for row in page.rows],
        page=page.page,
        per_page=page.per_page,
        total=page.total,
        pages=page.pages,
        queues=listing.queues,
    )


def search_out(query: str, hits: list[SearchHit]) -> SearchOut:
    return SearchOut(query=query, items=[model_from(SearchHitOut, hit) for hit in hits])


def customer_out(view: CustomerView) -> CustomerOut:
    return model_from(
        CustomerOut,
        view,
        labels=list(view.labels),
        other_conversations=[
            model_from(CustomerConversationOut, other, labels=list(other.labels)) for other in view.others
        ],
    )
