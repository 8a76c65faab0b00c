"""Reply windows and message limits as each adapter declares them, and the one function that reads the windows.

The platform facts are written out here (Meta's Send API and Cloud API docs, the README's "Replies longer than a
platform allows", the text limits of tests/adapters/platform_rules.py), not read back from the adapters, so a wrong
declaration fails instead of agreeing with itself."""

from datetime import UTC, datetime, timedelta

import pytest

from assistant.domain.channels import NO_RULES, PlatformRules
from assistant.domain.reply_windows import ReplyWindow, reply_window
from assistant.settings import PlatformConfig
from webhooks.adapters.registry import ADAPTERS, adapter_for, rules_for

LAST = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the customer's last message
DAY = timedelta(hours=24)
WEEK = timedelta(days=7)
SECOND = timedelta(seconds=1)

# platform: (reply window, HUMAN_AGENT window, longest text)
DECLARED: dict[str, tuple[timedelta | None, timedelta | None, int | None]] = {
    "messenger": (DAY, WEEK, 2000),
    "instagram": (DAY, WEEK, 2000),
    "whatsapp": (DAY, None, 4096),  # no HUMAN_AGENT tag: past 24 h only an approved template
    "telegram": (None, None, 4096),
    "discord": (None, None, 2000),
    "slack": (None, None, 40_000),
    "x": (None, None, None),
    "generic": (None, None, None),
}


def test_every_platform_declares_its_rules() -> None:
    assert set(DECLARED) == set(ADAPTERS)
    for name, (window, tagged, chars) in DECLARED.items():
        assert rules_for(name) == PlatformRules(window, tagged, chars), name
        # The registry's adapter instance carries the same declaration the console reads without one.
        assert adapter_for(name, PlatformConfig(enabled=True)).rules == rules_for(name), name


def test_an_unknown_platform_has_no_rules() -> None:
    assert rules_for("myspace") == NO_RULES
    assert reply_window(rules_for("myspace"), LAST, LAST + WEEK * 10) == ReplyWindow(True)


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_meta_page_messaging_open_then_tag_only_then_closed(platform: str) -> None:
    rules = rules_for(platform)
    closes, tag_until = LAST + DAY, LAST + WEEK
    assert reply_window(rules, LAST, LAST + timedelta(hours=1)) == ReplyWindow(True, closes)
    # Both ends are inclusive: a reply at exactly 24 h (and a tagged one at exactly 7 days) still goes.
    assert reply_window(rules, LAST, closes) == ReplyWindow(True, closes)
    past = reply_window(rules, LAST, closes + SECOND)
    assert past == ReplyWindow(False, closes, tag_until)
    assert past.human_agent_allowed and past.allows(tagged=True) and not past.allows(tagged=False)
    assert reply_window(rules, LAST, tag_until) == ReplyWindow(False, closes, tag_until)
    closed = reply_window(rules, LAST, tag_until + SECOND)
    assert closed == ReplyWindow(False, closes) and not closed.allows(tagged=True)


@pytest.mark.parametrize("platform", ["messenger", "instagram"])
def test_no_tag_offered_when_the_console_turns_it_off(platform: str) -> None:
    window = reply_window(rules_for(platform), LAST, LAST + DAY + SECOND, offer_tag=False)
    assert window == ReplyWindow(False, LAST + DAY) and not window.human_agent_allowed


def test_whatsapp_closes_after_24_hours_with_no_tagged_way_out() -> None:
    rules = rules_for("whatsapp")
    assert reply_window(rules, LAST, LAST + DAY) == ReplyWindow(True, LAST + DAY)
    window = reply_window(rules, LAST, LAST + DAY + SECOND)
    assert window == ReplyWindow(False, LAST + DAY)
    assert not window.allows(tagged=True)


@pytest.mark.parametrize("platform", ["telegram", "discord", "slack", "x", "generic"])
def test_platforms_without_a_window_are_always_open(platform: str) -> None:
    window = reply_window(rules_for(platform), LAST, LAST + timedelta(days=365))
    assert window == ReplyWindow(True) and window.allows(tagged=False)


@pytest.mark.parametrize("platform", sorted(DECLARED))
def test_nobody_has_written_yet_means_open(platform: str) -> None:
    assert reply_window(rules_for(platform), None, LAST) == ReplyWindow(True)
