"""The queues API (/api/v1/…): the caller's queues and their escalations, one escalation with its conversation,
and the agent's actions on it; canned replies. Each view parses, calls one agent use case and maps the result."""

from __future__ import annotations

from flask import Response, request

from assistant.domain.messages import HandoffState
from webhooks.console.openapi import json_body, json_response, query_model
from webhooks.console.queues.context import (
    CANNED_EDIT_ROLES,
    CANNED_READ_ROLES,
    WORK_ROLES,
    actions,
    console_store,
)
from webhooks.console.queues.mapping import canned_out, detail_out, escalation_out, listing_out, queue_out
from webhooks.console.queues.schemas import (
    CannedReplyIn,
    CannedReplyListOut,
    CannedReplyOut,
    CannedReplyQuery,
    ChangesOut,
    ChangesQuery,
    EscalationDetailOut,
    EscalationListOut,
    EscalationListQuery,
    EscalationOut,
    FeedbackIn,
    FeedbackOut,
    NoteIn,
    NoteOut,
    PriorityIn,
    QueueListOut,
    ReplyIn,
    ReplyOut,
    TransferIn,
    VersionIn,
)
from webhooks.console.routes import ConsoleBlueprint

bp = ConsoleBlueprint("queues_api", __name__)
WORK = WORK_ROLES


def _version_body() -> VersionIn:
    return json_body(VersionIn) if request.get_data() else VersionIn()


@bp.api(
    "get",
    "/api/v1/queues",
    "The queues the caller works, with counts and SLA breaches",
    response=QueueListOut,
    roles=WORK,
    tags=("queues",),
)
def api_queues() -> Response:
    overview = actions().overview()
    return json_response(QueueListOut(queues=[queue_out(view) for view in overview.queues], token=overview.token))


@bp.api(
    "get",
    "/api/v1/changes",
    "Whether any escalation was opened or changed since `token` (204 when nothing changed: cheap to poll)",
    response=ChangesOut,
    roles=WORK,
    query=ChangesQuery,
    tags=("queues",),
    description="Answers 204 with no body while `token` is still current; 200 with the new token otherwise.",
)
def api_changes() -> Response:
    query = query_model(ChangesQuery)
    token = console_store().changes_token()
    if query.token == token:
        return Response(status=204)
    return json_response(ChangesOut(changed=True, token=token))


@bp.api(
    "get",
    "/api/v1/queues/<queue>/escalations",
    "A queue's escalations: most urgent first, then the earliest SLA due time; paginated",
    response=EscalationListOut,
    roles=WORK,
    query=EscalationListQuery,
    tags=("queues",),
    errors=(404,),
)
def api_queue_escalations(queue: str) -> Response:
    query = query_model(EscalationListQuery)
    return json_response(listing_out(actions().listing(queue, query.show, query.page, query.per_page)))


@bp.api(
    "get",
    "/api/v1/escalations/<int:escalation_id>",
    "One escalation with the whole conversation (customer, bot and agent turns), the engine's reasons and "
    "scores, the suggested answer, notes and undelivered replies",
    response=EscalationDetailOut,
    roles=WORK,
    tags=("escalations",),
    errors=(404,),
)
def api_escalation(escalation_id: int) -> Response:
    return json_response(detail_out(actions().conversation(escalation_id)))


@bp.api(
    "post",
    "/api/v1/escalations/<int:escalation_id>/claim",
    "Claim an open escalation; if someone else holds it: 409 with who",
    request=VersionIn,
    response=EscalationOut,
    roles=WORK,
    tags=("escalations",),
    errors=(404, 409),
)
def api_claim(escalation_id: int) -> Response:
    body = _version_body()
    agent = actions()
    record = agent.claim(escalation_id, body.version)
    return json_response(escalation_out(record, agent.user.username))


@bp.api(
    "post",
    "/api/v1/escalations/<int:escalation_id>/reply",
    "Reply to the customer through the platform (queued for delivery; the conversation becomes a person's)",
    request=ReplyIn,
    response=ReplyOut,
    roles=WORK,
    status=202,
    tags=("escalations",),
    errors=(404, 409),
    description="Outside Meta's 24-hour window the answer is 409 with `alternative.human_agent_tag` when a "
    "HUMAN_AGENT-tagged message is still allowed (Messenger and Instagram, up to 7 days).",
)
def api_reply(escalation_id: int) -> Response:
    body = json_body(ReplyIn)
    key = body.idempotency_key or request.headers.get("Idempotency-Key")
    agent = actions()
    result = agent.reply(escalation_id, body.text, key, body.version, body.human_agent_tag)
    out = ReplyOut(
        outbound_id=result.outbound.id,
        status=result.outbound.status,
        mode=result.outbound.mode,
        created=result.created,
        escalation=escalation_out(result.escalation, agent.holder_name(result.escalation)),
    )
    return json_response(out, 202 if result.created else 200)


