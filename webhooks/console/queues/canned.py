"""The canned replies page (/console/canned-replies): everyone who works queues or keeps the KB lists them by
language and queue; editors and admins create, change and delete them (the same use cases as the API). A text
the checks refuse is shown again in its form with the reason, not lost."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from assistant.domain.kb_entries import ANSWER_PLACEHOLDERS
from assistant.errors import Conflict, InputError
from webhooks.console.queues.context import CANNED_EDIT_ROLES, CANNED_READ_ROLES, actions, settings
from webhooks.console.routes import ConsoleBlueprint

bp = ConsoleBlueprint("canned", __name__)


def _form() -> dict[str, Any]:
    return {
        "shortcode": request.form.get("shortcode", "").strip(),
        "language": request.form.get("language", "").strip(),
        "queue": request.form.get("queue", "").strip() or None,
        "text": request.form.get("text", ""),
    }


def _page(form: dict[str, Any] | None = None, error: str | None = None, editing: int | None = None) -> str:
    canned = actions().canned
    queue = request.args.get("queue") or None
    language = request.args.get("language") or None
    return render_template(
        "console/canned_replies.html",
        replies=canned.listing(queue, language),
        can_edit=canned.can_edit,
        queues=settings().console.queues,
        languages=settings().languages,
        default_language=settings().default_language,
        placeholders=sorted(ANSWER_PLACEHOLDERS),
        filter_queue=queue,
        filter_language=language,
        form=form or {},
        error=error,
        editing=editing,
    )


@bp.page("/console/canned-replies", roles=CANNED_READ_ROLES)
def canned_list() -> str:
    return _page()


@bp.page("/console/canned-replies/<int:reply_id>", roles=CANNED_EDIT_ROLES)
def canned_edit(reply_id: int) -> str:
    reply = actions().canned.get(reply_id)
    form = {"shortcode": reply.shortcode, "language": reply.language, "queue": reply.queue, "text": reply.text}
    return _page(form, editing=reply_id)


@bp.page("/console/canned-replies", roles=CANNED_EDIT_ROLES, methods=("POST",))
def canned_create() -> BaseResponse | tuple[str, int]:
    form = _form()
    try:
        record = actions().canned.save(**form)
    except InputError as error:
        return _page(form, str(error)), 422
    flash(f"Saved /{record.shortcode} ({record.language}).", "success")
    return redirect(url_for("canned.canned_list"), 303)


@bp.page("/console/canned-replies/<int:reply_id>", roles=CANNED_EDIT_ROLES, methods=("POST",))
def canned_update(reply_id: int) -> BaseResponse | tuple[str, int]:
    form = _form()
    try:
        record = actions().canned.update(reply_id, **form)
    except InputError as error:
        return _page(form, str(error), reply_id), 422
    except Conflict as error:
        return _page(form, str(error), reply_id), 409
    flash(f"Saved /{record.shortcode} ({record.language}).", "success")
    return redirect(url_for("canned.canned_list"), 303)


@bp.page("/console/canned-replies/<int:reply_id>/delete", roles=CANNED_EDIT_ROLES, methods=("POST",))
def canned_delete(reply_id: int) -> BaseResponse:
    actions().canned.delete(reply_id)
    flash("Canned reply deleted.", "success")
    return redirect(url_for("canned.canned_list"), 303)
