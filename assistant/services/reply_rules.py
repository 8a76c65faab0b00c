"""The platforms' reply windows as the agent's use cases see them (the adapters declare the rules; the caller
passes them in as `ReplyWindows`), and the refusal of a reply that cannot go out, saying what still can."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from assistant.errors import Conflict


class WindowState(Protocol):
    """Whether a reply may go out now (the platform adapters' reading of their reply windows)."""

    @property
    def open(self) -> bool: ...
    @property
    def closes_at(self) -> datetime | None: ...
    @property
    def human_agent_until(self) -> datetime | None: ...
    @property
    def human_agent_allowed(self) -> bool: ...


class ReplyWindows(Protocol):
    """The platforms' reply windows, as their adapters declare them."""

    def window(self, platform: str, last_inbound_at: datetime | None, now: datetime) -> WindowState: ...
    def taggable(self, platform: str) -> bool: ...


class ReplyConflictError(Conflict):
    """A reply the conversation refuses: `kind` "reply_window" (closed; `alternative` says how to still send) or
    "no_reply_target" (no reply address recorded)."""

    def __init__(self, message: str, kind: str, alternative: dict[str, Any] | None = None, summary: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.alternative = alternative
        self.summary = summary or message


def window_refusal(platform: str, window: WindowState, asked_tag: bool, windows: ReplyWindows) -> ReplyConflictError:
    """Why a reply cannot go out now, and what can still be done (a tagged reply, or waiting for the customer)."""
    closed = window.closes_at.strftime("%Y-%m-%d %H:%M UTC") if window.closes_at else "earlier"
    if window.human_agent_allowed and window.human_agent_until is not None:
        until = window.human_agent_until.strftime("%Y-%m-%d %H:%M UTC")
        message = (
            f"{platform} accepts ordinary replies only within 24 hours of the customer's last message; that "
            f"window closed at {closed}. You can still send this as a human-agent message (Meta's HUMAN_AGENT "
            f"tag) until {until}: resend with human_agent_tag set."
        )
        alternative = {"human_agent_tag": True, "until": window.human_agent_until.isoformat()}
        return ReplyConflictError(message, "reply_window", alternative)
    if asked_tag and windows.taggable(platform):
        message = (
            f"{platform}: the 7-day window for human-agent messages has closed too; the customer has to write "
            "first before anyone can answer."
        )
    elif platform == "whatsapp":
        message = (
            f"WhatsApp accepts free-form replies only within 24 hours of the customer's last message (closed at "
            f"{closed}); after that only an approved message template can be sent, from WhatsApp Manager."
        )
    else:
        message = (
            f"{platform} accepts replies only within 24 hours of the customer's last message (closed at {closed}) "
            "and the 7-day human-agent window has passed too; the customer has to write first."
        )
    return ReplyConflictError(message, "reply_window")
