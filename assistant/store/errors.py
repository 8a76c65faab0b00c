"""The store's errors, each under its kind in the one error tree (`assistant.errors`)."""

from __future__ import annotations

from assistant.errors import AssistantError, Conflict, InputError, NotFound, NotReady
from assistant.store.kb_records import EntryContent, KbEntryRecord
from assistant.store.records import EscalationRecord


class NotFoundError(NotFound, LookupError):
    """The conversation, escalation or outbound row does not exist."""


class ClaimConflictError(Conflict):
    """The escalation is not in the state the caller acted on; `current` is what it is now.

    kind: "stale" (the version moved on), "held" (another person holds it), "resolved" (already settled).
    """

    def __init__(self, kind: str, message: str, current: EscalationRecord, holder: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.current = current
        self.holder = holder


class AccountError(InputError, ValueError):
    """A user, token or password the store refuses (unknown user, taken name, weak password, bad role)."""


class KbStoreError(AssistantError, ValueError):
    """A request the store refuses; the family of the three below, each of its own kind (see assistant.errors)."""


class KbNotFoundError(KbStoreError, NotFound):
    pass


class KbValidationError(KbStoreError, InputError):
    """Content that would break the bot: the message names the field (as the YAML loader does)."""


class KbTransitionError(KbStoreError, Conflict):
    """A move the workflow does not allow (draft → published, an unknown status, publishing a never-published
    version)."""


class KbConflictError(Conflict):
    """A save made on an old version: nothing was written; `current` is what is stored now and `diff` shows
    how the caller's content differs from it, so the caller can merge and save again."""

    def __init__(self, current: KbEntryRecord, submitted: EntryContent | None, diff: str) -> None:
        super().__init__(f"entry {current.entry_id!r} is at version {current.version}; reload and merge")
        self.current = current
        self.submitted = submitted
        self.diff = diff


class StoreUnavailableError(NotReady):
    """The database did not take a write that must happen before anything is acknowledged (it is down, locked past
    its busy timeout, or full): the caller answers "try again later" and loses nothing."""
