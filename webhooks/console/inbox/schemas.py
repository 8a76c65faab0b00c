"""The inbox API's request and answer models (pydantic): what /api/openapi.json documents."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from webhooks.console.queues.schemas import EscalationItemOut


class InboxQuery(BaseModel):
    scope: Literal["all", "mine", "unassigned"] = Field("all", description="mine: held by you; unassigned: by nobody")
    status: Literal["active", "open", "claimed", "resolved"] = Field("active", description="active: open or claimed")
    queue: str | None = Field(None, max_length=64)
    platform: str | None = Field(None, max_length=64)
    language: str | None = Field(None, max_length=16)
    label: str | None = Field(None, max_length=40)
    page: int = Field(1, ge=1, le=100_000)


class InboxRowOut(EscalationItemOut):
    labels: list[str]
    waiting_since: datetime | None = Field(
        description="While active: the customer's first message since a person last replied (null: answered)"
    )


class InboxListOut(BaseModel):
    items: list[InboxRowOut]
    page: int
    per_page: int
    total: int
    pages: int
    queues: list[str] = Field(description="The queues the caller may filter by")


class SearchQuery(BaseModel):
    q: str = Field(max_length=200, description="Words that must all occur in a message (case and accents folded)")


class SearchHitOut(BaseModel):
    conversation_id: int
    escalation_id: int = Field(description="The latest escalation of the conversation you may open")
    queue: str
    platform: str
    sender_name: str | None
    message_id: int
    author: str
    text: str
    at: datetime


class SearchOut(BaseModel):
    query: str
    items: list[SearchHitOut]


class CustomerConversationOut(BaseModel):
    conversation_id: int
    platform: str
    sender_name: str | None
    started_at: datetime
    last_message_at: datetime | None
    messages: int
    escalations: int
    latest_status: str | None
    latest_queue: str | None
    escalation_id: int | None = Field(description="Set when you may open it")
    preview: str | None = Field(description="The customer's latest message there, when you may open it")
    labels: list[str]


class CustomerOut(BaseModel):
    conversation_id: int
    platform: str
    sender_id: str | None = Field(description="The platform's user id: conversations are linked by it")
    sender_name: str | None
    labels: list[str]
    other_conversations: list[CustomerConversationOut]


class LabelIn(BaseModel):
    label: str = Field(min_length=1, max_length=40)


class LabelsOut(BaseModel):
    conversation_id: int
    labels: list[str]
