"""The `assistant` command: one group that gathers the subcommands (engine: index, train, ask, replay, demo,
shell, test; service: serve, worker, beat, telegram, discord-gateway; kb; conversations; users; gaps; live-index;
eval), each in its module of `assistant.cli` and imported when it runs, and the one place where a user error
becomes a message and an exit code."""

from __future__ import annotations

import importlib
import sys
from typing import Any, NoReturn

import click

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


# Each subcommand's module, imported only when that command runs (or when --help lists them all): a command that
# needs no model starts without the imports of those that do, or of the database and password libraries.
SUBCOMMANDS: dict[str, str] = {
    "ask": "assistant.cli.engine:ask",
    "beat": "assistant.cli.service:beat",
    "conversations": "assistant.cli.conversations:conversations",
    "demo": "assistant.cli.engine:demo",
    "discord-gateway": "assistant.cli.service:discord_gateway",
    "eval": "assistant.cli.evaluate:evaluate",
    "gaps": "assistant.cli.gaps:gaps",
    "index": "assistant.cli.engine:index",
    "kb": "assistant.cli.kb:kb",
    "live-index": "assistant.cli.live_index:live_index",
    "ready-or-train": "assistant.cli.engine:ready_or_train",
    "replay": "assistant.cli.engine:replay",
    "serve": "assistant.cli.service:serve",
    "shell": "assistant.cli.shell:shell",
    "telegram": "assistant.cli.service:telegram",
    "test": "assistant.cli.kb_test:kb_test",
    "train": "assistant.cli.engine:train",
    "users": "assistant.cli.users:users",
    "worker": "assistant.cli.service:worker",
}


class AssistantGroup(click.Group):
    """The `assistant` command: its subcommands loaded on demand (SUBCOMMANDS), and the one place where a user
    error of any of them becomes a message and an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return super().get_command(ctx, cmd_name)
        module, name = SUBCOMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command) and command.name == cmd_name, SUBCOMMANDS[cmd_name]
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as error:
            fail(error)


@click.group(cls=AssistantGroup)
@click.version_option(package_name="community-assistant")
def main() -> None:
    """community-assistant: a multilingual FAQ auto-responder that knows when to hand over to a person."""
