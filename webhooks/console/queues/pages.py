"""The queues pages (/console/…): the queue list, one queue's escalations, one conversation, and the agent's
actions as form posts (htmx swaps the live part of the page; plain posts redirect back with a message)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from assistant.domain.messages import HandoffState
from assistant.services.agent_actions import PRIORITY_NAMES, can_see_queue
from assistant.store.escalations import GAP_REASONS
from assistant.store.queues import LIST_FILTERS
from webhooks.console.queues.context import WORK_ROLES, actions, console_store, settings
from webhooks.console.queues.mapping import detail_out, listing_out
from webhooks.console.routes import ConsoleBlueprint

bp = ConsoleBlueprint("queues", __name__)
WORK = WORK_ROLES

# Pages
#
# New escalations appear by polling, not Server-Sent Events: each open page asks every `console.poll_seconds`
# for a change token (two indexed MAX() lookups) and gets 204 (htmx swaps nothing) until something changed.
# SSE would hold one gunicorn sync worker per open tab for as long as it is open, and the same workers answer
# the platforms' webhooks; a poll is over in a millisecond and needs no extra server or proxy settings.


def _form_version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() else None


def _poll_ms() -> int:
    return int(settings().console.poll_seconds * 1000)


@bp.page("/console/queues", "/console/", roles=WORK)
def queue_list() -> str:
    return render_template("console/queues.html", **_overview_context())


@bp.page("/console/queues/poll", roles=WORK)
def queue_list_poll() -> Response | str:
    token = console_store().changes_token()
    if request.args.get("token") == token:
        return Response(status=204)
    return render_template("console/_queue_cards.html", **_overview_context(token))


def _overview_context(token: str | None = None) -> dict[str, Any]:
    overview = actions().overview()
    return {
        "queues": overview.queues,
        "token": token or overview.token,
        "now": overview.now,
        "poll_ms": _poll_ms(),
        "processing_failed": overview.processing_failed,
        "failure_window_days": overview.failure_window_days,
    }


def _queue_context(queue: str) -> dict[str, Any]:
    show = request.args.get("show", "active")
    if show not in LIST_FILTERS:
        show = "active"
    page = request.args.get("page", "1")
    listing = actions().listing(queue, show, int(page) if page.isdigit() and int(page) > 0 else 1, None)
    return {
        "queue": listing.queue,
        "listing": listing_out(listing),
        "show": show,
        "filters": LIST_FILTERS,
        "now": listing.now,
        "poll_ms": _poll_ms(),
    }


@bp.page("/console/queues/<queue>", roles=WORK)
def queue_page(queue: str) -> str:
    return render_template("console/queue.html", **_queue_context(queue))


@bp.page("/console/queues/<queue>/poll", roles=WORK)
def queue_poll(queue: str) -> Response | str:
    if request.args.get("token") == console_store().changes_token():
        return Response(status=204)
    return render_template("console/_queue_body.html", **_queue_context(queue))


def _conversation_context(escalation_id: int) -> dict[str, Any]:
    agent = actions()
    view = agent.conversation(escalation_id)
    detail = view.detail
    conversation = detail.conversation
    canned = agent.canned.for_conversation(detail.escalation.queue, conversation.language)
    return {
        "detail": detail,
        "view": detail_out(view),
        "me": agent.user,
        "queues": agent.config.queues,
        "priorities": list(PRIORITY_NAMES),
        "canned": canned,
        "canned_json": {code: reply.text for code, reply in canned.items()},
        # What each reply becomes for this customer (filled at send time exactly like this).
        "canned_sent": agent.canned.as_sent(canned, conversation.language, conversation.sender_name),
        "human_replied": view.human_replied,
        "now": view.now,
        "poll_ms": _poll_ms(),
        "idempotency_key": uuid.uuid4().hex,
        "max_reply_chars": agent.config.max_reply_chars,
        "gap_reasons": GAP_REASONS,
    }


@bp.page("/console/escalations/<int:escalation_id>", roles=WORK)
def conversation_page(escalation_id: int) -> str:
    return render_template("console/conversation.html", **_conversation_context(escalation_id))


@bp.page("/console/escalations/<int:escalation_id>/poll", roles=WORK)
def conversation_poll(escalation_id: int) -> BaseResponse | str:
    if request.args.get("token") == actions().conversation_token(escalation_id):
        return Response(status=204)
    return render_template("console/_conversation_live.html", **_conversation_context(escalation_id))


def _after_action(escalation_id: int, message: str, leave: bool = False) -> BaseResponse | str:
    """htmx: the refreshed live part of the page (or off to the queue when the escalation left it); plain form
    posts: back to the page with a flash message."""
    if leave:
        target = url_for("queues.queue_list")
        if request.headers.get("HX-Request"):
            flash(message, "success")
            response = Response(status=204)
            response.headers["HX-Redirect"] = target
            return response
        flash(message, "success")
        return redirect(target, 303)
    if request.headers.get("HX-Request"):
        return render_template(
            "console/_conversation_live.html", flash_message=message, **_conversation_context(escalation_id)
        )
    flash(message, "success")
    return redirect(url_for("queues.conversation_page", escalation_id=escalation_id), 303)


@bp.page("/console/escalations/<int:escalation_id>/claim", roles=WORK, methods=("POST",))
def page_claim(escalation_id: int) -> BaseResponse | str:
    actions().claim(escalation_id, _form_version())
    return _after_action(escalation_id, "Claimed: it is yours now.")


@bp.page("/console/escalations/<int:escalation_id>/reply", roles=WORK, methods=("POST",))
def page_reply(escalation_id: int) -> BaseResponse | str:
    agent = actions()
    and_resolve = request.form.get("and_resolve") == "1"
    send = agent.reply_and_resolve if and_resolve else agent.reply
    result = send(
        escalation_id,
        request.form.get("text", ""),
        request.form.get("idempotency_key") or None,
        None,
        request.form.get("human_agent_tag") == "1",
    )
    message = "Reply queued for delivery." if result.created else "That reply was already sent."
    if result.outbound.mode == "human_agent":
        message = "Reply queued as a human-agent message (Meta's HUMAN_AGENT tag)."
    if and_resolve:
        return _after_action(escalation_id, f"{message} Escalation {escalation_id} resolved.", leave=True)
    return _after_action(escalation_id, message)


@bp.page("/console/escalations/<int:escalation_id>/note", roles=WORK, methods=("POST",))
def page_note(escalation_id: int) -> BaseResponse | str:
    actions().note(escalation_id, request.form.get("text", ""))
    return _after_action(escalation_id, "Note added.")


@bp.page("/console/escalations/<int:escalation_id>/priority", roles=WORK, methods=("POST",))
def page_priority(escalation_id: int) -> BaseResponse | str:
    priority = request.form.get("priority", "")
    actions().set_priority(escalation_id, priority, _form_version())
    return _after_action(escalation_id, f"Priority set to {priority}.")


@bp.page("/console/escalations/<int:escalation_id>/transfer", roles=WORK, methods=("POST",))
def page_transfer(escalation_id: int) -> BaseResponse | str:
    queue = request.form.get("queue", "")
    agent = actions()
    agent.transfer(escalation_id, queue, _form_version())
    return _after_action(escalation_id, f"Moved to {queue}.", leave=not can_see_queue(agent.user, queue))


@bp.page("/console/escalations/<int:escalation_id>/resolve", roles=WORK, methods=("POST",))
def page_resolve(escalation_id: int) -> BaseResponse | str:
    confirmed = request.form.get("confirm_unanswered") == "1"
    actions().settle(escalation_id, HandoffState.CLOSED, _form_version(), confirmed)
    return _after_action(escalation_id, f"Escalation {escalation_id} resolved.", leave=True)


@bp.page("/console/escalations/<int:escalation_id>/resolve", roles=WORK)
def page_resolve_confirm(escalation_id: int) -> str:
    """The confirm step before resolving an escalation nobody answered (htmx: the fragment; else the page)."""
    view = actions().conversation(escalation_id)
    template = "console/_resolve_confirm.html" if request.headers.get("HX-Request") else "console/resolve_confirm.html"
    shown = detail_out(view)
    return render_template(
        template,
        view=shown,
        escalation=shown.escalation,
        sender=shown.conversation.sender_name,
        human_replied=view.human_replied,
    )


@bp.page("/console/escalations/<int:escalation_id>/hand-back", roles=WORK, methods=("POST",))
def page_hand_back(escalation_id: int) -> BaseResponse | str:
    actions().settle(escalation_id, HandoffState.BOT, _form_version())
    return _after_action(
        escalation_id, f"Conversation handed back to the bot (escalation {escalation_id}).", leave=True
    )


@bp.page("/console/escalations/<int:escalation_id>/feedback", roles=WORK, methods=("POST",))
def page_feedback(escalation_id: int) -> BaseResponse | str:
    verdict = request.form.get("verdict", "")
    actions().feedback(escalation_id, verdict, request.form.get("entry_id") or None, None)
    return _after_action(escalation_id, f"Thanks: suggestion marked {verdict}.")


# Template filters: SLA timers and ages, said relatively ("due in 12 min", "3 h overdue"); queues.js keeps them
# current between swaps.


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        hours, rest = divmod(int(seconds), 3600)
        return f"{hours} h {rest // 60:02d} min" if hours < 10 else f"{hours} h"
    return f"{int(seconds // 86400)} d"


@bp.app_template_filter("sla_timer")
def sla_timer(due: datetime, now: datetime, answered: datetime | None = None) -> str:
    if answered is not None:
        return "answered"
    left = (due - now).total_seconds()
    return f"due in {_span(left)}" if left >= 0 else f"{_span(left)} overdue"


@bp.app_template_filter("ago")
def ago(moment: datetime, now: datetime) -> str:
    delta = (now - moment).total_seconds()
    if abs(delta) < 45:
        return "just now"
    return f"{_span(delta)} ago" if delta > 0 else f"in {_span(delta)}"