@bp.api(
    "post",
    "/api/v1/escalations/<int:escalation_id>/notes",
    "Add an internal note (never sent to the customer)",
    request=NoteIn,
    response=NoteOut,
    roles=WORK,
    status=201,
    tags=("escalations",),
    errors=(404,),
)
def api_note(escalation_id: int) -> Response:
    note = actions().note(escalation_id, json_body(NoteIn).text)
    return json_response(NoteOut(id=note.id, text=note.text, author=note.username, created_at=note.created_at), 201)


@bp.api(
    "post",
    "/api/v1/escalations/<int:escalation_id>/priority",
    "Set the priority (a higher one can pull the SLA due time earlier, never later)",
    request=PriorityIn,
    response=EscalationOut,
    roles=WORK,
    tags=("escalations",),
    errors=(404, 409),
)
def api_priority(escalation_id: int) -> Response:
    body = json_body(PriorityIn)
    agent = actions()
    record = agent.set_priority(escalation_id, body.priority, body.version)
    return json_response(escalation_out(record, agent.holder_name(record)))


@bp.api(
    "post",
    "/api/v1/escalations/<int:escalation_id>/transfer",
    "Move to another queue, where it waits unclaimed",
    request=TransferIn,
    response=EscalationOut,
    roles=WORK,
    tags=("escalations",),
    errors=(404, 409),
)
def api_transfer(escalation_id: int) -> Response:
    body = json_body(TransferIn)
    return json_response(escalation_out(actions().transfer(escalation_id, body.queue, body.version), None))


@bp.api(
    "post",
    "/api/v1/escalations/<int:escalation_id>/resolve",
    "Resolve: the conversation is closed (the customer's next message starts afresh with the bot)",
    request=VersionIn,
    response=EscalationOut,
    roles=WORK,
    tags=("escalations",),
    errors=(404, 409),
)
def api_resolve(escalation_id: int) -> Response:
    record = actions().settle(escalation_id, HandoffState.CLOSED, _version_body().version)
    return json_response(escalation_out(record, None))


@bp.api(
    "post",
    "/api/v1/escalations/<int:escalation_id>/hand-back",
    "Hand the conversation back to the bot (resolves the escalation; the bot answers the next message)",
    request=VersionIn,
    response=EscalationOut,
    roles=WORK,
    tags=("escalations",),
    errors=(404, 409),
)
def api_hand_back(escalation_id: int) -> Response:
    record = actions().settle(escalation_id, HandoffState.BOT, _version_body().version)
    return json_response(escalation_out(record, None))


@bp.api(
    "post",
    "/api/v1/escalations/<int:escalation_id>/feedback",
    "Mark the bot's suggested answer right, wrong or missing (teaches the KB editors)",
    request=FeedbackIn,
    response=FeedbackOut,
    roles=WORK,
    status=201,
    tags=("escalations",),
    errors=(404,),
)
def api_feedback(escalation_id: int) -> Response:
    body = json_body(FeedbackIn)
    record = actions().feedback(escalation_id, body.verdict, body.entry_id, body.comment)
    out = FeedbackOut(
        verdict=record.verdict, author=record.username, entry_id=record.entry_id, comment=record.comment, at=record.at
    )
    return json_response(out, 201)


@bp.api(
    "get",
    "/api/v1/canned-replies",
    "Canned replies (optionally of one queue and language)",
    response=CannedReplyListOut,
    roles=CANNED_READ_ROLES,
    query=CannedReplyQuery,
    tags=("canned replies",),
)
def api_canned_replies() -> Response:
    query = query_model(CannedReplyQuery)
    items = actions().canned_replies(query.queue, query.language)
    return json_response(CannedReplyListOut(items=[canned_out(item) for item in items]))


@bp.api(
    "post",
    "/api/v1/canned-replies",
    "Create or replace the canned reply for (shortcode, language, queue)",
    request=CannedReplyIn,
    response=CannedReplyOut,
    roles=CANNED_EDIT_ROLES,
    status=201,
    tags=("canned replies",),
)
def api_save_canned_reply() -> Response:
    body = json_body(CannedReplyIn)
    record = actions().save_canned_reply(body.shortcode, body.language, body.text, body.queue)
    return json_response(canned_out(record), 201)


@bp.api(
    "delete",
    "/api/v1/canned-replies/<int:reply_id>",
    "Delete a canned reply",
    roles=CANNED_EDIT_ROLES,
    status=204,
    tags=("canned replies",),
    errors=(404,),
)
def api_delete_canned_reply(reply_id: int) -> Response:
    actions().delete_canned_reply(reply_id)
    return Response(status=204)
