"""The inbox API (/api/v1/…): the list across the caller's queues, search over conversations, a conversation's
customer, and labels. Each view parses, calls one inbox use case and maps the result."""

from __future__ import annotations

from flask import Response

from assistant.services.agent_inbox import InboxQuery as InboxFilterQuery
from webhooks.console.inbox.context import WORK_ROLES, inbox
from webhooks.console.inbox.mapping import customer_out, listing_out, search_out
from webhooks.console.inbox.schemas import (
    CustomerOut,
    InboxListOut,
    InboxQuery,
    LabelIn,
    LabelsOut,
    SearchOut,
    SearchQuery,
)
from webhooks.console.openapi import json_body, json_response, query_model
from webhooks.console.routes import ConsoleBlueprint

bp = ConsoleBlueprint("inbox_api", __name__)
WORK = WORK_ROLES
TAGS = ("inbox",)


@bp.api(
    "get",
    "/api/v1/inbox",
    "Escalations across the queues you may see: mine / unassigned / all, by queue, status, platform, language, "
    "label; each with how long the customer has waited for a person",
    response=InboxListOut,
    query=InboxQuery,
    roles=WORK,
    tags=TAGS,
    errors=(403,),
)
def api_inbox() -> Response:
    query = query_model(InboxQuery)
    return json_response(listing_out(inbox().listing(InboxFilterQuery(**query.model_dump()))))


@bp.api(
    "get",
    "/api/v1/search",
    "Full-text search over the messages of conversations you may open, the latest match first",
    response=SearchOut,
    query=SearchQuery,
    roles=WORK,
    tags=TAGS,
)
def api_search() -> Response:
    query = query_model(SearchQuery)
    return json_response(search_out(query.q, inbox().search(query.q)))


@bp.api(
    "get",
    "/api/v1/conversations/<int:conversation_id>/customer",
    "The conversation's customer: their other conversations (linked by the platform's user id) and labels",
    response=CustomerOut,
    roles=WORK,
    tags=TAGS,
    errors=(403, 404),
)
def api_customer(conversation_id: int) -> Response:
    return json_response(customer_out(inbox().customer(conversation_id)))


@bp.api(
    "get",
    "/api/v1/conversations/<int:conversation_id>/labels",
    "The conversation's labels",
    response=LabelsOut,
    roles=WORK,
    tags=TAGS,
    errors=(403, 404),
)
def api_labels(conversation_id: int) -> Response:
    return json_response(LabelsOut(conversation_id=conversation_id, labels=list(inbox().labels(conversation_id))))


@bp.api(
    "post",
    "/api/v1/conversations/<int:conversation_id>/labels",
    "Add a label (lowercased; spaces become '-'); answers with all the conversation's labels",
    request=LabelIn,
    response=LabelsOut,
    roles=WORK,
    tags=TAGS,
    errors=(400, 403, 404),
)
def api_add_label(conversation_id: int) -> Response:
    labels = inbox().add_label(conversation_id, json_body(LabelIn).label)
    return json_response(LabelsOut(conversation_id=conversation_id, labels=list(labels)))


@bp.api(
    "delete",
    "/api/v1/conversations/<int:conversation_id>/labels/<label>",
    "Remove a label; answers with the labels left",
    response=LabelsOut,
    roles=WORK,
    tags=TAGS,
    errors=(400, 403, 404),
)
def api_remove_label(conversation_id: int, label: str) -> Response:
    labels = inbox().remove_label(conversation_id, label)
    return json_response(LabelsOut(conversation_id=conversation_id, labels=list(labels)))
