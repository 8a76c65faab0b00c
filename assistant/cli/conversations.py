"""`assistant conversations`: list open escalations and move a conversation between the bot and people through
the store's one write path."""

from __future__ import annotations

import click

from assistant.domain.messages import EscalationStatus, HandoffState
from assistant.settings import load_settings


@click.group()
def conversations() -> None:
    """Look at conversations and move them between the bot and people from the command line."""


@conversations.command("list")
@click.option("--limit", default=20, show_default=True)
def conversations_list(limit: int) -> None:
    """Open escalations, most urgent first, with their conversation's owner."""
    from assistant.store import Store
    from assistant.store.db import migrate

    settings = load_settings()
    migrate(settings.service.database_url)
    store = Store.from_url(settings.service.database_url)
    for escalation in store.escalations(status=EscalationStatus.OPEN, limit=limit):
        conversation = store.conversation_by_id(escalation.conversation_id)
        click.echo(
            f"conversation {conversation.id} [{conversation.platform}] {conversation.handoff.value:<18} "
            f"escalation {escalation.id} {escalation.queue}/{escalation.reason} priority {escalation.priority} "
            f"due {escalation.sla_due_at:%Y-%m-%d %H:%M %Z}"
        )


@conversations.command("handoff")
@click.argument("conversation_id", type=int)
@click.argument("state", type=click.Choice([s.value for s in HandoffState]))
def conversations_handoff(conversation_id: int, state: str) -> None:
    """Move a conversation to STATE (bot, waiting_for_human, human, closed); back to bot or closed settles its
    open escalation."""
    from assistant.store import Store
    from assistant.store.db import migrate

    settings = load_settings()
    migrate(settings.service.database_url)
    store = Store.from_url(settings.service.database_url)
    # The store's one write path checks the move (NotFoundError, HandoffTransitionError: exit 2).
    change = store.set_handoff(conversation_id, HandoffState(state))
    click.echo(f"conversation {conversation_id}: {change.before.value} → {state}")
