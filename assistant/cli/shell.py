"""`assistant shell`: hold a conversation with the bot turn by turn, as `rasa shell` does, and see each decision.

Each line is a customer message, decided by the same use case the worker runs, with the conversation's state
kept between turns (a clarification, then an escalation; a person owning the conversation; business hours at
the clock you set). A throwaway SQLite database in a temporary folder holds the conversation; nothing is sent and
the service's database is never touched.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from assistant.cli.options import folder_options, settings_from
from assistant.domain.messages import HandoffState

if TYPE_CHECKING:
    from assistant.services.trial_conversation import TrialConversation

HELP = """commands:
  /at 2026-11-24T10:00   decide as if at this time (/at now: the real clock)
  /name Anna             the customer's display name
  /human                 a person takes the conversation (the bot stays silent)
  /bot                   the person hands it back to the bot
  /close                 a person closes the conversation (the next message reopens it with the bot)
  /new                   start another conversation
  /why                   show or hide each decision's reasons
  /quit                  leave (Ctrl-D too)
anything else is a message from the customer"""

MOVES = {"/human": HandoffState.HUMAN, "/bot": HandoffState.BOT, "/close": HandoffState.CLOSED}


@click.command("shell")
@click.option("--at", "at", help="Decide as if at this ISO time (default: now); /at changes it.")
@click.option("--name", "sender_name", help="The customer's display name; /name changes it.")
@folder_options
def shell(at: str | None, sender_name: str | None, kb_dir: Path | None, data_dir: Path | None) -> None:
    """Hold a conversation with the bot turn by turn and see each decision (nothing is sent)."""
    from assistant.cli.engine import load_engine, parse_at
    from assistant.services.trial_conversation import TrialConversation
    from assistant.store import Store
    from assistant.store.db import migrate

    settings = settings_from(kb_dir, data_dir)
    engine = load_engine(settings)
    engine.warm_up()
    clock: datetime | None = parse_at(at, settings) if at else None
    why = False
    with tempfile.TemporaryDirectory(prefix="assistant-shell-") as folder:
        url = f"sqlite:///{Path(folder) / 'shell.db'}"
        migrate(url)
        store = Store.from_url(url)
        try:
            trial = TrialConversation(store, engine)
            click.echo(
                f"assistant shell · KB version {engine.kb.version} · {len(engine.kb.published())} entries · "
                f"{_clock_text(clock)} · /help for commands"
            )
            while True:
                try:
                    line = click.prompt("you", prompt_suffix="> ", default="", show_default=False).strip()
                except (EOFError, click.Abort):
                    click.echo("")
                    return
                if not line:
                    continue
                if line in ("/quit", "/exit"):
                    return
                if line == "/help":
                    click.echo(HELP)
                elif line == "/why":
                    why = not why
                    click.echo(f"reasons {'shown' if why else 'hidden'}")
                elif line == "/new":
                    trial.new()
                    click.echo("a new conversation")
                elif line.startswith("/at"):
                    value = line.removeprefix("/at").strip()
                    clock = None if value in ("", "now") else parse_at(value, settings)
                    click.echo(_clock_text(clock))
                elif line.startswith("/name"):
                    sender_name = line.removeprefix("/name").strip() or None
                    click.echo(f"customer: {sender_name or 'no name'}")
                elif line in MOVES:
                    before = trial.move(MOVES[line])
                    click.echo(f"conversation: {before.value} → {MOVES[line].value}")
                elif line.startswith("/"):
                    click.echo(f"unknown command {line.split()[0]}; /help lists them")
                else:
                    _turn(trial, line, clock, sender_name, why)
        finally:
            store.close()


def _clock_text(clock: datetime | None) -> str:
    return f"as if at {clock:%a %Y-%m-%d %H:%M %Z}" if clock else "on the real clock"


def _turn(trial: TrialConversation, text: str, clock: datetime | None, sender_name: str | None, why: bool) -> None:
    now = clock or datetime.now(UTC)
    started = time.perf_counter()
    turn = trial.say(text, now, sender_name)
    took_ms = (time.perf_counter() - started) * 1000
    decision = turn.decision
    head = decision.action.value.upper()
    if decision.kind is not None:
        head += f" ({decision.kind.value.replace('_', ' ')})"
    if decision.reason:
        head += f" · {decision.reason.value.replace('_', ' ')}"
    if decision.entry_id:
        head += f" · entry {decision.entry_id}"
    head += f" · {decision.language} · confidence {decision.confidence:.2f}"
    if turn.queue:
        head += f" · queue {turn.queue}"
    click.secho(f"  [{head} · {turn.handoff.value} · {took_ms:.0f} ms]", fg="bright_black")
    if turn.reply:
        click.secho(f"bot> {turn.reply}", fg="green")
        for number, choice in enumerate(decision.choices, start=1):
            click.secho(f"     {number}. {choice.label}", fg="green")
    else:
        click.secho("bot> (silent)", fg="bright_black")
    if why:
        for reason in decision.reasons:
            click.secho(f"     • {reason}", fg="bright_black")
