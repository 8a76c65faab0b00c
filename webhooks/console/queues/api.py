"""The queues API (/api/v1/…): the caller's queues and their escalations, one escalation with its conversation,
and the agent's actions on it; canned replies. Each view parses, calls one agent use case and maps the result."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, request

from assistant.domain.messages import HandoffState
from assistant.services.agent_actions import AgentActions
from assistant.store import EscalationRecord
from webhooks.console.openapi import json_body, json_response, model_from, query_model
from webhooks.console.queues.context import (
    CANNED_EDIT_ROLES,
    CANNED_READ_ROLES,
    WORK_ROLES,
    actions,
    console_store,
)
from webhooks.console.queues.mapping import (
    canned_out,
    changed_out,
    detail_out,
    feedback_out,
    listing_out,
    note_out,
    queue_out,
)
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
    ResolveIn,
    TransferIn,
    VersionIn,
)
from webhooks.console.routes import ConsoleBlueprint, View

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


def _escalation_action(action: str, summary: str, body: type[VersionIn]) -> Callable[[View], View]:
    """An agent's change to one escalation, POST /api/v1/escalations/<id>/<action>: answered with the escalation
    as it is now; a stale `version`, or someone else holding it: 409."""
    rule = f"/api/v1/escalations/<int:escalation_id>/{action}"
    return bp.change(rule, summary, body, EscalationOut, roles=WORK, tags=("escalations",))


def _changed(change: Callable[[AgentActions], EscalationRecord]) -> Response:
    """Run one agent action on the caller's behalf and answer with the escalation it changed."""
    agent = actions()
    return json_response(changed_out(agent, change(agent)))


@_escalation_action("claim", "Claim an open escalation; if someone else holds it: 409 with who", VersionIn)
def api_claim(escalation_id: int) -> Response:
    version = _version_body().version
    return _changed(lambda agent: agent.claim(escalation_id, version))


@bp.api(
    "post",
    "/api/v1/escalations/<int:escalation_id>/reply",
    "Reply to the customer through the platform (queued for delivery; the conversation becomes a person's); "
    "with `resolve`, reply and resolve in one action",
    request=ReplyIn,
    response=ReplyOut,
    roles=WORK,
    status=202,
    tags=("escalations",),
    errors=(404, 409),
    description="Placeholders ({first_name}, {brand}, …) are filled with the customer's values before it is "
    "stored and sent; an unknown one is 422. Outside Meta's 24-hour window the answer is 409 with "
    "`alternative.human_agent_tag` when a HUMAN_AGENT-tagged message is still allowed (Messenger and Instagram, "
    "up to 7 days).",
)
def api_reply(escalation_id: int) -> Response:
    body = json_body(ReplyIn)
    key = body.idempotency_key or request.headers.get("Idempotency-Key")
    agent = actions()
    send = agent.reply_and_resolve if body.resolve else agent.reply
    result = send(escalation_id, body.text, key, body.version, body.human_agent_tag)
    out = model_from(
        ReplyOut,
        result.outbound,
        outbound_id=result.outbound.id,
        created=result.created,
        escalation=changed_out(agent, result.escalation),
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
    return json_response(note_out(actions().note(escalation_id, json_body(NoteIn).text)), 201)


@_escalation_action(
    "priority", "Set the priority (a higher one can pull the SLA due time earlier, never later)", PriorityIn
)
def api_priority(escalation_id: int) -> Response:
    body = json_body(PriorityIn)
    return _changed(lambda agent: agent.set_priority(escalation_id, body.priority, body.version))


@_escalation_action("transfer", "Move to another queue, where it waits unclaimed", TransferIn)
def api_transfer(escalation_id: int) -> Response:
    body = json_body(TransferIn)
    return _changed(lambda agent: agent.transfer(escalation_id, body.queue, body.version))


@_escalation_action(
    "resolve",
    "Resolve: the conversation is closed (the customer's next message starts afresh with the bot); nobody "
    "replied yet: 409 `unanswered` unless `confirm_unanswered`",
    ResolveIn,
)
def api_resolve(escalation_id: int) -> Response:
    body = json_body(ResolveIn) if request.get_data() else ResolveIn()
    return _changed(
        lambda agent: agent.settle(escalation_id, HandoffState.CLOSED, body.version, body.confirm_unanswered)
    )


@_escalation_action(
    "hand-back",
    "Hand the conversation back to the bot (resolves the escalation; the bot answers the next message)",
    VersionIn,
)
def api_hand_back(escalation_id: int) -> Response:
    version = _version_body().version
    return _changed(lambda agent: agent.settle(escalation_id, HandoffState.BOT, version))


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
    return json_response(feedback_out(record), 201)


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
    items = actions().canned.listing(query.queue, query.language)
    return json_response(CannedReplyListOut(items=[canned_out(item) for item in items]))


@bp.api(
    "post",
    "/api/v1/canned-replies",
    "Create or replace the canned reply for (shortcode, language, queue); an unknown placeholder is 422",
    request=CannedReplyIn,
    response=CannedReplyOut,
    roles=CANNED_EDIT_ROLES,
    status=201,
    tags=("canned replies",),
    errors=(404, 422),
)
def api_save_canned_reply() -> Response:
    body = json_body(CannedReplyIn)
    record = actions().canned.save(body.shortcode, body.language, body.text, body.queue)
    return json_response(canned_out(record), 201)


@bp.api(
    "put",
    "/api/v1/canned-replies/<int:reply_id>",
    "Change a canned reply (its shortcode, language, queue or text); onto another reply's key: 409",
    request=CannedReplyIn,
    response=CannedReplyOut,
    roles=CANNED_EDIT_ROLES,
    tags=("canned replies",),
    errors=(404, 409, 422),
)
def api_update_canned_reply(reply_id: int) -> Response:
    body = json_body(CannedReplyIn)
    record = actions().canned.update(reply_id, body.shortcode, body.language, body.text, body.queue)
    return json_response(canned_out(record))


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
    actions().canned.delete(reply_id)
    return Response(status=204)
