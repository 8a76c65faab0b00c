"""The one error tree: every error the library raises on purpose is an `AssistantError`, and its *kind* (the
second level) says what the caller can do about it. The boundaries translate kinds, never single classes:
HTTP once in `webhooks/http_errors.py` (one Flask error handler, installed by the app factory), exit codes once
in `assistant/cli.py` (the `assistant` group).

    AssistantError                    the root; str(error) is the message for people               HTTP / CLI
    ├── InputError                    the input is wrong: a file, a row, a setting, a field          422 / 2
    │   ├── BadInput                  unusable input: not JSON, empty, too long, no such choice      400 / 2
    │   │   └── PayloadError          a platform's webhook body (webhooks.adapters.base)
    │   ├── KnowledgeBaseError        a KB file or import row, "path:line: ..." (knowledge_base)
    │   ├── NluDataError              the Rasa NLU training file (nlu_data)
    │   ├── KbTestFileError           a test file of `assistant test` (evaluation.kb_tests)
    │   ├── CalendarError             business hours that never open or never close (business_hours)
    │   ├── AccountError              a user, password, role or token name refused (store.errors)
    │   ├── ConfigurationError        a deployment the service must not run on: e.g. a Redis that may
    │   │                             evict queue keys (webhooks.redis_requirements)
    │   ├── KbValidationError         editor content that would break the bot (store.errors)
    │   └── RequestValidationError    a body or query failing its model, with per-field `details`
    │                                 (webhooks.console.openapi)
    ├── AuthError                     missing or wrong credentials                                   401 / 2
    │   └── SignatureError            a webhook's signature (webhooks.adapters.base)
    ├── Forbidden                     a known caller who may not do this (role, queue)               403 / 2
    ├── NotFound                      what was asked for does not exist                              404 / 2
    │   ├── NotFoundError             a conversation, escalation or outbound row (store.errors)
    │   └── KbNotFoundError           a KB entry or version (store.errors)
    ├── Conflict                      the state moved on or forbids the change; carries the          409 / 2
    │   │                             current state where there is one
    │   ├── ClaimConflictError        escalation stale, held by another, settled (store.errors)
    │   ├── KbConflictError           a KB save on an old version: current and diff (store.errors)
    │   ├── KbTransitionError         a move the KB workflow does not allow (store.errors)
    │   ├── HandoffTransitionError    a bot/human hand-off move not allowed (handoff)
    │   ├── ReplyConflictError        reply window closed, no reply address (services.reply_rules)
    │   └── UnansweredResolveError    resolving what nobody answered, unconfirmed (services.agent_actions)
    ├── NotReady                      index or models missing or stale: run `assistant train`;       503 / 2
    │   │                             or a part the service needs is down for now
    │   ├── IndexMismatchError        (retrieval)
    │   ├── ModelMismatchError        (intent_model)
    │   ├── StoreUnavailableError     the database did not take a write (store.errors)
    │   ├── QueueUnavailableError     the task queue did not take a task (services.intake)
    │   └── ConversationBusyError     another worker is deciding the conversation (services.inbound)
    └── PlatformError                 an outside platform's request or answer    its `status`, else 502 / 2
        └── WebhookError              a webhook request refused (webhooks.adapters.base); `status` is
            │                         the one the platform's contract asks for (401, 403, 400)
            ├── SignatureError        (also an AuthError)
            └── PayloadError          (also a BadInput)

`KbStoreError` (store.errors) is the family base of the KB store's errors, not a kind: each member has one.
The command line exits 2 for every kind, as click does for usage errors (the message says which; exit 1 stays
a bug, with its traceback). Where callers catch `ValueError`, `LookupError` or `RuntimeError`, a class keeps
that as its second base.
"""

# ruff: noqa: N818 - a kind names the situation (`except NotFound`); "NotFoundError" and "ConflictError" are
# taken by members of the tree
from __future__ import annotations


class AssistantError(Exception):
    """The root of every error the library raises on purpose; `str(error)` is a message for people."""


class InputError(AssistantError):
    """The input is wrong (a file, a row, a setting, a request field); the message says where and why."""


class BadInput(InputError):
    """Input that cannot be used at all: not JSON, empty, over a limit, not one of the choices."""


class ConfigurationError(InputError):
    """A setting of the deployment (not of one request) that the service refuses to run with; the message says
    what to set instead. Raised at start-up (by the app factory that gunicorn and the worker run), so the process
    does not start."""


class AuthError(AssistantError):
    """Missing or wrong credentials (a token, a password, a signature)."""


class Forbidden(AssistantError):
    """The caller is known but may not do this (role, queue membership)."""


class NotFound(AssistantError):
    """What was asked for does not exist."""


class Conflict(AssistantError):
    """The state moved on (someone acted first) or does not allow the change; the subclass carries the current
    state where there is one, so the caller can reload, merge and retry."""


class NotReady(AssistantError):
    """The index or the models are missing or were built for another KB or model: run `assistant train`."""


class PlatformError(AssistantError):
    """Something about an outside platform (a webhook request refused, an answer that cannot be used)."""
