"""The inbox pages (/console/inbox): the list across the caller's queues with its filters and the search box,
a conversation's customer panel (loaded into the conversation page by htmx, or a page of its own), and labels
added or removed by form posts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from assistant.services.agent_inbox import InboxQuery
from assistant.store.inbox_records import INBOX_STATUSES, SCOPES
from webhooks.console.auth.identity import local_path
from webhooks.console.inbox.context import WORK_ROLES, inbox
from webhooks.console.routes import ConsoleBlueprint

bp = ConsoleBlueprint("inbox", __name__)
WORK = WORK_ROLES
FILTER_KEYS = ("queue", "platform", "language", "label")


def _query() -> InboxQuery:
    """The filters of the page's query string; unknown scope or status fall back to the defaults."""
    args = request.args
    page = args.get("page", "1")
    scope, status = args.get("scope", "all"), args.get("status", "active")
    return InboxQuery(
        scope=scope if scope in SCOPES else "all",
        status=status if status in INBOX_STATUSES else "active",
        page=int(page) if page.isdigit() and int(page) > 0 else 1,
        **{key: args.get(key) or None for key in FILTER_KEYS},
    )


@bp.page("/console/inbox", roles=WORK)
def inbox_page() -> str:
    agent = inbox()
    search = request.args.get("q", "").strip()
    platforms, languages, labels = agent.filter_choices()
    context: dict[str, Any] = {
        "listing": agent.listing(_query()),
        "search": search,
        "hits": agent.search(search) if search else None,
        "scopes": SCOPES,
        "statuses": INBOX_STATUSES,
        "platforms": platforms,
        "languages": languages,
        "labels": labels,
    }
    return render_template("console/inbox.html", **context)


def _customer_context(conversation_id: int) -> dict[str, Any]:
    return {"customer": inbox().customer(conversation_id), "back": local_path(request.args.get("back"))}


@bp.page("/console/conversations/<int:conversation_id>/customer", roles=WORK)
def customer_panel(conversation_id: int) -> str:
    template = "console/_customer_panel.html" if request.headers.get("HX-Request") else "console/customer.html"
    return render_template(template, **_customer_context(conversation_id))


def _after_label(conversation_id: int) -> BaseResponse | str:
    if request.headers.get("HX-Request"):
        return render_template("console/_customer_panel.html", **_customer_context(conversation_id))
    back = local_path(request.form.get("back"))
    return redirect(back or url_for("inbox.customer_panel", conversation_id=conversation_id), 303)


@bp.page("/console/conversations/<int:conversation_id>/labels", roles=WORK, methods=("POST",))
def add_label(conversation_id: int) -> BaseResponse | str:
    inbox().add_label(conversation_id, request.form.get("label", ""))
    return _after_label(conversation_id)


@bp.page("/console/conversations/<int:conversation_id>/labels/<label>/remove", roles=WORK, methods=("POST",))
def remove_label(conversation_id: int, label: str) -> BaseResponse | str:
    inbox().remove_label(conversation_id, label)
    return _after_label(conversation_id)


@bp.app_template_filter("waited")
def waited(since: datetime, now: datetime) -> str:
    """How long the customer has waited, said plainly ("waiting 12 min")."""
    seconds = max(0.0, (now - since).total_seconds())
    if seconds < 60:
        return "waiting < 1 min"
    if seconds < 3600:
        return f"waiting {int(seconds // 60)} min"
    if seconds < 86400:
        return f"waiting {int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    return f"waiting {int(seconds // 86400)} d"
