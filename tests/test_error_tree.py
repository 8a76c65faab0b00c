"""The one error tree (assistant.errors): every error class of the library is an AssistantError of one kind, the
two conflicts are different classes, and each boundary translates a kind once — HTTP by the app factory's one
error handler (status and body), the command line by the `assistant` group (message and exit code)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from flask import Flask

import assistant
import webhooks
from assistant import errors
from assistant.cli import main
from assistant.domain.handoff import HandoffTransitionError
from assistant.domain.kb_entries import KnowledgeBaseError
from assistant.errors import (
    AssistantError,
    AuthError,
    BadInput,
    Conflict,
    Forbidden,
    InputError,
    NotFound,
    NotReady,
    PlatformError,
)
from assistant.store import AccountError, NotFoundError
from assistant.store import errors as store_errors
from tests.console.conftest import console_test_settings
from webhooks.adapters.base import PayloadError, SignatureError
from webhooks.console.openapi import RequestValidationError
from webhooks.http_errors import kind_status

KINDS = (InputError, BadInput, AuthError, Forbidden, NotFound, Conflict, NotReady, PlatformError)
# Not errors: SectionSkipped tells the evaluation runner a section cannot run yet (its noqa says so).
SIGNALS = {"assistant.evaluation.common.SectionSkipped"}
# Family bases: never raised themselves, each member has its kind.
FAMILIES = {AssistantError, store_errors.KbStoreError}


def library_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in (assistant, webhooks):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            # Alembic's env.py runs migrations when imported; wsgi builds the app from the environment; a
            # `__main__` runs its command.
            if ".migrations" in info.name or info.name == "webhooks.wsgi" or info.name.endswith(".__main__"):
                continue
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    return [cls for name, cls in sorted(found.items()) if name not in SIGNALS]


def test_every_library_error_class_is_an_assistant_error_of_one_kind() -> None:
    classes = library_exceptions()
    assert len(classes) >= 25  # the walk found the package, not an empty folder
    outside = [cls.__qualname__ for cls in classes if not issubclass(cls, AssistantError)]
    assert outside == []
    kindless = [
        cls.__qualname__
        for cls in classes
        if cls not in FAMILIES and cls not in KINDS and not any(issubclass(cls, kind) for kind in KINDS)
    ]
    assert kindless == []


def test_old_catches_still_hold() -> None:
    # Callers that catch the standard library's classes keep working.
    assert issubclass(KnowledgeBaseError, ValueError) and issubclass(AccountError, ValueError)
    assert issubclass(store_errors.KbValidationError, ValueError) and issubclass(HandoffTransitionError, ValueError)
    assert issubclass(NotFoundError, LookupError)
    assert issubclass(errors.NotReady, AssistantError)
    from assistant.knowledge.retrieval import IndexMismatchError
    from assistant.nlu.intent_model import ModelMismatchError

    assert issubclass(ModelMismatchError, RuntimeError) and issubclass(IndexMismatchError, RuntimeError)


def test_the_two_conflicts_are_distinct_classes_of_the_conflict_kind() -> None:
    claim, kb = store_errors.ClaimConflictError, store_errors.KbConflictError
    assert claim is not kb and claim.__name__ != kb.__name__
    assert not issubclass(claim, kb) and not issubclass(kb, claim)
    assert issubclass(claim, Conflict) and issubclass(kb, Conflict)
    # The KB's conflict is no KbStoreError/ValueError: the editor's pages catch those before it.
    assert not issubclass(kb, ValueError)


@pytest.mark.parametrize(
    ("error_type", "status"),
    [
        # A refused webhook (SignatureError, PayloadError) answers its own status: see the handler test below.
        (BadInput, 400),
        (InputError, 422),
        (KnowledgeBaseError, 422),
        (AccountError, 422),
        (store_errors.KbValidationError, 422),
        (RequestValidationError, 422),
        (AuthError, 401),
        (Forbidden, 403),
        (NotFound, 404),
        (NotFoundError, 404),
        (store_errors.KbNotFoundError, 404),
        (Conflict, 409),
        (store_errors.KbTransitionError, 409),
        (store_errors.KbConflictError, 409),
        (store_errors.ClaimConflictError, 409),
        (HandoffTransitionError, 409),
        (NotReady, 503),
        (PlatformError, 502),
    ],
)
def test_each_kind_has_one_status(error_type: type[AssistantError], status: int) -> None:
    assert kind_status(error_type) == status


RAISED: dict[str, Callable[[], AssistantError]] = {
    "bad-input": lambda: BadInput("the reply is empty"),
    "input": lambda: AccountError("password too short"),
    "validation": lambda: RequestValidationError("invalid request body", [{"loc": ["name"], "msg": "required"}]),
    "auth": lambda: SignatureError("missing X-Signature"),
    "verify-token": lambda: SignatureError("hub.verify_token does not match", status=403),
    "payload": lambda: PayloadError("body is not JSON"),
    "forbidden": lambda: Forbidden("you are not a member of queue 'billing'"),
    "not-found": lambda: NotFoundError("conversation 7"),
    "conflict": lambda: store_errors.KbTransitionError("an entry in draft can move to review, not to published"),
    "handoff": lambda: HandoffTransitionError("cannot go from human to waiting_for_human"),
    "not-ready": lambda: NotReady("the answer engine is not ready; run `assistant train`"),
    "platform": lambda: PlatformError("Telegram answered 502"),
}


@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    from webhooks.app import create_app

    built = create_app(console_test_settings(tmp_path), enqueue=lambda event: None)

    def raise_it(name: str) -> str:
        raise RAISED[name]()

    built.add_url_rule("/test-errors/<name>", "test_errors", raise_it)
    built.add_url_rule("/console/test-errors/<name>", "test_error_pages", raise_it)
    return built


@pytest.mark.parametrize(
    ("name", "status", "body"),
    [
        ("bad-input", 400, {"error": "the reply is empty"}),
        ("input", 422, {"error": "password too short"}),
        (
            "validation",
            422,
            {"error": "invalid request body", "details": [{"loc": ["name"], "msg": "required"}]},
        ),
        ("auth", 401, {"error": "missing X-Signature"}),
        ("verify-token", 403, {"error": "hub.verify_token does not match"}),
        ("payload", 400, {"error": "body is not JSON"}),
        ("forbidden", 403, {"error": "you are not a member of queue 'billing'"}),
        ("not-found", 404, {"error": "conversation 7"}),
        ("conflict", 409, {"error": "an entry in draft can move to review, not to published"}),
        # The queues register the body of a hand-off conflict: its kind, as the agent API always answered.
        ("handoff", 409, {"error": "cannot go from human to waiting_for_human", "kind": "handoff"}),
        ("not-ready", 503, {"error": "the answer engine is not ready; run `assistant train`"}),
        ("platform", 502, {"error": "Telegram answered 502"}),
    ],
)
def test_the_http_handler_answers_each_kind_with_its_status_and_body(
    app: Flask, name: str, status: int, body: dict[str, object]
) -> None:
    answer = app.test_client().get(f"/test-errors/{name}")
    assert answer.status_code == status
    assert answer.get_json() == body


def test_console_pages_get_a_fragment_an_error_page_or_a_redirect_back(app: Flask) -> None:
    client = app.test_client()
    fragment = client.get("/console/test-errors/handoff", headers={"HX-Request": "true"})
    assert fragment.status_code == 409
    assert 'data-testid="action-error"' in fragment.text and "cannot go from human" in fragment.text
    page = client.get("/console/test-errors/forbidden")
    assert page.status_code == 403
    assert "Not available" in page.text and "you are not a member of queue" in page.text
    back = client.get("/console/test-errors/bad-input", headers={"Referer": "/console/escalations/3"})
    assert back.status_code == 303 and back.headers["Location"].endswith("/console/escalations/3")
    with client.session_transaction() as session:
        assert ("error", "the reply is empty") in session["_flashes"]


@pytest.fixture()
def raising_command() -> Iterator[str]:
    @click.command("test-raise")
    @click.argument("name")
    def raise_it(name: str) -> None:
        if name == "missing-file":
            raise FileNotFoundError("no such file: faq.csv")
        if name == "bug":
            raise RuntimeError("a bug, not the user's")
        raise RAISED[name]()

    main.add_command(raise_it)
    try:
        yield "test-raise"
    finally:
        main.commands.pop("test-raise")


@pytest.mark.parametrize("name", sorted(RAISED))
def test_the_cli_prints_every_kind_as_one_line_and_exits_2(raising_command: str, name: str) -> None:
    result = CliRunner().invoke(main, [raising_command, name])
    assert result.exit_code == 2
    assert f"error: {RAISED[name]()}" in result.output
    assert "Traceback" not in result.output


def test_the_cli_exits_2_for_a_missing_file_and_1_for_a_bug(raising_command: str) -> None:
    missing = CliRunner().invoke(main, [raising_command, "missing-file"])
    assert missing.exit_code == 2 and "error: no such file: faq.csv" in missing.output
    bug = CliRunner().invoke(main, [raising_command, "bug"])
    assert bug.exit_code == 1 and isinstance(bug.exception, RuntimeError)
