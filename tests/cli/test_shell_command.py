"""`assistant shell`: a conversation held turn by turn through the worker's use case, with its state kept between
turns (a clarification, then an escalation; a person owning it; business hours at the clock set), and nothing
written to the service's database."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from assistant.cli import main
from tests.conftest import ROOT

SATURDAY_NIGHT = "2026-11-28T21:30"  # out of hours: the bot answers on its own
TUESDAY_MORNING = "2026-11-24T10:00"  # in hours: routine questions go to the team (answer_in_business_hours off)


@pytest.fixture()
def service_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "service.db"
    monkeypatch.setenv("CA_SERVICE__DATABASE_URL", f"sqlite:///{path}")
    return path


def shell(trained_data_dir: Path, *lines: str, at: str = SATURDAY_NIGHT) -> Result:
    folders = ["--kb-dir", str(ROOT / "knowledge_base"), "--data-dir", str(trained_data_dir)]
    result = CliRunner().invoke(main, ["shell", "--at", at, *folders], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    return result


def turns(result: Result) -> list[str]:
    """The decision line of each customer message, in order."""
    return [line.strip() for line in result.output.splitlines() if line.strip().startswith("[")]


def test_an_unsure_question_is_clarified_once_then_escalated(trained_data_dir: Path, service_database: Path) -> None:
    result = shell(trained_data_dir, "hmm what", "qwerty uiop", "/quit")
    first, second = turns(result)
    assert first.startswith("[ANSWER (clarification)") and "· bot ·" in first
    assert "rephrase" in result.output
    assert second.startswith("[ESCALATE (escalation)") and "waiting_for_human" in second
    assert not service_database.exists()  # the shell's conversation lives in a throwaway database


def test_the_bot_stays_silent_while_a_person_owns_the_conversation(trained_data_dir: Path) -> None:
    result = shell(trained_data_dir, "/human", "How long does delivery take?", "/bot", "How long does delivery take?")
    assert "conversation: bot → human" in result.output
    owned, handed_back = turns(result)
    assert owned.startswith("[IGNORE (silence)") and "· human ·" in owned
    assert handed_back.startswith("[ANSWER (kb answer)") and "entry shipping-times" in handed_back
    assert result.output.count("bot> (silent)") == 1


def test_business_hours_follow_the_clock_set_in_the_shell(trained_data_dir: Path) -> None:
    result = shell(
        trained_data_dir,
        "Where is my parcel?",
        "/new",
        f"/at {SATURDAY_NIGHT}",
        "Where is my parcel?",
        at=TUESDAY_MORNING,
    )
    in_hours, after_hours = turns(result)
    assert in_hours.startswith("[ESCALATE (escalation) · in hours policy")
    assert after_hours.startswith("[ANSWER (kb answer)") and "entry order-tracking" in after_hours
    assert "as if at Sat 2026-11-28 21:30" in result.output


def test_a_closed_conversation_reopens_with_the_bot(trained_data_dir: Path) -> None:
    result = shell(trained_data_dir, "I want to talk to a human", "/close", "How long does delivery take?")
    escalated, reopened = turns(result)
    assert "human requested" in escalated and "waiting_for_human" in escalated
    assert "conversation: waiting_for_human → closed" in result.output
    assert reopened.startswith("[ANSWER (kb answer)") and "· bot ·" in reopened


def test_an_unknown_command_says_so_and_the_shell_goes_on(trained_data_dir: Path) -> None:
    result = shell(trained_data_dir, "/frobnicate", "/why", "thanks a lot!")
    assert "unknown command /frobnicate; /help lists them" in result.output
    (thanked,) = turns(result)
    assert thanked.startswith("[ANSWER (template)")
    assert "     • " in result.output  # /why shows the reasons
