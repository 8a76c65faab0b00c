"""The `assistant` command: one group that gathers the subcommands (engine: index, train, ask, replay, demo;
service: serve, worker, beat, telegram; kb; conversations; users; gaps; live-index; eval), each in its module of
`assistant.cli`, and the one place where a user error becomes a message and an exit code."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from assistant.cli.conversations import conversations
from assistant.cli.engine import ask, demo, index, ready_or_train, replay, train
from assistant.cli.evaluate import evaluate
from assistant.cli.gaps import gaps
from assistant.cli.kb import kb
from assistant.cli.kb_test import kb_test
from assistant.cli.live_index import live_index
from assistant.cli.service import beat, discord_gateway, serve, telegram, worker
from assistant.cli.shell import shell
from assistant.cli.users import users
from assistant.errors import AssistantError

# Errors a user can fix, shown as one clear line, never as a traceback: every kind of the library's tree
# (assistant.errors) and the standard library's for a missing file or a malformed value.
USER_ERRORS = (AssistantError, FileNotFoundError, ValueError)
# One exit code for every kind, as click gives usage errors: fix the input or the state and retry (the message
# says which); 1 stays a bug, with its traceback.
USER_ERROR_EXIT = 2


def fail(error: Exception) -> NoReturn:
    click.secho(f"error: {error}", fg="red", err=True)
    sys.exit(USER_ERROR_EXIT)


class AssistantGroup(click.Group):
    """The `assistant` command: the one place where a user error of any subcommand (`users`, `gaps` and
    `live-index` included) becomes a message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as error:
            fail(error)


@click.group(cls=AssistantGroup)
@click.version_option(package_name="community-assistant")
def main() -> None:
    """community-assistant: a multilingual FAQ auto-responder that knows when to hand over to a person."""


COMMANDS = (
    index,
    train,
    ask,
    replay,
    demo,
    ready_or_train,
    serve,
    worker,
    beat,
    discord_gateway,
    telegram,
    conversations,
    kb,
    kb_test,
    shell,
    evaluate,
)
for command in (*COMMANDS, users, gaps, live_index):
    main.add_command(command)
