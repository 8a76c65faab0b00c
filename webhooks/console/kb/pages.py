"""The KB editor's pages (/console/kb…): the entry list, the edit page with its versions, workflow buttons,
restore and diff, and the htmx preview box. Each view reads the form, calls one editor use case and renders."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from assistant.domain.kb_entries import LANGUAGE_PATTERN, STATUSES
from assistant.errors import NotReady
from assistant.services.kb_editing import Draft
from assistant.store import EntryContent, KbConflictError, KbEntryRecord, KbNotFoundError, KbStoreError
from assistant.store.kb import TRANSITIONS
from webhooks.console.kb.context import EDIT_ROLES, editor, entry_languages, kb_store, settings
from webhooks.console.kb.schemas import preview_out
from webhooks.console.routes import ConsoleBlueprint

LIST_PAGE = 100  # entries per page of /console/kb; a 10,000-entry KB is browsed page by page or searched

bp = ConsoleBlueprint("kb", __name__)


def _form_content(entry_id: str) -> EntryContent:
    """The entry as the edit form sends it: per language (`q_<lang>`, `a_<lang>`), phrasings one per line and
    the answer; `new_lang` names a language the editor adds."""
    form = request.form
    languages = sorted({key[2:] for key in form if key.startswith(("q_", "a_")) and LANGUAGE_PATTERN.match(key[2:])})
    extra = form.get("new_lang", "").strip()
    questions: dict[str, list[str]] = {}
    answers: dict[str, str] = {}
    for lang in languages:
        lines = [line.strip() for line in form.get(f"q_{lang}", "").splitlines() if line.strip()]
        if lines:
            questions[lang] = lines
        answer = form.get(f"a_{lang}", "").replace("\r\n", "\n").strip()
        if answer:
            answers[lang] = answer
    if extra and LANGUAGE_PATTERN.match(extra):
        lines = [line.strip() for line in form.get("q_new", "").splitlines() if line.strip()]
        if lines:
            questions[extra] = questions.get(extra, []) + lines
        answer = form.get("a_new", "").replace("\r\n", "\n").strip()
        if answer:
            answers[extra] = answer
    tags = [tag.strip() for tag in form.get("tags", "").split(",") if tag.strip()]
    source = form.get("source_file", "").strip() or None
    return EntryContent(entry_id, questions, answers, tags, source)


def _edit_page(
    record: KbEntryRecord | None,
    content: EntryContent | None = None,
    error: str | None = None,
    conflict: KbConflictError | None = None,
    status: int = 200,
) -> tuple[str, int]:
    shown = content or (record.content if record is not None else EntryContent("", {}, {}))
    listed = entry_languages(record)
    for lang in [*shown.questions, *shown.answers]:
        if lang not in listed:
            listed.append(lang)
    versions = kb_store().versions(record.entry_id) if record is not None else []
    configured = list(settings().languages)
    missing = {
        lang: [
            part
            for part, present in (("questions", shown.questions.get(lang)), ("answer", shown.answers.get(lang)))
            if not present
        ]
        for lang in configured
    }
    return render_template(
        "console/kb_entry.html",
        record=record,
        content=shown,
        languages=listed,
        missing={lang: parts for lang, parts in missing.items() if parts},
        versions=versions,
        duplicates=editor().publish_warnings(record) if record is not None and record.status == "review" else [],
        transitions=TRANSITIONS[record.status] if record is not None else (),
        expected_version=conflict.current.version if conflict is not None else (record.version if record else None),
        error=error,
        conflict=conflict,
    ), status


@bp.page("/console/kb", roles=EDIT_ROLES)
def kb_list() -> str:
    q = request.args.get("q", "").strip()[:200]
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    page = request.args.get("page", "1")
    page_number = int(page) if page.isdigit() and int(page) > 0 else 1
    records, total = kb_store().search(q or None, status or None, limit=LIST_PAGE, offset=(page_number - 1) * LIST_PAGE)
    configured = list(settings().languages)
    return render_template(
        "console/kb_list.html",
        records=records,
        total=total,
        q=q,
        status=status,
        statuses=STATUSES,
        missing={r.entry_id: r.missing_languages(configured) for r in records},
        page=page_number,
        pages=max(1, -(-total // LIST_PAGE)),
        first_shown=(page_number - 1) * LIST_PAGE + 1,
    )


@bp.page("/console/kb/new", roles=EDIT_ROLES)
def kb_new() -> tuple[str, int]:
    return _edit_page(None)


@bp.page("/console/kb/new", roles=EDIT_ROLES, methods=("POST",))
def kb_create() -> BaseResponse | tuple[str, int]:
    entry_id = request.form.get("entry_id", "").strip()
    content = _form_content(entry_id)
    try:
        record = editor().save(content, None, request.form.get("note") or None, "draft")
    except KbConflictError:
        return _edit_page(None, content, f"An entry {entry_id!r} exists already.", status=409)
    except KbStoreError as error:
        return _edit_page(None, content, str(error), status=422)
    flash(f"Created {record.entry_id} (draft, version {record.version}).", "success")
    return redirect(url_for("kb.kb_entry", entry_id=record.entry_id))


@bp.page("/console/kb/<entry_id>", roles=EDIT_ROLES)
def kb_entry(entry_id: str) -> tuple[str, int]:
    try:
        record = kb_store().get(entry_id)
    except KbNotFoundError:
        return render_template(
            "console/error.html", code=404, title="Not found", message=f"There is no KB entry {entry_id!r}."
        ), 404
    return _edit_page(record)


@bp.page("/console/kb/<entry_id>", roles=EDIT_ROLES, methods=("POST",))
def kb_save(entry_id: str) -> BaseResponse | tuple[str, int]:
    try:
        record = kb_store().get(entry_id)
    except KbNotFoundError:
        return redirect(url_for("kb.kb_list"))
    content = _form_content(entry_id)
    try:
        expected = int(request.form.get("expected_version", ""))
    except ValueError:
        return _edit_page(record, content, "The form lacks the version it was loaded at; reload the page.", status=400)
    status = "review" if request.form.get("then") == "review" else "draft"
    try:
        saved = editor().save(content, expected, request.form.get("note") or None, status)
    except KbConflictError as conflict:
        message = (
            f"{conflict.current.updated_by or 'Someone'} saved version {conflict.current.version} while you were "
            "editing. Your text is still in the form below; compare, merge, and save again."
        )
        return _edit_page(conflict.current, content, message, conflict, status=409)
    except KbStoreError as error:
        return _edit_page(record, content, str(error), status=422)
    flash(f"Saved version {saved.version} ({saved.status}).", "success")
    return redirect(url_for("kb.kb_entry", entry_id=entry_id))


@bp.page("/console/kb/<entry_id>/status", roles=EDIT_ROLES, methods=("POST",))
def kb_status(entry_id: str) -> BaseResponse:
    try:
        expected = int(request.form.get("expected_version", ""))
        changed = editor().transition(
            entry_id, request.form.get("status", ""), expected, request.form.get("note") or None
        )
    except ValueError as error:
        flash(str(error) if isinstance(error, KbStoreError) else "Reload the page and try again.", "error")
    except KbConflictError:
        flash("Someone changed this entry meanwhile; look at the new version and try again.", "error")
    else:
        live = " It is live now; workers switch to it in seconds." if changed.record.status == "published" else ""
        flash(f"{entry_id} is {changed.record.status} (version {changed.record.version}).{live}", "success")
    return redirect(url_for("kb.kb_entry", entry_id=entry_id))


@bp.page("/console/kb/<entry_id>/restore", roles=EDIT_ROLES, methods=("POST",))
def kb_restore(entry_id: str) -> BaseResponse:
    try:
        version = int(request.form.get("version", ""))
        publish = request.form.get("publish") == "1"
        changed = editor().restore(entry_id, version, None, publish)
    except ValueError as error:
        flash(str(error) if isinstance(error, KbStoreError) else "Choose a version to restore.", "error")
    else:
        what = "rolled back and live" if publish else "restored as a draft"
        flash(f"Version {version} {what} (now version {changed.record.version}).", "success")
    return redirect(url_for("kb.kb_entry", entry_id=entry_id))


@bp.page("/console/kb/<entry_id>/diff", roles=EDIT_ROLES)
def kb_diff(entry_id: str) -> tuple[str, int]:
    try:
        v1, v2 = int(request.args.get("v1", "")), int(request.args.get("v2", ""))
        diff = kb_store().diff(entry_id, v1, v2)
    except (ValueError, KbStoreError):
        return render_template(
            "console/error.html", code=404, title="Not found", message="Those versions do not exist."
        ), 404
    return render_template("console/kb_diff.html", entry_id=entry_id, v1=v1, v2=v2, diff=diff), 200


@bp.page("/console/kb/preview", roles=EDIT_ROLES, methods=("POST",))
def kb_preview() -> tuple[str, int]:
    """htmx: the preview box of the edit page, run against the form's unsaved content."""
    question = request.form.get("preview_question", "").strip()[:2000]
    if not question:
        return render_template("console/_kb_preview.html", result=None, error="Type a question first."), 200
    entry_id = request.form.get("entry_id", "").strip() or None
    content = _form_content(entry_id or "")
    draft = Draft(entry_id, content.questions, content.answers)
    try:
        result = preview_out(editor().preview(question, None, draft))
    except NotReady as error:
        return render_template("console/_kb_preview.html", result=None, error=str(error)), 200
    return render_template("console/_kb_preview.html", result=result, error=None), 200
