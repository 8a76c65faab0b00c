"""The inbox use cases for the caller of a request, on the queues package's console store and settings."""

from __future__ import annotations

from assistant.services.agent_inbox import AgentInbox, InboxDeps
from webhooks.console.auth.identity import audit, current_account
from webhooks.console.queues.context import WORK_ROLES, console_store, settings

__all__ = ["WORK_ROLES", "inbox"]


def inbox() -> AgentInbox:
    return AgentInbox(InboxDeps(console=console_store(), settings=settings(), audit=audit), current_account())
