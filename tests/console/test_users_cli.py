"""`assistant users …` against a real SQLite file: create, list, passwords from stdin, queues, tokens printed
once, and the first admin that scripts/run.sh creates on a fresh install."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.store import AccountStore
from assistant.store.db import make_engine
from tests.console.support import PASSWORD


@pytest.fixture()
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CA_SERVICE__DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("CA_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def _store(tmp_path: Path) -> AccountStore:
    return AccountStore(make_engine(f"sqlite:///{tmp_path / 'cli.db'}"))


def test_add_list_and_change_users(cli_env: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(
        main,
        ["users", "add", "Ann", "--role", "agent", "--queue", "support", "--queue", "urgent", "--capacity", "3"],
        input=f"{PASSWORD}\n{PASSWORD}\n",  # the hidden prompt asks twice
    )
    assert added.exit_code == 0, added.output
    assert "created ann (agent), queues: support, urgent" in added.output
    assert PASSWORD not in added.output
    piped = runner.invoke(
        main, ["users", "add", "eve", "--role", "editor", "--password-stdin"], input="another-long-password\n"
    )
    assert piped.exit_code == 0, piped.output
    store = _store(cli_env)
    assert store.verify_password("ann", PASSWORD) is not None
    assert store.verify_password("eve", "another-long-password") is not None

    listed = runner.invoke(main, ["users", "list"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[1].split() == ["ann", "agent", "active", "no", "3", "support,", "urgent"]
    assert lines[2].split()[:2] == ["eve", "editor"]

    assert runner.invoke(main, ["users", "set-queues", "ann", "complaints", "--capacity", "2"]).exit_code == 0
    ann = store.user_by_username("ann")
    assert ann is not None and ann.queues == ("complaints",) and ann.capacity == 2
    changed = runner.invoke(main, ["users", "set-password", "ann", "--password-stdin"], input="a-new-password-1\n")
    assert changed.exit_code == 0
    assert store.verify_password("ann", "a-new-password-1") is not None
    assert runner.invoke(main, ["users", "disable", "ann"]).exit_code == 0
    assert store.verify_password("ann", "a-new-password-1") is None
    actions = [entry.action for entry in store.audit_entries()]
    assert actions == ["user_disable", "password_set", "queues_set", "user_create", "user_create"]
    assert all(entry.details["via"] == "cli" for entry in store.audit_entries())


def test_bad_input_is_one_clear_line(cli_env: Path) -> None:
    runner = CliRunner()
    short = runner.invoke(main, ["users", "add", "ann", "--role", "agent", "--password-stdin"], input="short\n")
    assert short.exit_code == 2 and "password too short: at least 10 characters" in short.output
    bad_role = runner.invoke(main, ["users", "add", "ann", "--role", "root", "--password-stdin"], input="x\n")
    assert bad_role.exit_code == 2 and "'root' is not one of" in bad_role.output
    missing = runner.invoke(main, ["users", "token", "nobody", "--name", "x"])
    assert missing.exit_code == 2 and "no user 'nobody'" in missing.output
    runner.invoke(main, ["users", "add", "ann", "--role", "agent", "--password-stdin"], input=f"{PASSWORD}\n")
    taken = runner.invoke(main, ["users", "add", "ANN", "--role", "agent", "--password-stdin"], input=f"{PASSWORD}\n")
    assert taken.exit_code == 2 and "username 'ann' is taken" in taken.output


def test_token_is_printed_once_and_works(cli_env: Path) -> None:
    runner = CliRunner()
    runner.invoke(main, ["users", "add", "bot", "--role", "agent", "--password-stdin"], input=f"{PASSWORD}\n")
    issued = runner.invoke(main, ["users", "token", "bot", "--name", "helpdesk sync"])
    assert issued.exit_code == 0
    token = issued.stdout.strip()
    assert token.startswith("ca_") and "\n" not in token
    store = _store(cli_env)
    user = store.user_for_token(token)
    assert user is not None and user.username == "bot"
    listed = runner.invoke(main, ["users", "tokens", "bot"])
    assert "helpdesk sync" in listed.output and token not in listed.output
    token_id = store.tokens(user.id)[0].id
    assert runner.invoke(main, ["users", "revoke-token", str(token_id)]).exit_code == 0
    assert store.user_for_token(token) is None
    assert runner.invoke(main, ["users", "revoke-token", str(token_id)]).exit_code == 2


def test_ensure_admin_creates_the_first_admin_only_once(cli_env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["users", "ensure-admin"])
    assert first.exit_code == 0, first.output
    password_file = cli_env / "data" / "admin-password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_file.read_text().strip()
    assert password not in first.output and str(password_file) in first.output
    admin = _store(cli_env).verify_password("admin", password)
    assert admin is not None and admin.role == "admin"
    again = runner.invoke(main, ["users", "ensure-admin"])
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert password_file.read_text().strip() == password
